package io.clusterkv.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import io.clusterkv.runtime.chat.ChatEngine;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * LangChain4j's OpenAI module ({@link OpenAiChatModel}, {@link OpenAiStreamingChatModel}) against a running
 * server on {@code synthetic:tiny-chat}, with an API key; each answer is checked against the server's answer
 * to the same request sent as plain JSON.
 */
class LangChain4jClientTest {

    private static final String KEY = "sk-langchain4j-test";
    private static TinyChatServer tiny;

    @BeforeAll
    static void start() {
        tiny = new TinyChatServer(ChatEngine.Options.defaults(), ServerOptions.defaults().withApiKey(KEY));
    }

    @AfterAll
    static void stop() {
        if (tiny != null) {
            tiny.close();
        }
    }

    private static String baseUrl() {
        String s = tiny.baseUri().toString();
        return s.substring(0, s.length() - 1); // http://127.0.0.1:<port>/v1
    }

    /** The server's own answer to the request the clients send. */
    private static JsonNode reference() throws Exception {
        Http.Reply r = new Http(tiny.baseUri()).post("/v1/chat/completions", "{\"model\": \"" + TinyChatServer.MODEL
                + "\", \"messages\": [{\"role\": \"user\", \"content\": \"What is a cat?\"}], \"max_tokens\": 16,"
                + " \"temperature\": 0}", "Authorization", "Bearer " + KEY);
        assertEquals(200, r.status(), r.body());
        return r.json();
    }

    @Test
    void openAiChatModelGetsTheAnswer() throws Exception {
        OpenAiChatModel model = OpenAiChatModel.builder().baseUrl(baseUrl()).apiKey(KEY).modelName(TinyChatServer.MODEL)
                .temperature(0.0).maxTokens(16).timeout(Duration.ofSeconds(60)).maxRetries(0).build();
        ChatResponse response = model.chat(UserMessage.from("What is a cat?"));
        JsonNode expected = reference();
        assertEquals(expected.path("choices").get(0).path("message").path("content").asString(), response.aiMessage().text());
        assertEquals(expected.path("usage").path("completion_tokens").asInt(), response.tokenUsage().outputTokenCount());
        assertEquals(expected.path("usage").path("prompt_tokens").asInt(), response.tokenUsage().inputTokenCount());
        assertNotNull(response.finishReason());
    }

    @Test
    void openAiStreamingChatModelStreamsTheAnswer() throws Exception {
        OpenAiStreamingChatModel model = OpenAiStreamingChatModel.builder().baseUrl(baseUrl()).apiKey(KEY)
                .modelName(TinyChatServer.MODEL).temperature(0.0).maxTokens(16).timeout(Duration.ofSeconds(60)).build();
        StringBuilder partial = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        int[] pieces = new int[1];
        model.chat("What is a cat?", new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String text) {
                synchronized (partial) {
                    partial.append(text);
                    pieces[0]++;
                }
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse response = done.get(60, TimeUnit.SECONDS);
        String expected = reference().path("choices").get(0).path("message").path("content").asString();
        synchronized (partial) {
            assertEquals(expected, partial.toString());
            assertTrue(pieces[0] >= 1);
        }
        assertEquals(expected, response.aiMessage().text());
    }

    @Test
    void aWrongKeyIsRefused() {
        OpenAiChatModel model = OpenAiChatModel.builder().baseUrl(baseUrl()).apiKey("sk-wrong").modelName(TinyChatServer.MODEL)
                .maxTokens(4).maxRetries(0).build();
        RuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                () -> model.chat("What is a cat?"));
        assertTrue(String.valueOf(e.getMessage()).contains("invalid_api_key") || e.getClass().getSimpleName().contains("Authentication"),
                e.toString());
    }
}

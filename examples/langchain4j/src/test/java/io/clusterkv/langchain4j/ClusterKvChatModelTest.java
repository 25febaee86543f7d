package io.clusterkv.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.output.FinishReason;
import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.Session;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The models through LangChain4j's own API ({@code chat(...)}, {@code StreamingChatResponseHandler}) on
 * {@code synthetic:tiny-chat}: token usage and finish reason against the engine's own prompt tokens and
 * limits, streaming against the synchronous answer, the second turn's reuse, the policy and budget options,
 * and the features that are refused.
 */
class ClusterKvChatModelTest {

    private static ClusterKvRuntime runtime;
    private static ClusterKvChatModel model;
    private static ClusterKvStreamingChatModel streaming;

    @BeforeAll
    static void start() {
        runtime = ClusterKvRuntime.create();
        model = ClusterKvChatModel.builder().runtime(runtime).model("synthetic:tiny-chat")
                .policy("streaming").budget(32).maxTokens(12).build();
        streaming = ClusterKvStreamingChatModel.builder().engine(model.engine()).policy("streaming").budget(32)
                .maxTokens(12).build();
    }

    @AfterAll
    static void stop() {
        streaming.close();
        model.close();
        runtime.close();
    }

    static int promptTokens(List<ChatMessage> messages) {
        List<io.clusterkv.runtime.chat.ChatMessage> m = new ArrayList<>();
        for (ChatMessage c : messages) {
            m.add(switch (c) {
                case SystemMessage s -> io.clusterkv.runtime.chat.ChatMessage.system(s.text());
                case UserMessage u -> io.clusterkv.runtime.chat.ChatMessage.user(u.singleText());
                case AiMessage a -> io.clusterkv.runtime.chat.ChatMessage.assistant(a.text());
                default -> throw new IllegalArgumentException(c.toString());
            });
        }
        return model.engine().promptTokens(io.clusterkv.runtime.chat.ChatRequest.chat(m, 1)).length;
    }

    @Test
    void aChatReportsItsTokenUsageAndFinishReason() {
        List<ChatMessage> messages = List.of(SystemMessage.from("Be brief."), UserMessage.from("Hello there"));
        ChatResponse r = model.chat(messages);
        assertEquals(promptTokens(messages), r.tokenUsage().inputTokenCount());
        int out = r.tokenUsage().outputTokenCount();
        assertTrue(out >= 1 && out <= 12, r.toString());
        assertEquals(out == 12 ? FinishReason.LENGTH : FinishReason.STOP, r.finishReason());
        assertEquals("synthetic:tiny-chat", r.modelName());
        assertFalse(r.aiMessage().text().contains("<|im_end|>"));

        ChatResponse shorter = model.chat(ChatRequest.builder().messages(messages).maxOutputTokens(3).build());
        assertEquals(3, shorter.tokenUsage().outputTokenCount(), "the request's maxOutputTokens wins over the default");
        assertEquals(FinishReason.LENGTH, shorter.finishReason());
        assertTrue(r.aiMessage().text().startsWith(shorter.aiMessage().text()), "greedy: the shorter answer is a prefix");
    }

    @Test
    void streamingPassesTheTextInPiecesThenTheWholeResponse() {
        List<ChatMessage> messages = List.of(UserMessage.from("Stream me something"));
        ChatResponse sync = model.chat(messages);
        List<String> pieces = new ArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat(messages, new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                pieces.add(partial);
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
        ChatResponse r = done.orTimeout(60, TimeUnit.SECONDS).join();
        assertFalse(pieces.isEmpty());
        assertEquals(r.aiMessage().text(), String.join("", pieces));
        assertEquals(sync.aiMessage().text(), r.aiMessage().text());
        assertEquals(sync.tokenUsage(), r.tokenUsage());
        assertEquals(sync.finishReason(), r.finishReason());
    }

    @Test
    void theSecondTurnReusesTheFirstTurnsKv() {
        List<ChatMessage> history = new ArrayList<>(List.of(UserMessage.from("First question about reuse")));
        ChatResponse first = model.chat(history);
        long reusedBefore = model.engine().stats().reusedPromptTokens();
        history.add(first.aiMessage());
        history.add(UserMessage.from("And a second one"));
        ChatResponse second = model.chat(history);
        long reused = model.engine().stats().reusedPromptTokens() - reusedBefore;
        assertEquals(first.tokenUsage().inputTokenCount() + first.tokenUsage().outputTokenCount() - 1, reused,
                "the first turn's prompt and answer, but the answer's last token, are not prefilled again");
        assertEquals(promptTokens(history), second.tokenUsage().inputTokenCount());
    }

    @Test
    void policyAndBudgetAreTheSessionsSettings() {
        try (ClusterKvChatModel quest = ClusterKvChatModel.builder().runtime(runtime).model("synthetic:tiny-chat")
                .policy("full").budget(16).maxTokens(2).build()) {
            List<Session> before = runtime.sessions();
            quest.chat("Which policy?");
            List<Session> opened = runtime.sessions().stream().filter(s -> !before.contains(s)).toList();
            assertEquals(1, opened.size(), "the conversation's session is kept for reuse");
            assertEquals("full", opened.getFirst().settings().policy());
            assertEquals(16, opened.getFirst().settings().budget());
        }
        InvalidRequestException bad = assertThrows(InvalidRequestException.class, () -> ClusterKvChatModel.builder()
                .engine(model.engine()).policy("no-such-policy").build().chat("x"));
        assertTrue(bad.getMessage().contains("no-such-policy"), bad.getMessage());
    }

    @Test
    void toolsAndUnsupportedParametersAreRefused() {
        ChatRequest withTools = ChatRequest.builder().messages(UserMessage.from("call it"))
                .toolSpecifications(ToolSpecification.builder().name("weather").build()).build();
        assertThrows(UnsupportedFeatureException.class, () -> model.chat(withTools));
        assertThrows(UnsupportedFeatureException.class,
                () -> model.chat(ChatRequest.builder().messages(UserMessage.from("x")).topK(5).build()));
        CompletableFuture<Throwable> error = new CompletableFuture<>();
        streaming.chat(withTools, new StreamingChatResponseHandler() {
            @Override
            public void onCompleteResponse(ChatResponse response) {
                error.complete(null);
            }

            @Override
            public void onError(Throwable e) {
                error.complete(e);
            }
        });
        assertInstanceOf(UnsupportedFeatureException.class, error.orTimeout(60, TimeUnit.SECONDS).join());
    }
}

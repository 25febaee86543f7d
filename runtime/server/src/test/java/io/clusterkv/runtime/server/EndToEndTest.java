package io.clusterkv.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.chat.ChatEngine;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The server over the real {@link ChatEngine} on {@code synthetic:tiny-chat}. */
class EndToEndTest {

    private static TinyChatServer tiny;
    private static Http http;

    @BeforeAll
    static void start() {
        tiny = new TinyChatServer(new ChatEngine.Options(4, 16, 4, Optional.empty(), OptionalInt.empty()),
                ServerOptions.defaults());
        http = new Http(tiny.baseUri());
    }

    @AfterAll
    static void stop() {
        if (tiny != null) {
            tiny.close();
        }
    }

    private static String chat(String messages, String extra) {
        return "{\"model\": \"" + TinyChatServer.MODEL + "\", \"messages\": " + messages + ", \"temperature\": 0" + extra + "}";
    }

    private static final String HELLO = "[{\"role\": \"user\", \"content\": \"Hello there\"}]";

    @Test
    void streamedTextEqualsTheAnswerOfTheSameRequest() throws Exception {
        Http.Reply plain = http.post("/v1/chat/completions", chat(HELLO, ", \"max_tokens\": 24"));
        assertEquals(200, plain.status(), plain.body());
        JsonNode answer = plain.json();
        String text = answer.path("choices").get(0).path("message").path("content").asString();
        JsonNode usage = answer.path("usage");
        assertTrue(usage.path("prompt_tokens").asInt() > 0);
        assertTrue(usage.path("completion_tokens").asInt() > 0 && usage.path("completion_tokens").asInt() <= 24);

        Http.Reply again = http.post("/v1/chat/completions", chat(HELLO, ", \"max_tokens\": 24"));
        assertEquals(text, again.json().path("choices").get(0).path("message").path("content").asString(),
                "greedy decoding is deterministic");

        Http.Reply streamed = http.post("/v1/chat/completions", chat(HELLO,
                ", \"max_tokens\": 24, \"stream\": true, \"stream_options\": {\"include_usage\": true}"));
        List<String> events = streamed.events();
        assertEquals("[DONE]", events.getLast());
        StringBuilder joined = new StringBuilder();
        JsonNode streamedUsage = null;
        String finish = null;
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode c = OpenAiServer.json().readTree(e);
            if (!c.path("usage").isNull() && c.has("usage")) {
                streamedUsage = c.path("usage");
            }
            if (!c.path("choices").isEmpty()) {
                joined.append(c.path("choices").get(0).path("delta").path("content").asString(""));
                if (!c.path("choices").get(0).path("finish_reason").isNull()) {
                    finish = c.path("choices").get(0).path("finish_reason").asString();
                }
            }
        }
        assertEquals(text, joined.toString());
        assertEquals(answer.path("choices").get(0).path("finish_reason").asString(), finish);
        assertEquals(usage.path("completion_tokens").asInt(), streamedUsage.path("completion_tokens").asInt());
        assertEquals(usage.path("prompt_tokens").asInt(), streamedUsage.path("prompt_tokens").asInt());
    }

    @Test
    void theNextTurnOfAConversationReusesItsPromptTokens() throws Exception {
        String first = "[{\"role\": \"user\", \"content\": \"Tell me about the sea\"}]";
        JsonNode a = http.post("/v1/chat/completions", chat(first, ", \"max_tokens\": 8")).json();
        String reply = a.path("choices").get(0).path("message").path("content").asString();
        String second = "[{\"role\": \"user\", \"content\": \"Tell me about the sea\"}, {\"role\": \"assistant\", \"content\": "
                + OpenAiServer.json().writeValueAsString(reply) + "}, {\"role\": \"user\", \"content\": \"And the sky?\"}]";
        Http.Reply b = http.post("/v1/chat/completions", chat(second, ", \"max_tokens\": 8"));
        assertEquals(200, b.status(), b.body());
        int cached = b.json().path("usage").path("prompt_tokens_details").path("cached_tokens").asInt();
        int prompt = b.json().path("usage").path("prompt_tokens").asInt();
        assertTrue(cached > 0 && cached < prompt, "cached " + cached + " of " + prompt + " prompt tokens");
        assertTrue(http.get("/metrics").body().contains("ckv_tokens_prompt_reused_total"));
    }

    @Test
    void aPromptLongerThanTheContextIsContextLengthExceeded() throws Exception {
        String longText = "word ".repeat(tiny.engine.contextLength() + 10);
        for (String extra : List.of("", ", \"max_tokens\": 4", ", \"stream\": true")) {
            Http.Reply r = http.post("/v1/chat/completions", chat("[{\"role\": \"user\", \"content\": \"" + longText + "\"}]", extra));
            assertEquals(400, r.status(), r.body());
            assertEquals("context_length_exceeded", r.json().path("error").path("code").asString());
        }
        Http.Reply tooMany = http.post("/v1/chat/completions", chat(HELLO, ", \"max_tokens\": " + tiny.engine.contextLength()));
        assertEquals(400, tooMany.status(), tooMany.body());
        assertEquals("max_tokens", tooMany.json().path("error").path("param").asString());
    }

    @Test
    void policyAndBudgetComeThroughTheExtension() throws Exception {
        Http.Reply ok = http.post("/v1/chat/completions", chat(HELLO, ", \"max_tokens\": 4, \"clusterkv\": {\"policy\": \"quest\", \"budget\": 32}"));
        assertEquals(200, ok.status(), ok.body());
        Http.Reply unknown = http.post("/v1/chat/completions", chat(HELLO, ", \"max_tokens\": 4, \"clusterkv\": {\"policy\": \"no-such-policy\"}"));
        assertEquals(400, unknown.status(), unknown.body());
        assertTrue(unknown.json().path("error").path("message").asString().contains("no-such-policy"), unknown.body());
        assertEquals(200, http.get("/health").status());
    }

    @Test
    void completionsContinueRawText() throws Exception {
        Http.Reply r = http.post("/v1/completions", "{\"model\": \"" + TinyChatServer.MODEL
                + "\", \"prompt\": \"Once upon a time\", \"max_tokens\": 6, \"temperature\": 0}");
        assertEquals(200, r.status(), r.body());
        assertTrue(r.json().path("usage").path("completion_tokens").asInt() > 0);
    }
}

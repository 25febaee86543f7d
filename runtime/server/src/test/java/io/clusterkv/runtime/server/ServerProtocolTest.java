package io.clusterkv.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.chat.ChatMessage;
import io.clusterkv.runtime.chat.ChatRequest;
import io.clusterkv.runtime.chat.ChatResult;
import io.clusterkv.runtime.chat.ContextOverflowException;
import io.clusterkv.runtime.chat.EngineOverloadedException;
import io.clusterkv.runtime.chat.FinishReason;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;

/**
 * The HTTP protocol against a scripted backend: shapes of the answers and of the event stream, every error
 * status, cancellation when the client goes away, authentication and metrics.
 */
class ServerProtocolTest {

    private static ActorSystem<Void> system;
    private static ScriptedBackend backend;
    private static OpenAiServer server;
    private static Http http;

    @BeforeAll
    static void start() {
        system = ActorSystem.create(Behaviors.empty(), "server-protocol-test");
        backend = new ScriptedBackend();
        server = OpenAiServer.start(system, backend, ServerOptions.defaults().withPort(0).withMaxRequestBytes(64 << 10));
        http = new Http(server.baseUri());
    }

    @AfterAll
    static void stop() {
        server.close();
        system.terminate();
    }

    @BeforeEach
    void reset() {
        backend.script = ScriptedBackend::echo;
    }

    private static String chat(String extra) {
        return "{\"model\": \"" + ScriptedBackend.MODEL + "\", \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
                + " {\"role\": \"user\", \"content\": \"Hi\"}]" + extra + "}";
    }

    @Test
    void chatAnswerCarriesTheTextFinishReasonAndUsage() throws Exception {
        Http.Reply r = http.post("/v1/chat/completions", chat(", \"max_tokens\": 20, \"temperature\": 0, \"seed\": 7,"
                + " \"stop\": [\"END\"], \"clusterkv\": {\"policy\": \"quest\", \"budget\": 64}"));
        assertEquals(200, r.status(), r.body());
        JsonNode j = r.json();
        assertEquals("chat.completion", j.path("object").asString());
        assertTrue(j.path("id").asString().startsWith("chatcmpl-"));
        assertEquals(ScriptedBackend.MODEL, j.path("model").asString());
        JsonNode choice = j.path("choices").get(0);
        assertEquals("assistant", choice.path("message").path("role").asString());
        assertEquals("Hello, world", choice.path("message").path("content").asString());
        assertEquals("stop", choice.path("finish_reason").asString());
        JsonNode usage = j.path("usage");
        assertEquals(5, usage.path("prompt_tokens").asInt());
        assertEquals(6, usage.path("completion_tokens").asInt());
        assertEquals(11, usage.path("total_tokens").asInt());
        assertEquals(2, usage.path("prompt_tokens_details").path("cached_tokens").asInt());

        ChatRequest sent = backend.requests.getLast();
        assertEquals(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi")), sent.messages());
        assertEquals(20, sent.maxTokens());
        assertEquals(0.0, sent.temperature());
        assertEquals(7L, sent.seed().getAsLong());
        assertEquals(List.of("END"), sent.stop());
        assertEquals("quest", sent.policy().orElseThrow());
        assertEquals(64, sent.budget().getAsInt());
    }

    @Test
    void chatStreamIsOpenAisEventSequence() throws Exception {
        Http.Reply r = http.post("/v1/chat/completions", chat(", \"stream\": true, \"stream_options\": {\"include_usage\": true}"));
        assertEquals(200, r.status(), r.body());
        assertTrue(r.raw().headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<String> events = r.events();
        assertEquals("[DONE]", events.getLast());
        List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(OpenAiServer.json()::readTree).toList();
        String id = chunks.getFirst().path("id").asString();
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks) {
            assertEquals("chat.completion.chunk", c.path("object").asString());
            assertEquals(id, c.path("id").asString(), "one id for all chunks");
        }
        assertEquals("assistant", chunks.getFirst().path("choices").get(0).path("delta").path("role").asString());
        JsonNode usageChunk = chunks.getLast();
        assertTrue(usageChunk.path("choices").isEmpty());
        assertEquals(11, usageChunk.path("usage").path("total_tokens").asInt());
        JsonNode last = chunks.get(chunks.size() - 2);
        assertEquals("stop", last.path("choices").get(0).path("finish_reason").asString());
        for (JsonNode c : chunks.subList(0, chunks.size() - 2)) {
            assertTrue(c.path("choices").get(0).path("finish_reason").isNull());
            assertTrue(c.has("usage") && c.path("usage").isNull(), "usage: null before the usage chunk");
            text.append(c.path("choices").get(0).path("delta").path("content").asString(""));
        }
        assertEquals("Hello, world", text.toString());
    }

    @Test
    void completionEndpointAnswersWithTextAndDefaultsToSixteenTokens() throws Exception {
        Http.Reply r = http.post("/v1/completions", "{\"model\": \"" + ScriptedBackend.MODEL + "\", \"prompt\": \"Once\"}");
        assertEquals(200, r.status(), r.body());
        assertEquals("text_completion", r.json().path("object").asString());
        assertEquals("Hello, world", r.json().path("choices").get(0).path("text").asString());
        assertEquals("Once", backend.requests.getLast().prompt().orElseThrow());
        assertTrue(backend.requests.getLast().messages().isEmpty());
        assertEquals(16, backend.requests.getLast().maxTokens());

        Http.Reply s = http.post("/v1/completions", "{\"model\": \"" + ScriptedBackend.MODEL
                + "\", \"prompt\": [\"Once\"], \"stream\": true}");
        List<String> events = s.events();
        assertEquals("[DONE]", events.getLast());
        StringBuilder text = new StringBuilder();
        for (String e : events.subList(0, events.size() - 1)) {
            JsonNode c = OpenAiServer.json().readTree(e);
            assertEquals("text_completion", c.path("object").asString());
            text.append(c.path("choices").get(0).path("text").asString());
        }
        assertEquals("Hello, world", text.toString());
    }

    @Test
    void withoutMaxTokensAChatGetsTheContextLeftAfterItsPrompt() throws Exception {
        int promptTokens = 40;
        backend.script = (request, listener) -> {
            if (promptTokens + request.maxTokens() > ScriptedBackend.CONTEXT) {
                throw new ContextOverflowException(promptTokens, request.maxTokens(), ScriptedBackend.CONTEXT);
            }
            return ScriptedBackend.echo(request, listener);
        };
        assertEquals(200, http.post("/v1/chat/completions", chat("")).status());
        assertEquals(ScriptedBackend.CONTEXT - promptTokens, backend.requests.getLast().maxTokens());

        Http.Reply over = http.post("/v1/chat/completions", chat(", \"max_tokens\": 30"));
        assertEquals(400, over.status());
        JsonNode error = over.json().path("error");
        assertEquals("context_length_exceeded", error.path("code").asString());
        assertEquals("invalid_request_error", error.path("type").asString());
        assertTrue(error.path("message").asString().contains(Integer.toString(ScriptedBackend.CONTEXT)), error.toString());
    }

    @Test
    void aFullQueueIs429WithRetryAfter() throws Exception {
        backend.script = (request, listener) -> {
            throw new EngineOverloadedException("4 decoding, 64 queued");
        };
        for (String body : List.of(chat(""), chat(", \"stream\": true"))) {
            Http.Reply r = http.post("/v1/chat/completions", body);
            assertEquals(429, r.status(), r.body());
            assertEquals("1", r.raw().headers().firstValue("Retry-After").orElse(null));
            assertTrue(r.json().path("error").path("message").asString().contains("64 queued"));
        }
    }

    @Test
    void aFailureAfterTheStreamStartedIsAnErrorEvent() throws Exception {
        backend.script = (request, listener) -> {
            ScriptedBackend.Call call = new ScriptedBackend.Call();
            listener.onText("partial");
            call.result.completeExceptionally(new IllegalArgumentException("shard 3 failed"));
            return call;
        };
        Http.Reply r = http.post("/v1/chat/completions", chat(", \"stream\": true"));
        assertEquals(200, r.status());
        List<String> events = r.events();
        JsonNode last = OpenAiServer.json().readTree(events.getLast());
        assertEquals("server_error", last.path("error").path("type").asString());
        assertTrue(last.path("error").path("message").asString().contains("shard 3 failed"));
        Http.Reply plain = http.post("/v1/chat/completions", chat(""));
        assertEquals(500, plain.status());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            bad JSON                | {"model": "scripted-model", "messages": [             | 400 | invalid_json              |
            not an object           | [1, 2]                                                | 400 | invalid_json              |
            empty body              | ``                                                    | 400 | invalid_json              |
            trailing garbage        | {"model": "scripted-model", "messages": []} x         | 400 | invalid_json              |
            duplicate key           | {"model": "a", "model": "b"}                          | 400 | invalid_json              |
            no model                | {"messages": [{"role": "user", "content": "x"}]}      | 400 | missing_required_parameter | model
            unknown model           | {"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]} | 404 | model_not_found | model
            messages not an array   | {"model": "scripted-model", "messages": "hi"}        | 400 | invalid_type              | messages
            no messages             | {"model": "scripted-model", "messages": []}           | 400 | empty_array               | messages
            role tool               | {"model": "scripted-model", "messages": [{"role": "tool", "content": "x"}]} | 400 | unsupported_value | messages[0].role
            content a number        | {"model": "scripted-model", "messages": [{"role": "user", "content": 5}]} | 400 | invalid_type | messages[0].content
            image part              | {"model": "scripted-model", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]} | 400 | unsupported_value | messages[0].content[0].type
            max_tokens a string     | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "max_tokens": "10"} | 400 | invalid_type | max_tokens
            max_tokens negative     | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "max_tokens": -5} | 400 | value_below_minimum | max_tokens
            max_tokens a decimal    | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5} | 400 | invalid_type | max_tokens
            max_tokens huge         | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "max_tokens": 99999999999} | 400 | value_out_of_range | max_tokens
            temperature 3           | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "temperature": 3} | 400 | value_out_of_range | temperature
            top_p 0                 | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "top_p": 0} | 400 | value_out_of_range | top_p
            seed a string           | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "seed": "x"} | 400 | invalid_type | seed
            stop a number           | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "stop": 3} | 400 | invalid_type | stop
            n 2                     | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "n": 2} | 400 | unsupported_value | n
            stream a string         | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "stream": "yes"} | 400 | invalid_type | stream
            unknown field           | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "foo": 1} | 400 | unknown_parameter | foo
            unknown extension field | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "clusterkv": {"budgte": 5}} | 400 | unknown_parameter | clusterkv.budgte
            budget 0                | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "clusterkv": {"budget": 0}} | 400 | value_below_minimum | clusterkv.budget
            tools                   | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]} | 400 | unsupported_value | tools
            presence_penalty        | {"model": "scripted-model", "messages": [{"role": "user", "content": "x"}], "presence_penalty": 0.5} | 400 | unsupported_value | presence_penalty
            """)
    void malformedChatRequestsGetOpenAiErrorsAndTheServerGoesOn(String what, String body, int status, String code,
                                                              String param) throws Exception {
        int submitted = backend.requests.size();
        Http.Reply r = http.post("/v1/chat/completions", body == null ? "" : body);
        assertEquals(status, r.status(), what + ": " + r.body());
        assertTrue(r.raw().headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        JsonNode error = r.json().path("error");
        assertEquals(code, error.path("code").asString(), r.body());
        assertFalse(error.path("message").asString().isBlank());
        assertTrue(error.path("type").isString());
        if (param != null) {
            assertEquals(param, error.path("param").asString(), r.body());
        } else {
            assertTrue(error.has("param"));
        }
        assertEquals(submitted, backend.requests.size(), "nothing reaches the engine");
        assertEquals(200, http.post("/v1/chat/completions", chat("")).status(), "the server still answers");
    }

    @Test
    void badJsonSaysWhereNotJacksonsInternals() throws Exception {
        Http.Reply r = http.post("/v1/chat/completions", "{\"model\": \"x\",\n \"messages\": [}");
        assertEquals(400, r.status());
        String message = r.json().path("error").path("message").asString();
        assertTrue(message.contains("line 2"), message);
        assertFalse(message.contains("Source:") || message.contains("REDACTED"), message);
    }

    @Test
    void neutralValuesOfUnsupportedFieldsAreAccepted() throws Exception {
        Http.Reply r = http.post("/v1/chat/completions", chat(", \"n\": 1, \"presence_penalty\": 0, \"frequency_penalty\": 0,"
                + " \"logprobs\": false, \"tools\": [], \"user\": \"u1\", \"response_format\": {\"type\": \"text\"},"
                + " \"max_completion_tokens\": 9, \"top_p\": 0.5, \"stop\": null"));
        assertEquals(200, r.status(), r.body());
        assertEquals(9, backend.requests.getLast().maxTokens());
        assertEquals(0.5, backend.requests.getLast().topP());
    }

    @Test
    void urlsMethodsAndBodySizeAreChecked() throws Exception {
        Http.Reply missing = http.get("/v1/embeddings");
        assertEquals(404, missing.status());
        assertEquals("unknown_url", missing.json().path("error").path("code").asString());
        Http.Reply wrongMethod = http.get("/v1/chat/completions");
        assertEquals(405, wrongMethod.status());
        assertEquals("POST", wrongMethod.raw().headers().firstValue("Allow").orElse(null));
        Http.Reply big = http.post("/v1/chat/completions", chat(", \"user\": \"" + "x".repeat(70 << 10) + "\""));
        assertEquals(413, big.status(), big.body());
        assertEquals("request_too_large", big.json().path("error").path("code").asString());
        assertEquals(200, http.get("/health").status());
    }

    @Test
    void modelsListsTheOneModel() throws Exception {
        Http.Reply r = http.get("/v1/models");
        assertEquals(200, r.status());
        assertEquals("list", r.json().path("object").asString());
        assertEquals(1, r.json().path("data").size());
        assertEquals(ScriptedBackend.MODEL, r.json().path("data").get(0).path("id").asString());
        assertEquals(ScriptedBackend.CONTEXT, r.json().path("data").get(0).path("clusterkv").path("context_length").asInt());
        assertEquals(200, http.get("/v1/models/" + ScriptedBackend.MODEL).status());
        assertEquals(404, http.get("/v1/models/other").status());
    }

    @Test
    void aStreamingClientThatDisconnectsCancelsItsCall() throws Exception {
        ScriptedBackend.Call[] running = new ScriptedBackend.Call[1];
        backend.script = (request, listener) -> {
            ScriptedBackend.Call call = new ScriptedBackend.Call();
            listener.onText("first");
            running[0] = call; // never completes unless cancelled
            return call;
        };
        String body = chat(", \"stream\": true");
        try (Socket socket = new Socket(server.address().getAddress(), server.address().getPort())) {
            send(socket, body);
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null && !line.contains("\"first\"")) {
                // headers and the role chunk
            }
            assertNotNull(line, "the first text arrived");
        }
        assertTrue(running[0].cancelled.await(10, TimeUnit.SECONDS), "the call was cancelled when the client left");
    }

    @Test
    void aNonStreamingClientThatDisconnectsCancelsItsCall() throws Exception {
        java.util.concurrent.CountDownLatch submitted = new java.util.concurrent.CountDownLatch(1);
        ScriptedBackend.Call[] running = new ScriptedBackend.Call[1];
        backend.script = (request, listener) -> {
            ScriptedBackend.Call call = new ScriptedBackend.Call();
            running[0] = call;
            submitted.countDown();
            return call;
        };
        try (Socket socket = new Socket(server.address().getAddress(), server.address().getPort())) {
            send(socket, chat(""));
            assertTrue(submitted.await(10, TimeUnit.SECONDS));
        }
        assertTrue(running[0].cancelled.await(10, TimeUnit.SECONDS), "the call was cancelled when the client left");
        assertEquals(FinishReason.CANCELLED, running[0].result.join().finishReason());
    }

    @Test
    void aRequestAskingToCloseTheConnectionStillGetsItsAnswer() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        backend.script = (request, listener) -> {
            ScriptedBackend.Call call = new ScriptedBackend.Call();
            Thread.ofVirtual().start(() -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                listener.onText("late");
                call.result.complete(new ChatResult("late", FinishReason.STOP, 1, 1, 0));
            });
            return call;
        };
        byte[] bytes = chat("").getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket(server.address().getAddress(), server.address().getPort())) {
            socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(bytes);
            socket.getOutputStream().flush();
            Thread.sleep(200); // let the server read the request and end the connection's requests side
            release.countDown();
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
            assertTrue(answer.contains("\"content\":\"late\""), answer);
        }
    }

    @Test
    void metricsAreScrapedInPrometheusFormat() throws Exception {
        http.post("/v1/chat/completions", chat(""));
        http.post("/v1/chat/completions", "{");
        Http.Reply m = http.get("/metrics");
        assertEquals(200, m.status());
        String text = m.body();
        assertTrue(text.contains("ckv_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}"), text);
        assertTrue(text.contains("ckv_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"400\"}"), text);
        double reused = value(text, "ckv_tokens_prompt_reused_total");
        assertEquals(2.0 * backend.requests.size(), reused, 1e-9);
        assertEquals(0.75, value(text, "ckv_residency_hit_rate"), 1e-9);
        assertTrue(text.contains("ckv_requests_queued"));
        assertTrue(text.contains("ckv_time_to_first_token_seconds"));
        assertTrue(text.contains("ckv_completions_total{endpoint=\"/v1/chat/completions\",finish_reason=\"stop\"}"), text);
    }

    private static double value(String exposition, String name) {
        for (String line : exposition.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError(name + " not in " + exposition);
    }

    @Test
    void anApiKeyGuardsV1ButNotHealth() throws Exception {
        try (OpenAiServer guarded = OpenAiServer.start(system, backend,
                ServerOptions.defaults().withPort(0).withApiKey("sk-test-123"))) {
            Http h = new Http(guarded.baseUri());
            Http.Reply none = h.post("/v1/chat/completions", chat(""));
            assertEquals(401, none.status());
            assertEquals("invalid_api_key", none.json().path("error").path("code").asString());
            assertEquals(401, h.post("/v1/chat/completions", chat(""), "Authorization", "Bearer sk-wrong").status());
            assertEquals(401, h.get("/v1/models", "Authorization", "sk-test-123").status());
            assertEquals(200, h.post("/v1/chat/completions", chat(""), "Authorization", "Bearer sk-test-123").status());
            assertEquals(200, h.get("/v1/models", "Authorization", "bearer sk-test-123").status());
            assertEquals(200, h.get("/health").status());
        }
    }

    @Test
    void aPortInUseIsABindErrorNamingIt() {
        int port = server.address().getPort();
        var e = org.junit.jupiter.api.Assertions.assertThrows(java.io.UncheckedIOException.class,
                () -> OpenAiServer.start(system, backend, ServerOptions.defaults().withPort(port)));
        assertTrue(e.getMessage().contains(Integer.toString(port)), e.getMessage());
    }

    private static void send(Socket socket, String body) throws java.io.IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
    }
}

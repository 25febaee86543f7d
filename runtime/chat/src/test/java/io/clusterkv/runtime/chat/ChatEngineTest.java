package io.clusterkv.runtime.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.model.GgufModelWriter;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.gguf.GgufWriter;
import io.clusterkv.runtime.model.TinyChatModel;
import io.clusterkv.runtime.tensor.WeightMatrix;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chat engine on {@code synthetic:tiny-chat} (a real vocabulary and ChatML template, random weights):
 * prompts, stopping, stop strings, concurrency, the queue bound, cancel, conversation reuse and its LRU
 * bound. Expected values come from the tokenizer, the template's reference rendering, or a run of the same
 * request without the feature under test (alone, without reuse, without a stop string).
 */
class ChatEngineTest {

    private static ClusterKvRuntime runtime;
    private static LlamaModel model;

    @BeforeAll
    static void start() throws Exception {
        runtime = ClusterKvRuntime.builder()
                .config(ConfigFactory.parseMap(Map.of("clusterkv.runtime.policy", "streaming",
                        "clusterkv.runtime.budget", 32)))
                .build();
        model = runtime.loadModel(TinyChatModel.NAME);
    }

    @AfterAll
    static void stop() {
        runtime.close();
    }

    static ChatEngine engine(ChatEngine.Options options) {
        return ChatEngine.create(runtime, model, options);
    }

    /** A result and the pieces its listener received. */
    record Run(ChatResult result, List<String> pieces) {
        String streamed() {
            return String.join("", pieces);
        }
    }

    static Run run(ChatEngine engine, ChatRequest request) {
        List<String> pieces = new ArrayList<>();
        ChatResult r = engine.submit(request, pieces::add).result().orTimeout(60, TimeUnit.SECONDS).join();
        return new Run(r, pieces);
    }

    static ChatRequest chat(int maxTokens, ChatMessage... messages) {
        return ChatRequest.chat(List.of(messages), maxTokens);
    }

    @Test
    void theModelsTemplateIsChatMlAndItsMarkersBecomeControlTokens() {
        try (ChatEngine e = engine(ChatEngine.Options.defaults())) {
            assertEquals(TinyChatModel.NAME, e.modelId());
            assertEquals(1024, e.contextLength());
            ChatRequest r = chat(8, ChatMessage.system("Be brief."), ChatMessage.user("Hello there"));
            // the reference ChatML rendering (llama.cpp's test-chat-template, OpenHermes)
            assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello there<|im_end|>\n"
                    + "<|im_start|>assistant\n", e.template().orElseThrow().render(r.messages(), true));
            int[] ids = e.promptTokens(r);
            Tokenizer t = e.tokenizer();
            assertEquals(t.bosId().getAsInt(), ids[0], "BOS first: the vocabulary asks for it");
            assertEquals(TinyChatModel.IM_START, ids[1]);
            assertEquals(3, IntStream.of(ids).filter(i -> i == TinyChatModel.IM_START).count());
            assertEquals(2, IntStream.of(ids).filter(i -> i == TinyChatModel.IM_END).count());
            assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello there<|im_end|>\n"
                    + "<|im_start|>assistant\n", t.decode(Arrays.copyOfRange(ids, 1, ids.length), true)
                    .replace("|> ", "|>"), "no marker is split into text");   // (SentencePiece puts a space after a control token, as llama.cpp)
        }
    }

    @Test
    void greedyGenerationEndsAtAStopTokenOrAtMaxTokensAndStreamsItsText() {
        try (ChatEngine e = engine(ChatEngine.Options.defaults())) {
            Run run = run(e, chat(24, ChatMessage.user("Tell me a story")));
            ChatResult r = run.result();
            assertEquals(e.promptTokens(chat(24, ChatMessage.user("Tell me a story"))).length, r.promptTokens());
            assertTrue(r.finishReason() == FinishReason.LENGTH ? r.completionTokens() == 24 : r.completionTokens() <= 24,
                    r.toString());
            assertEquals(r.text(), run.streamed(), "the pieces make the text");
            assertFalse(r.text().contains("<|im_end|>"));
            Run again = run(e, chat(24, ChatMessage.user("Tell me a story")));
            assertEquals(r.text(), again.result().text(), "greedy is deterministic");
        }
    }

    @Test
    void anEndOfTurnTokenStopsTheAnswerAndIsNotText() throws Exception {
        // a copy of the model whose classifier can only rank <|im_end|> or </s> first: row v and row -v
        try (LlamaModel forced = runtime.loadModel(TinyChatModel.NAME)) {
            forceEndOfTurn(forced);
            try (ChatEngine e = ChatEngine.create(runtime, forced, ChatEngine.Options.defaults())) {
                Run run = run(e, chat(16, ChatMessage.user("Hi")));
                assertEquals(FinishReason.STOP, run.result().finishReason());
                assertEquals(1, run.result().completionTokens());
                assertEquals("", run.result().text());
                assertTrue(run.pieces().isEmpty());
            }
        }
    }

    @Test
    void theVocabularysEndOfTurnStopsTheAnswerWhereTheModelFileDoesNotNameIt(@TempDir Path dir) throws Exception {
        // the forced classifier again, written as a GGUF without tokenizer.ggml.eot_token_id: the session then
        // stops only at </s>, and <|im_end|> (found by name, as for ChatML models whose file names no EOT)
        // must be stopped at by the engine
        Path file = dir.resolve("tiny-chat-no-eot.gguf");
        try (LlamaModel forced = runtime.loadModel(TinyChatModel.NAME)) {
            forceEndOfTurn(forced);
            GgufModelWriter mw = GgufModelWriter.of(forced);
            GgufWriter w = new GgufWriter();
            mw.metadata().forEach((k, v) -> {
                if (!k.equals("tokenizer.ggml.eot_token_id")) {
                    w.put(k, v);
                }
            });
            mw.tensors().forEach(t -> w.addTensor(t.name(), t.type(), t.dims(), t.data()));
            w.write(file);
        }
        try (LlamaModel noEot = runtime.loadModel(file.toString());
             ChatEngine e = ChatEngine.create(runtime, noEot, ChatEngine.Options.defaults())) {
            assertFalse(IntStream.of(noEot.stopTokens()).anyMatch(t -> t == TinyChatModel.IM_END));
            assertEquals(TinyChatModel.IM_END, e.tokenizer().eotId().orElseThrow());
            for (String q : List.of("a", "b c", "d e f", "Hello", "What now?", "x y", "Tell me", "ok")) {
                ChatResult r = run(e, chat(8, ChatMessage.user(q))).result();
                assertEquals(FinishReason.STOP, r.finishReason(), q);
                assertEquals(1, r.completionTokens(), q);
                assertEquals("", r.text(), q);
            }
        }
    }

    /** Makes the classifier rank only {@code <|im_end|>} (row v) or {@code </s>} (row -v) first. */
    private static void forceEndOfTurn(LlamaModel m) {
        WeightMatrix out = m.output();
        MemorySegment data = out.data();
        long rowBytes = (long) out.cols() * Float.BYTES;
        data.fill((byte) 0);
        for (int c = 0; c < out.cols(); c++) {
            data.set(ValueLayout.JAVA_FLOAT_UNALIGNED, TinyChatModel.IM_END * rowBytes + c * 4L, 1f);
            data.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 2 * rowBytes + c * 4L, -1f);
        }
    }

    @Test
    void aStopStringCutsTheTextAndNeverReachesTheListener() {
        try (ChatEngine e = engine(ChatEngine.Options.defaults())) {
            ChatRequest plain = chat(40, ChatMessage.user("Count to ten"));
            String full = run(e, plain).result().text();
            assertTrue(full.length() >= 12, "the gibberish answer is long enough to cut: " + full);
            String stop = full.substring(full.length() / 2, full.length() / 2 + 3);
            int at = full.indexOf(stop);
            Run cut = run(e, ChatRequest.builder().messages(plain.messages()).maxTokens(40).stop(List.of(stop)).build());
            assertEquals(FinishReason.STOP, cut.result().finishReason());
            assertEquals(full.substring(0, at), cut.result().text());
            assertEquals(cut.result().text(), cut.streamed());
            assertFalse(cut.streamed().contains(stop));
        }
    }

    @Test
    void concurrentRequestsEachGetTheirAnswerAlone() {
        List<ChatRequest> requests = IntStream.range(0, 4)
                .mapToObj(i -> chat(16, ChatMessage.user("Question number " + i + " is about " + "xyz".repeat(i))))
                .toList();
        List<String> alone = new ArrayList<>();
        try (ChatEngine e = engine(ChatEngine.Options.defaults().withMaxConcurrent(1).withMaxCachedConversations(0))) {
            for (ChatRequest r : requests) {
                alone.add(run(e, r).result().text());
            }
        }
        try (ChatEngine e = engine(ChatEngine.Options.defaults().withMaxConcurrent(4))) {
            List<ChatCall> calls = requests.stream().map(r -> e.submit(r, ChatListener.none())).toList();
            for (int i = 0; i < calls.size(); i++) {
                assertEquals(alone.get(i), calls.get(i).result().orTimeout(60, TimeUnit.SECONDS).join().text(), "request " + i);
            }
            assertEquals(4, e.stats().requests());
        }
    }

    @Test
    void beyondTheQueueRequestsAreRejected() throws Exception {
        try (ChatEngine e = engine(new ChatEngine.Options(1, 1, 0, java.util.Optional.empty(), java.util.OptionalInt.empty()))) {
            CountDownLatch firstToken = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            ChatCall first = e.submit(chat(4, ChatMessage.user("one")), d -> {
                firstToken.countDown();
                await(release);
            });
            ChatCall second = e.submit(chat(4, ChatMessage.user("two")), ChatListener.none());
            assertEquals(1, e.stats().queued());
            EngineOverloadedException over = assertThrows(EngineOverloadedException.class,
                    () -> e.submit(chat(4, ChatMessage.user("three")), ChatListener.none()));
            assertTrue(over.getMessage().contains("queued"), over.getMessage());
            assertEquals(1, e.stats().rejected());
            release.countDown();
            first.result().orTimeout(60, TimeUnit.SECONDS).join();
            second.result().orTimeout(60, TimeUnit.SECONDS).join();
            assertEquals(2, e.stats().requests());
        }
    }

    @Test
    void cancelStopsTheRequestAndFreesItsSession() throws Exception {
        try (ChatEngine e = engine(ChatEngine.Options.defaults().withMaxConcurrent(1))) {
            int before = runtime.sessions().size();
            CountDownLatch firstToken = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            List<String> pieces = new ArrayList<>();
            ChatCall running = e.submit(chat(200, ChatMessage.user("Go on and on")), d -> {
                pieces.add(d);
                firstToken.countDown();
                await(release);
            });
            ChatCall queued = e.submit(chat(8, ChatMessage.user("waiting")), ChatListener.none());
            assertTrue(firstToken.await(60, TimeUnit.SECONDS));
            queued.cancel();
            ChatResult q = queued.result().orTimeout(60, TimeUnit.SECONDS).join();
            assertEquals(FinishReason.CANCELLED, q.finishReason());
            assertEquals(0, q.completionTokens());
            running.cancel();
            release.countDown();
            ChatResult r = running.result().orTimeout(60, TimeUnit.SECONDS).join();
            assertEquals(FinishReason.CANCELLED, r.finishReason());
            assertTrue(r.completionTokens() < 200, r.toString());
            ChatEngine.Stats s = e.stats();
            assertEquals(0, s.active());
            assertEquals(0, s.queued());
            assertEquals(0, s.cachedConversations(), "a cancelled session is not kept");
            assertEquals(before, runtime.sessions().size(), "the cancelled session is closed");
            running.cancel(); // idempotent
        }
    }

    @Test
    void aSecondTurnContinuesTheFirstTurnsKvAndAnswersAsAFreshEngineWould() {
        for (int firstMax : new int[]{1, 12}) {
            ChatMessage user1 = ChatMessage.user("What is the capital of France?");
            try (ChatEngine e = engine(ChatEngine.Options.defaults());
                 ChatEngine fresh = engine(ChatEngine.Options.defaults().withMaxCachedConversations(0))) {
                ChatRequest turn1 = chat(firstMax, user1);
                Run first = run(e, turn1);
                assertEquals(0, first.result().reusedPromptTokens());
                assertEquals(1, e.stats().cachedConversations());
                ChatRequest turn2 = chat(12, user1, ChatMessage.assistant(first.result().text()),
                        ChatMessage.user("And of Italy?"));
                int[] prompt1 = e.promptTokens(turn1);
                int[] prompt2 = e.promptTokens(turn2);
                // the first turn's KV: its prompt and its answer but the answer's last token (sampled, not fed back)
                int kv = first.result().promptTokens() + first.result().completionTokens() - 1;
                assertTrue(Arrays.equals(prompt1, 0, prompt1.length, prompt2, 0, prompt1.length),
                        "the second turn's prompt starts with the first's");
                Run second = run(e, turn2);
                Run reference = run(fresh, turn2);
                assertEquals(0, reference.result().reusedPromptTokens());
                assertEquals(reference.result().text(), second.result().text(), "reuse must not change the answer");
                assertEquals(reference.result().completionTokens(), second.result().completionTokens());
                assertEquals(prompt2.length, second.result().promptTokens());
                if (firstMax == 1) {
                    assertEquals(kv, second.result().reusedPromptTokens(), "with one answer token the KV is the prompt");
                    assertEquals(prompt1.length, second.result().reusedPromptTokens());
                } else {
                    // reused exactly when the answer's tokens are what its text tokenises to again
                    assertTrue(second.result().reusedPromptTokens() == kv || second.result().reusedPromptTokens() == 0,
                            second.result().toString());
                }
                assertEquals(second.result().reusedPromptTokens(), e.stats().reusedPromptTokens());
            }
        }
    }

    @Test
    void aListenerThatThrowsFailsItsRequestOnlyAndItsSessionIsClosed() {
        try (ChatEngine e = engine(ChatEngine.Options.defaults())) {
            int before = runtime.sessions().size();
            IllegalStateException boom = new IllegalStateException("listener broke");
            ChatCall call = e.submit(chat(20, ChatMessage.user("throw")), d -> {
                throw boom;
            });
            CompletionException ex = assertThrows(CompletionException.class,
                    () -> call.result().orTimeout(60, TimeUnit.SECONDS).join());
            assertEquals(boom, ex.getCause());
            assertEquals(before, runtime.sessions().size());
            assertEquals(0, e.stats().cachedConversations());
            assertEquals(FinishReason.LENGTH, run(e, chat(2, ChatMessage.user("after"))).result().finishReason());
        }
    }

    @Test
    void cachedConversationsAreBoundedAndTheLeastRecentlyUsedIsClosed() {
        try (ChatEngine e = engine(ChatEngine.Options.defaults().withMaxCachedConversations(2))) {
            int before = runtime.sessions().size();
            ChatMessage a = ChatMessage.user("first conversation");
            Run ra = run(e, chat(1, a));
            run(e, chat(1, ChatMessage.user("second conversation")));
            assertEquals(2, e.stats().cachedConversations());
            assertEquals(before + 2, runtime.sessions().size());
            Run continued = run(e, chat(1, a, ChatMessage.assistant(ra.result().text()), ChatMessage.user("more")));
            assertTrue(continued.result().reusedPromptTokens() > 0, "a is now the most recently used");
            run(e, chat(1, ChatMessage.user("third conversation")));
            assertEquals(2, e.stats().cachedConversations());
            assertEquals(before + 2, runtime.sessions().size(), "the evicted session is closed");
            Run second = run(e, chat(1, ChatMessage.user("second conversation"), ChatMessage.assistant("x"),
                    ChatMessage.user("y")));
            assertEquals(0, second.result().reusedPromptTokens(), "the second conversation was evicted");
        }
        assertTrue(runtime.sessions().isEmpty(), "closing the engine closes its cached sessions");
    }

    @Test
    void aModelWithoutATemplateServesCompletionsAndRefusesChats() {
        try (ChatEngine e = ChatEngine.create(runtime, model, ChatEngine.Options.defaults(), null)) {
            ChatTemplateException ex = assertThrows(ChatTemplateException.class,
                    () -> e.submit(chat(4, ChatMessage.user("hi")), ChatListener.none()));
            assertTrue(ex.getMessage().contains("no chat template"), ex.getMessage());
            ChatResult r = e.submit(ChatRequest.builder().prompt("Once upon a time").maxTokens(4).build(),
                    ChatListener.none()).result().orTimeout(60, TimeUnit.SECONDS).join();
            assertEquals(e.tokenizer().encode("Once upon a time").length, r.promptTokens());
        }
        try (LlamaModel noVocabulary = io.clusterkv.runtime.model.SyntheticModels.create("synthetic:tiny",
                io.clusterkv.runtime.tensor.GgmlType.F32, 1)) {
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                    () -> ChatEngine.create(runtime, noVocabulary, ChatEngine.Options.defaults()));
            assertTrue(ex.getMessage().contains("no vocabulary"), ex.getMessage());
        }
    }

    @Test
    void badRequestsGetTypedErrorsNamingTheInput() {
        try (ChatEngine e = engine(ChatEngine.Options.defaults())) {
            InvalidChatRequestException policy = assertThrows(InvalidChatRequestException.class, () -> e.submit(
                    ChatRequest.builder().messages(List.of(ChatMessage.user("x"))).policy("nope").build(),
                    ChatListener.none()));
            assertTrue(policy.getMessage().contains("'nope'") && policy.getMessage().contains("streaming"), policy.getMessage());
            ContextOverflowException overflow = assertThrows(ContextOverflowException.class,
                    () -> e.submit(chat(1020, ChatMessage.user("a long answer please")), ChatListener.none()));
            assertEquals(1020, overflow.maxTokens());
            assertEquals(1024, overflow.contextLength());
            assertEquals(e.promptTokens(chat(1, ChatMessage.user("a long answer please"))).length, overflow.promptTokens());
            assertTrue(assertThrows(InvalidChatRequestException.class, () -> chat(1, new ChatMessage("tool", "{}")))
                    .getMessage().contains("'tool'"));
            assertThrows(InvalidChatRequestException.class, () -> chat(-1, ChatMessage.user("x")));
            assertThrows(InvalidChatRequestException.class, () -> ChatRequest.builder()
                    .messages(List.of(ChatMessage.user("x"))).temperature(-0.5).build());
            assertThrows(InvalidChatRequestException.class, () -> ChatRequest.builder()
                    .messages(List.of(ChatMessage.user("x"))).topP(0).build());
            assertThrows(InvalidChatRequestException.class, () -> ChatRequest.builder()
                    .messages(List.of(ChatMessage.user("x"))).stop(List.of("")).build());
            assertThrows(InvalidChatRequestException.class, () -> ChatRequest.builder().build());
            assertEquals(0, e.stats().requests(), "refused requests are not counted");
        }
    }

    @Test
    void aPerRequestPolicyAndBudgetOpenTheirOwnSession() {
        try (ChatEngine e = engine(ChatEngine.Options.defaults())) {
            ChatMessage u = ChatMessage.user("policy please");
            Run full = run(e, ChatRequest.builder().messages(List.of(u)).maxTokens(1).policy("full").build());
            Run next = run(e, ChatRequest.builder().messages(List.of(u, ChatMessage.assistant(full.result().text()),
                    ChatMessage.user("again"))).maxTokens(1).policy("streaming").budget(16).build());
            assertEquals(0, next.result().reusedPromptTokens(), "a conversation is continued only with its own settings");
            assertEquals(2, e.stats().cachedConversations());
        }
    }

    @Test
    void closingTheEngineFailsPendingCalls() throws Exception {
        ChatEngine e = engine(ChatEngine.Options.defaults().withMaxConcurrent(1));
        CountDownLatch firstToken = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ChatCall running = e.submit(chat(100, ChatMessage.user("long")), d -> {
            firstToken.countDown();
            await(release);
        });
        ChatCall queued = e.submit(chat(4, ChatMessage.user("short")), ChatListener.none());
        assertTrue(firstToken.await(60, TimeUnit.SECONDS));
        Thread closer = Thread.ofPlatform().start(e::close);
        CompletionException q = assertThrows(CompletionException.class, () -> queued.result().orTimeout(60, TimeUnit.SECONDS).join());
        assertInstanceOf(IllegalStateException.class, q.getCause());
        release.countDown();
        CompletionException r = assertThrows(CompletionException.class, () -> running.result().orTimeout(60, TimeUnit.SECONDS).join());
        assertInstanceOf(IllegalStateException.class, r.getCause());
        closer.join(60_000);
        assertThrows(IllegalStateException.class, () -> e.submit(chat(1, ChatMessage.user("late")), ChatListener.none()));
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }
}

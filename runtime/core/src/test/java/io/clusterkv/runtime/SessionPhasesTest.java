package io.clusterkv.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.decode.HistoryFill;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.model.fixtures.TestModelFiles;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The session actor's phases through the public API: a job that arrives while one runs, a close in the
 * middle of a job, a history fill that fails. A listener that waits on a latch holds the session in
 * its decoding phase (it runs on the session's thread), so what arrives meanwhile meets a busy session.
 */
@ExtendWith(LogCapturingExtension.class)
class SessionPhasesTest {

    private static ClusterKvRuntime runtime;
    private static LlamaModel model;

    @BeforeAll
    static void start() throws Exception {
        runtime = ClusterKvRuntime.builder()
                .config(ConfigFactory.parseMap(Map.of("clusterkv.runtime.policy", "streaming",
                        "clusterkv.runtime.budget", 8)))
                .build();
        model = Models.load(TestModelFiles.stories260K());
    }

    @AfterAll
    static void stop() {
        if (runtime != null) {
            runtime.close();
        }
        if (model != null) {
            model.close();
        }
    }

    /** Holds the session on its first token until released. */
    private static final class Holding implements TokenListener {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        int tokens;

        @Override
        public void onToken(int token, int position) {
            if (tokens++ == 0) {
                entered.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        void awaitEntered() throws InterruptedException {
            assertTrue(entered.await(30, TimeUnit.SECONDS), "the job reached its first token");
        }
    }

    private static int[] prompt() {
        return RuntimeExactnessTest.randomTokens(model.config().vocab(), 20, 5);
    }

    @Test
    void jobsThatArriveWhileOneRunsAreRefusedAsBusyAndItGoesOn() throws Exception {
        try (Session session = runtime.openSession(model, SessionOptions.builder().build())) {
            Holding listener = new Holding();
            CompletableFuture<GenerationResult> first = session.generate(prompt(), 30, Sampler.greedy(), listener);
            listener.awaitEntered();
            CompletableFuture<GenerationResult> second = session.generate(prompt(), 5, Sampler.greedy(), TokenListener.none());
            CompletableFuture<ScoreResult> score = session.score(prompt(), new int[] {1, 2});
            CompletableFuture<Void> fill = session.fill(new Rows(4, null));
            listener.release.countDown();
            for (CompletableFuture<?> refused : new CompletableFuture<?>[] {second, score, fill}) {
                CompletionException e = assertThrows(CompletionException.class, refused::join);
                assertInstanceOf(IllegalStateException.class, e.getCause());
                assertTrue(e.getCause().getMessage().endsWith("is busy"), e.getCause().getMessage());
            }
            GenerationResult r = first.join();
            assertEquals(r.tokens().length, listener.tokens);
            assertTrue(r.tokens().length > 1, "went on decoding after the refusals");
            // idle again: the next job runs after the first one's positions
            assertEquals(3, session.generate(prompt(), 3, Sampler.greedy(), TokenListener.none()).join().tokens().length);
        }
    }

    @Test
    void aCloseInTheMiddleOfAJobCompletesItExceptionally() throws Exception {
        Session session = runtime.openSession(model, SessionOptions.builder().build());
        Holding listener = new Holding();
        CompletableFuture<GenerationResult> job = session.generate(prompt(), 30, Sampler.greedy(), listener);
        listener.awaitEntered();
        CompletableFuture<Void> closed = session.closeAsync();
        listener.release.countDown();
        CompletionException e = assertThrows(CompletionException.class, job::join);
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertTrue(e.getCause().getMessage().endsWith("was closed"), e.getCause().getMessage());
        closed.get(30, TimeUnit.SECONDS);
        assertEquals(1, listener.tokens, "no token after the close");
    }

    @Test
    void aHistoryFillThatFailsFailsTheSessionNamingTheShard() {
        try (Session session = runtime.openSession(model, SessionOptions.builder().build())) {
            RuntimeException boom = new IllegalStateException("no rows for this shard");
            CompletionException e = assertThrows(CompletionException.class, () -> session.fill(new Rows(4, boom)).join());
            SessionFailedException failed = assertInstanceOf(SessionFailedException.class, e.getCause());
            assertTrue(failed.getMessage().contains("shard (2, 1) failed"), failed.getMessage());
            CompletionException again = assertThrows(CompletionException.class,
                    () -> session.generate(prompt(), 3, Sampler.greedy(), TokenListener.none()).join());
            SessionFailedException refused = assertInstanceOf(SessionFailedException.class, again.getCause());
            assertTrue(refused.getMessage().endsWith("has failed"), refused.getMessage());
            assertEquals(boom, refused.getCause());
        }
    }

    /** Zero rows; shard (2, 1) throws {@code failure} when it is not null. */
    private record Rows(int positions, RuntimeException failure) implements HistoryFill {
        @Override
        public void fill(int layer, int kvHead, KvShard shard) {
            if (failure != null && layer == 2 && kvHead == 1) {
                throw failure;
            }
            float[] row = new float[shard.headDim()];
            for (int i = 0; i < positions; i++) {
                shard.append(row, 0, row, 0);
            }
        }
    }
}

package io.clusterkv.runtime.residency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Shards on several threads share one small device tier: every step's output is still right, the
 * bytes held never exceed the capacity (watched by another thread all along), and closing sessions,
 * even while their shards attend, frees everything without a crash or an error other than the closed
 * shard's {@link IllegalStateException}.
 */
class ResidencyConcurrencyTest {

    static final int THREADS = 4;
    static final int DIM = 32;

    /** One shard on its own thread: 2 sessions x 2 KV heads; F32 and F16 mixed. */
    private static final class Worker {
        final UnitWorkload w;
        final ShardResidency shard;
        final SelectionBuffer selection = new SelectionBuffer(2, 64);
        final float[] out = new float[2 * DIM];

        Worker(ResidencyCache cache, int i) {
            KvFormat format = i % 2 == 0 ? KvFormat.F32 : KvFormat.F16;
            w = new UnitWorkload(500, 400, DIM, format, 2, 40, 20, 100 + i);
            shard = cache.openShard(i / 2, new ShardGeometry(1, i % 2, 2, DIM), format);
        }

        void step(int step) {
            KvShard.View kv = w.shard.snapshot();
            Queries q = w.queries();
            w.maybeReversion(0.1);
            w.fill(selection, 400 + step, 0.3);
            shard.attend(kv, q, selection, w.scale(), out);
            w.check(kv, q, selection, out, shard + " step " + step);
        }
    }

    @ParameterizedTest
    @EnumSource(value = ResidencyRule.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void shardsOnManyThreadsAttendCorrectlyWithinTheCapacity(ResidencyRule rule) throws Exception {
        // 2 KiB blocks hold 8 F32 rows or 16 F16 rows of dim 32; 24 blocks is a few units per shard
        ResidencyConfig config = new ResidencyConfig(24 * 2048, rule, 2, 2048);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS + 1);
        try (ResidencyCache cache = ResidencyCache.create(config)) {
            List<Worker> workers = new ArrayList<>();
            for (int i = 0; i < THREADS; i++) {
                workers.add(new Worker(cache, i));
            }
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicLong worst = new AtomicLong();
            Future<?> watcher = pool.submit(() -> {
                while (running.get()) {
                    worst.accumulateAndGet(cache.residentBytes(), Math::max);
                    LockSupport.parkNanos(20_000); // leave the 2 cores of a CI machine to the shards
                }
            });
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (Worker worker : workers) {
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int step = 0; step < 40; step++) {
                        worker.step(step);
                    }
                    return null;
                }));
            }
            start.countDown();
            assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
                for (Future<?> f : futures) {
                    f.get();
                }
            });
            running.set(false);
            watcher.get();
            assertTrue(worst.get() <= cache.capacityBytes(), worst.get() + " > " + cache.capacityBytes());
            ResidencyStats all = cache.stats();
            assertTrue(all.hits() > 0 && all.misses() > 0, all.toString());
            assertTrue(all.evictions() + all.bypasses() > 0, "pressure: " + all);
            assertEquals(cache.residentBytes(), all.residentBytes());
            ResidencyStats first = cache.closeSession(0);
            ResidencyStats second = cache.closeSession(1);
            assertEquals(all.requests(), first.requests() + second.requests());
            assertEquals(0, cache.residentBytes());
            workers.forEach(w -> w.w.shard.close());
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest
    @EnumSource(value = ResidencyRule.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void closingSessionsWhileTheirShardsAttendIsSafe(ResidencyRule rule) throws Exception {
        ResidencyConfig config = new ResidencyConfig(16 * 2048, rule, 1, 2048);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try (ResidencyCache cache = ResidencyCache.create(config)) {
            List<Worker> workers = new ArrayList<>();
            for (int i = 0; i < THREADS; i++) {
                workers.add(new Worker(cache, i));
            }
            // every shard attends until its session is closed: closing is the only way a worker ends
            CountDownLatch started = new CountDownLatch(THREADS);
            AtomicBoolean firstClosed = new AtomicBoolean();
            CountDownLatch secondAttendsAfterFirstClosed = new CountDownLatch(THREADS / 2);
            List<Future<Integer>> futures = new ArrayList<>();
            for (Worker worker : workers) {
                boolean second = worker.shard.sessionId == 1;
                futures.add(pool.submit(() -> {
                    int step = 0;
                    boolean sawFirstClosed = false;
                    try {
                        for (;; step++) {
                            boolean closedBefore = firstClosed.get();
                            worker.step(step % 90);
                            if (step == 2) {
                                started.countDown();
                            }
                            if (second && closedBefore && !sawFirstClosed) { // a whole step after session 0 closed
                                sawFirstClosed = true;
                                secondAttendsAfterFirstClosed.countDown();
                            }
                        }
                    } catch (IllegalStateException closed) {
                        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
                    } finally { // a worker that failed early must not leave the test waiting for it
                        if (step < 2) {
                            started.countDown();
                        }
                        if (second && !sawFirstClosed) {
                            secondAttendsAfterFirstClosed.countDown();
                        }
                    }
                    return step;
                }));
            }
            assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
                started.await();
                cache.closeSession(0); // while all four shards attend
                firstClosed.set(true);
                secondAttendsAfterFirstClosed.await(); // session 1 goes on, right, beside the closed one
                cache.closeSession(1); // while its two shards attend
                for (Future<Integer> f : futures) {
                    assertTrue(f.get() > 2, "every shard attended until its session closed");
                }
            });
            assertEquals(0, cache.residentBytes());
            for (int i = 0; i < THREADS; i++) {
                assertTrue(!cache.contains(new UnitKey(i / 2, 1, i % 2, 0, 0)));
            }
            workers.forEach(w -> w.w.shard.close());
        } finally {
            pool.shutdownNow();
        }
    }
}

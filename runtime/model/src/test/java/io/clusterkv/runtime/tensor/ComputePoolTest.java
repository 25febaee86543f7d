package io.clusterkv.runtime.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The spinning team of {@link ComputePool}: every row of a product runs exactly once, in chunks
 * aligned to the unit, whether the helpers are spinning, parked or busy; concurrent products (one
 * on the team, the others on the fork-join workers) each write every row, within float accuracy of
 * the float64 product; a failure in a chunk reaches the caller and leaves the team usable; shutdown stops the helpers.
 */
class ComputePoolTest {

    @Test
    void everyRowRunsOnceInUnitAlignedChunks() {
        try (ComputePool pool = new ComputePool(3, "t-once", Duration.ofMillis(1))) {
            assertTrue(pool.hasTeam());
            for (int rows : new int[] {1, 5, 12, 13, 100, 4097}) {
                for (int unit : new int[] {1, 4, 6}) {
                    AtomicIntegerArray hits = new AtomicIntegerArray(rows);
                    assertTrue(pool.tryRun(rows, unit, (lo, hi) -> {
                        assertEquals(0, lo % unit, "chunk start " + lo + " not a multiple of " + unit);
                        for (int r = lo; r < hi; r++) {
                            hits.incrementAndGet(r);
                        }
                    }));
                    for (int r = 0; r < rows; r++) {
                        assertEquals(1, hits.get(r), rows + " rows, unit " + unit + ": row " + r);
                    }
                }
            }
        }
    }

    /** The 32-bit generation of the products wraps around without losing a product. */
    @Test
    void productsGoOnAcrossTheGenerationsWrapAround() {
        try (ComputePool pool = new ComputePool(2, "t-wrap", Duration.ofMillis(1))) {
            pool.generation(0xFFFF_FFFFL - 3);
            for (int i = 0; i < 10; i++) {
                AtomicInteger sum = new AtomicInteger();
                assertTrue(pool.tryRun(64, 1, (lo, hi) -> sum.addAndGet(hi - lo)));
                assertEquals(64, sum.get(), "product " + i);
            }
        }
    }

    /** A parked helper is woken by the next product: the caller's chunk waits until another thread runs one. */
    @Test
    void aParkedHelperWakesForTheNextProduct() throws InterruptedException {
        try (ComputePool pool = new ComputePool(2, "t-wake", Duration.ofNanos(1000))) {
            for (int round = 0; round < 5; round++) {
                Thread.sleep(20); // far past the spin: the helper has parked
                Thread caller = Thread.currentThread();
                CountDownLatch helped = new CountDownLatch(1);
                AtomicReference<String> helper = new AtomicReference<>();
                assertTrue(pool.tryRun(64, 1, (lo, hi) -> {
                    if (Thread.currentThread() == caller) {
                        try {
                            assertTrue(helped.await(10, TimeUnit.SECONDS), "no helper ran a chunk");
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                    } else {
                        helper.set(Thread.currentThread().getName());
                        helped.countDown();
                    }
                }));
                assertTrue(helper.get().startsWith("t-wake-team-"), helper.get());
            }
        }
    }

    @Test
    void concurrentProductsAreEachComplete() throws Exception {
        int rows = 1024;
        int cols = 256;
        WeightMatrixTest.Case c = WeightMatrixTest.randomMatrix(GgmlType.Q8_0, rows, cols, 5);
        float[] x = WeightMatrixTest.randomX(cols, 6);
        double[] exact = new double[rows];
        double[] magnitude = new double[rows];
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < cols; k++) {
                exact[r] += c.w()[r][k] * x[k];
                magnitude[r] += Math.abs(c.w()[r][k] * x[k]);
            }
        }
        try (ComputePool pool = new ComputePool(2, "t-conc", Duration.ofMillis(1))) {
            List<Thread> threads = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicInteger products = new AtomicInteger();
            for (int t = 0; t < 4; t++) {
                Thread th = new Thread(() -> {
                    try {
                        float[] out = new float[rows];
                        for (int i = 0; i < 300; i++) {
                            java.util.Arrays.fill(out, Float.NaN);
                            c.m().matvec(x, out, pool);
                            for (int r = 0; r < rows; r++) {
                                // float accuracy of the float64 product; NaN (a row not written) fails
                                assertTrue(Math.abs(out[r] - exact[r]) <= 1e-5 * magnitude[r], "row " + r);
                            }
                            products.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) {
                th.join(60_000);
            }
            if (failure.get() != null) {
                throw new AssertionError("a concurrent product went wrong", failure.get());
            }
            assertEquals(1200, products.get());
        }
    }

    @Test
    void aFailingChunkReachesTheCallerAndTheTeamGoesOn() {
        try (ComputePool pool = new ComputePool(3, "t-fail", Duration.ofMillis(1))) {
            IllegalStateException boom = new IllegalStateException("boom");
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> pool.tryRun(100, 1,
                    (lo, hi) -> {
                        if (lo <= 50 && 50 < hi) {
                            throw boom;
                        }
                    }));
            assertSame(boom, thrown);
            AtomicInteger sum = new AtomicInteger();
            assertTrue(pool.tryRun(100, 1, (lo, hi) -> sum.addAndGet(hi - lo)));
            assertEquals(100, sum.get());
        }
    }

    @Test
    void shutdownStopsTheHelpers() throws InterruptedException {
        ComputePool pool = new ComputePool(3, "t-stop", Duration.ofMillis(1));
        assertTrue(pool.tryRun(10, 1, (lo, hi) -> { }));
        pool.shutdown();
        assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
        assertFalse(pool.tryRun(10, 1, (lo, hi) -> { }), "a stopped team takes no product");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (helpersAlive("t-stop-team-") && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertFalse(helpersAlive("t-stop-team-"), "the helpers outlive the pool");
    }

    @Test
    void noTeamWithoutSpinOrWithOneThread() {
        try (ComputePool a = new ComputePool(2, "t-zero", Duration.ZERO);
             ComputePool b = new ComputePool(1, "t-one", Duration.ofMillis(1))) {
            assertFalse(a.hasTeam());
            assertFalse(b.hasTeam());
            assertFalse(a.tryRun(10, 1, (lo, hi) -> { }));
        }
        assertThrows(IllegalArgumentException.class, () -> new ComputePool(2, "t-neg", Duration.ofNanos(-1)));
    }

    private static boolean helpersAlive(String prefix) {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().startsWith(prefix) && t.isAlive());
    }
}

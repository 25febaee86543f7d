package io.clusterkv.runtime.tensor;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The pool for matrix products: a {@link ForkJoinPool} of {@code parallelism} workers plus a team of
 * {@code parallelism - 1} helper threads that <em>spin</em> between products instead of parking.
 *
 * <p>Why. A decode step is a chain of about seven matrix-vector products per layer, each a few hundred
 * microseconds to a few milliseconds, with small kernels in between. A {@code ForkJoinPool} parks a
 * worker as soon as it finds no task, so each product pays the wake-up of the workers that help with
 * it; on a 2-core machine a depth-0 decode of a 1B model kept the cores busy only about 62% of its
 * wall time. A helper that polls for the next product for a short while ({@code spin}) is there
 * when it comes, as llama.cpp's threads are (docs/BENCHMARKS.md has the measurement).
 *
 * <p>How. {@link WeightMatrix#matvec} and {@link WeightMatrix#matmul} on this pool split their rows
 * into chunks that the calling thread and the helpers claim from one counter, so a helper that is
 * late (parked, descheduled) costs nothing: the caller takes the chunks it has not claimed, and
 * waits only for chunks a helper is working on. The team serves one product at a time; a product
 * that finds it busy (another session's) runs on the fork-join workers as before. A helper that has
 * found no product for {@code spin} parks until the next one (after its first
 * {@value #YIELD_AFTER_NANOS} ns it yields its core between polls). With {@code spin} zero, or parallelism
 * 1, there is no team and the pool is a plain {@code ForkJoinPool}.
 *
 * <p>{@link #shutdown()}, {@link #shutdownNow()} and {@link #close()} also stop the helpers. The pool
 * allocates nothing per product.
 */
public final class ComputePool extends ForkJoinPool {

    /** Chunks per team thread a product is split into: late helpers and uneven rows even out. */
    static final int CHUNKS_PER_THREAD = 4;

    /**
     * The spin of the runtime's pool ({@code clusterkv.runtime.compute-spin} in its reference.conf), for
     * tools that build their own pool: 200 µs covers the gaps inside a decode step's layer and the hand-off
     * to the attention shards at short contexts, and parks a helper while long attention runs.
     */
    public static final Duration DEFAULT_SPIN = Duration.ofNanos(200_000);

    private final Team team;
    /**
     * How long a helper polls with {@link Thread#onSpinWait} before it polls with {@link Thread#yield}
     * for the rest of its spin: while the attention shards work, a spinning helper would hold a core
     * they could use (paired runs: +4% tokens/s in the geometric mean, docs/BENCHMARKS.md).
     */
    static final long YIELD_AFTER_NANOS = 20_000;

    /**
     * @param parallelism the threads a product runs on (the fork-join workers; the team has one helper
     *                    fewer, the caller being the other), {@code >= 1}
     * @param name        the prefix of the threads' names
     * @param spin        how long a helper polls for the next product before it parks; zero: no team
     * @throws IllegalArgumentException if {@code parallelism < 1} or {@code spin} is negative
     */
    public ComputePool(int parallelism, String name, Duration spin) {
        // idle workers retire after 5 s (the default is 60): the team takes most products, and the
        // workers a burst of concurrent products started should not linger for a minute
        super(parallelism, factory(name), null, false, 0, parallelism + 256, 1, null, 5, TimeUnit.SECONDS);
        Objects.requireNonNull(spin, "spin");
        if (spin.isNegative()) {
            throw new IllegalArgumentException("spin must not be negative, got " + spin);
        }
        this.team = parallelism > 1 && !spin.isZero() ? new Team(parallelism - 1, name, spin.toNanos()) : null;
    }

    private static ForkJoinWorkerThreadFactory factory(String name) {
        AtomicInteger workers = new AtomicInteger();
        return p -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            // a worker's pool index is not assigned yet when the factory runs: every name was ...-0
            t.setName(name + "-" + workers.getAndIncrement());
            t.setDaemon(true);
            return t;
        };
    }

    /** @return whether products on this pool run on its spinning team (when it is free) */
    public boolean hasTeam() {
        return team != null;
    }

    /**
     * Runs {@code body} over {@code [0, rows)} on the team, in chunks whose starts are multiples of
     * {@code unit}, the calling thread taking part.
     *
     * @return false, having run nothing, when there is no team or it is busy with another product
     */
    boolean tryRun(int rows, int unit, BlockMatrix.RowRange body) {
        return team != null && team.tryRun(rows, unit, body);
    }

    /** Sets the team's product generation, so that a test can run products across its wrap-around. */
    void generation(long generation) {
        team.state.set(generation << 32);
    }

    @Override
    public void shutdown() {
        if (team != null) {
            team.stop();
        }
        super.shutdown();
    }

    @Override
    public List<Runnable> shutdownNow() {
        if (team != null) {
            team.stop();
        }
        return super.shutdownNow();
    }

    /**
     * The helpers and the one product they work on. A product's chunks are claimed from
     * {@link #state}, which holds the product's generation (high 32 bits) and the next chunk (low 32
     * bits): a helper claims with a compare-and-set of the generation it read the product's fields
     * under, so a helper that was descheduled between two products cannot run a chunk of the new one
     * with the old one's body. The caller publishes the fields, then the state (volatile); it resets
     * them only when every chunk of the previous product has been claimed and finished.
     */
    private static final class Team {
        private final Thread[] helpers;
        private final long spinNanos;
        private final AtomicBoolean busy = new AtomicBoolean();
        private final AtomicLong state = new AtomicLong();
        private final AtomicInteger finished = new AtomicInteger();
        private final AtomicIntegerArray parked;
        private volatile boolean stopped;
        // the product's fields: written by the caller before the state that publishes them
        private BlockMatrix.RowRange body;
        private int rows;
        private int chunk;
        private int chunks;
        private volatile Throwable failure;

        Team(int size, String name, long spinNanos) {
            this.spinNanos = spinNanos;
            this.helpers = new Thread[size];
            this.parked = new AtomicIntegerArray(size);
            for (int i = 0; i < size; i++) {
                int index = i;
                Thread t = new Thread(() -> loop(index), name + "-team-" + i);
                t.setDaemon(true);
                helpers[i] = t;
            }
            for (Thread t : helpers) {
                t.start();
            }
        }

        boolean tryRun(int rows, int unit, BlockMatrix.RowRange body) {
            if (stopped || !busy.compareAndSet(false, true)) {
                return false;
            }
            try {
                int threads = helpers.length + 1;
                int c = Math.max(unit, (rows + CHUNKS_PER_THREAD * threads - 1) / (CHUNKS_PER_THREAD * threads));
                c = (c + unit - 1) / unit * unit;
                this.body = body;
                this.rows = rows;
                this.chunk = c;
                this.chunks = (rows + c - 1) / c;
                this.failure = null;
                finished.set(0);
                // 32 bits of generation: it wraps after 2^32 products, and a helper only compares it for equality
                long generation = ((state.get() >>> 32) + 1) & 0xFFFF_FFFFL;
                state.set(generation << 32); // publishes the fields above
                for (int i = 0; i < helpers.length; i++) {
                    if (isParked(i)) {
                        LockSupport.unpark(helpers[i]);
                    }
                }
                work(generation);
                while (finished.get() < chunks) {
                    Thread.onSpinWait();
                }
                this.body = null;
                Throwable f = failure;
                if (f != null) {
                    failure = null;
                    if (f instanceof RuntimeException r) {
                        throw r;
                    }
                    if (f instanceof Error e) {
                        throw e;
                    }
                    throw new IllegalStateException(f);
                }
                return true;
            } finally {
                busy.set(false);
            }
        }

        /** Claims and runs chunks of the product of {@code generation} until none is left. */
        private void work(long generation) {
            while (true) {
                long s = state.get();
                if (s >>> 32 != generation) {
                    return;
                }
                // the fields were published with this generation and stay until all its chunks finish
                int i = (int) s;
                int n = chunks;
                if (i >= n) {
                    return;
                }
                if (!state.compareAndSet(s, s + 1)) {
                    continue;
                }
                int lo = i * chunk;
                try {
                    body.run(lo, Math.min(rows, lo + chunk));
                } catch (Throwable e) {
                    failure = e;
                } finally {
                    finished.incrementAndGet();
                }
            }
        }

        private void loop(int index) {
            long seen = 0;
            while (!stopped) {
                long g = state.get() >>> 32;
                if (g != seen) {
                    seen = g;
                    work(g);
                    continue;
                }
                long since = System.nanoTime();
                long until = since + spinNanos;
                while ((state.get() >>> 32) == seen && !stopped) {
                    long now = System.nanoTime();
                    if (now - until > 0) {
                        setParked(index, true);
                        if ((state.get() >>> 32) == seen && !stopped) {
                            LockSupport.park(this);
                        }
                        setParked(index, false);
                        since = System.nanoTime();
                        until = since + spinNanos;
                    } else if (now - since > YIELD_AFTER_NANOS) {
                        Thread.yield();
                    } else {
                        Thread.onSpinWait();
                    }
                }
            }
        }

        private boolean isParked(int i) {
            return parked.get(i) != 0;
        }

        /** A volatile write before the helper reads the state again: the caller's unpark cannot be missed. */
        private void setParked(int i, boolean value) {
            parked.set(i, value ? 1 : 0);
        }

        void stop() {
            stopped = true;
            for (Thread t : helpers) {
                LockSupport.unpark(t);
            }
        }
    }
}

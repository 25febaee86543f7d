package io.clusterkv.runtime.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveTask;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The memory-bandwidth baseline the attention benchmarks are measured against: a plain Vector API sum
 * of every float of an off-heap segment (four independent accumulators, nothing else), on one thread
 * or split in parts between the caller and pool threads exactly as
 * {@link io.clusterkv.runtime.attention.Attention#exactParallel} splits its work.
 */
final class StreamBaseline implements AutoCloseable {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment data;
    private final int tasks;
    private final Half[] pending;

    /** @param bytes segment size, a multiple of {@code 8 * 4 * lanes} bytes */
    StreamBaseline(long bytes, int tasks) {
        data = arena.allocate(bytes, 64);
        for (long i = 0; i < bytes / 4; i++) {
            data.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i, (i % 7) * 0.25f);
        }
        this.tasks = tasks;
        this.pending = new Half[tasks];
    }

    /** @return the sum of every float, one thread */
    float sum() {
        return sum(data, 0, data.byteSize());
    }

    /** @return the sum of every float, the first part on the caller and the others on the pool */
    float sum(ForkJoinPool pool) {
        long bytes = data.byteSize();
        long per = bytes / tasks / 256 * 256;
        for (int t = 1; t < tasks; t++) { // fresh tasks, as the attention kernel does
            pending[t] = new Half(data, t * per, t == tasks - 1 ? bytes : (t + 1) * per);
            pool.execute(pending[t]);
        }
        float s = sum(data, 0, per);
        for (int t = 1; t < tasks; t++) {
            s += pending[t].join();
        }
        return s;
    }

    static float sum(MemorySegment seg, long from, long to) {
        long step = 4L * F.length();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long o = from;
        for (; o + 4 * step <= to; o += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, seg, o, ORDER));
            a1 = a1.add(FloatVector.fromMemorySegment(F, seg, o + step, ORDER));
            a2 = a2.add(FloatVector.fromMemorySegment(F, seg, o + 2 * step, ORDER));
            a3 = a3.add(FloatVector.fromMemorySegment(F, seg, o + 3 * step, ORDER));
        }
        for (; o + step <= to; o += step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, seg, o, ORDER));
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void close() {
        arena.close();
    }

    private static final class Half extends RecursiveTask<Float> {
        @java.io.Serial
        private static final long serialVersionUID = 1L;
        private final transient MemorySegment seg;
        private final long from;
        private final long to;

        Half(MemorySegment seg, long from, long to) {
            this.seg = seg;
            this.from = from;
            this.to = to;
        }

        @Override
        protected Float compute() {
            return sum(seg, from, to);
        }
    }
}

package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.model.fixtures.ReferenceBlocks;

import io.clusterkv.runtime.tensor.ComputePool;
import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matvec throughput of a 2048×8192 weight matrix (the Llama-3.2-1B FFN down projection) per type, a
 * plain main (no JMH): GB/s of weight bytes streamed, one thread and all cores (a ForkJoinPool of
 * {@code availableProcessors()}), and its ratio to a memory-bandwidth baseline measured in the same
 * run (a Vector API sum over off-heap copies of the same size). Each type cycles through enough
 * copies of its matrix (at least 512 MiB in all) that the weights come from memory, not the cache.
 * Then the batched path: {@code matmul} with a batch of 32 against 32 {@code matvec} calls.
 *
 * <p>Not JMH: the figure is the ratio to the baseline timed in the same run, beside the product.
 * Run from the repository root (JDK 25):
 * <pre>
 * ./ckv bench matvec [quick] [TYPE ...]
 * </pre>
 * Types default to F32, Q8_0, Q4_0, Q4_K, Q6_K; {@code quick} times fewer repetitions.
 */
public final class MatvecBenchmark {

    static final int ROWS = 2048;
    static final int COLS = 8192;
    static final long WORKING_SET = 512L << 20;
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED;

    private MatvecBenchmark() {
    }

    /** Median seconds of {@code reps} timed rounds of {@code inner} calls, after a warm-up. */
    static double time(Runnable r, int inner, int reps) {
        for (int i = 0; i < inner * 2; i++) {
            r.run();
        }
        double[] t = new double[reps];
        for (int k = 0; k < reps; k++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < inner; i++) {
                r.run();
            }
            t[k] = (System.nanoTime() - t0) / 1e9 / inner;
        }
        Arrays.sort(t);
        return t[reps / 2];
    }

    static volatile long sink;

    /** Sums the bytes of [lo, hi) of a segment with the Vector API (XOR of 64-bit lanes, reads every byte). */
    static long sum(MemorySegment s, long lo, long hi) {
        var acc = ByteVector.zero(B).reinterpretAsLongs();
        long step = B.vectorByteSize();
        long o = lo;
        for (; o + 4 * step <= hi; o += 4 * step) {
            var a = ByteVector.fromMemorySegment(B, s, o, ByteOrder.LITTLE_ENDIAN).reinterpretAsLongs();
            var b = ByteVector.fromMemorySegment(B, s, o + step, ByteOrder.LITTLE_ENDIAN).reinterpretAsLongs();
            var c = ByteVector.fromMemorySegment(B, s, o + 2 * step, ByteOrder.LITTLE_ENDIAN).reinterpretAsLongs();
            var d = ByteVector.fromMemorySegment(B, s, o + 3 * step, ByteOrder.LITTLE_ENDIAN).reinterpretAsLongs();
            acc = acc.add(a.lanewise(VectorOperators.XOR, b)).add(c.lanewise(VectorOperators.XOR, d));
        }
        long r = acc.reduceLanes(VectorOperators.ADD);
        for (; o < hi; o++) {
            r += s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, o);
        }
        return r;
    }

    /** Reads every byte of {@code s}, split over the pool as matvec splits rows (4 ranges a worker). */
    public static void parallelSum(ForkJoinPool pool, MemorySegment s) {
        if (pool == null) {
            sink += sum(s, 0, s.byteSize());
            return;
        }
        int parts = pool.getParallelism() * 4;
        long chunk = (s.byteSize() / parts + 63) / 64 * 64;
        List<RecursiveAction> tasks = new ArrayList<>();
        for (int i = 0; i < parts; i++) {
            long lo = Math.min(s.byteSize(), i * chunk);
            long hi = Math.min(s.byteSize(), lo + chunk);
            tasks.add(new RecursiveAction() {
                @Override
                protected void compute() {
                    sink += sum(s, lo, hi);
                }
            });
        }
        pool.invoke(new RecursiveAction() {
            @Override
            protected void compute() {
                invokeAll(tasks);
            }
        });
    }

    public static void main(String[] args) {
        boolean quick = Arrays.asList(args).contains("quick");
        List<GgmlType> types = new ArrayList<>();
        for (String a : args) {
            if (!a.equals("quick")) {
                types.add(GgmlType.valueOf(a));
            }
        }
        if (types.isEmpty()) {
            types = List.of(GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K);
        }
        int reps = quick ? 3 : 7;
        int cores = Runtime.getRuntime().availableProcessors();
        ForkJoinPool pool = new ComputePool(cores, "bench-compute", ComputePool.DEFAULT_SPIN);
        System.out.printf(Locale.ROOT, "matvec %dx%d, %d cores, vector=%s, %s%n", ROWS, COLS, cores,
                WeightMatrix.vectorized(), Runtime.version());
        System.out.printf(Locale.ROOT, "%-5s %9s %7s | %-28s | %-28s%n", "type", "MiB", "copies",
                "1 thread: ms  GB/s  %mem", cores + " threads: ms  GB/s  %mem");
        float[] x = new float[COLS];
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < COLS; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        float[] out = new float[ROWS];
        List<String> batched = new ArrayList<>();
        for (GgmlType type : types) {
            long bytes = ROWS * type.bytesFor(COLS);
            int copies = (int) Math.max(2, (WORKING_SET + bytes - 1) / bytes);
            try (Arena arena = Arena.ofShared()) {
                MemorySegment first = arena.allocate(bytes, 64);
                long rowBytes = type.bytesFor(COLS);
                for (int r = 0; r < ROWS; r++) {
                    byte[] row = ReferenceBlocks.randomRow(type, COLS, rnd);
                    MemorySegment.copy(MemorySegment.ofArray(row), 0, first, r * rowBytes, rowBytes);
                }
                WeightMatrix[] ms = new WeightMatrix[copies];
                MemorySegment[] segs = new MemorySegment[copies];
                for (int c = 0; c < copies; c++) {
                    segs[c] = c == 0 ? first : arena.allocate(bytes, 64).copyFrom(first);
                    ms[c] = WeightMatrix.of(type, segs[c], ROWS, COLS);
                }
                int inner = copies * (quick ? 1 : 2);
                double[] ms1 = new double[2];
                double[] gbs = new double[2];
                double[] pct = new double[2];
                ForkJoinPool[] pools = {null, pool};
                for (int k = 0; k < 2; k++) {
                    ForkJoinPool p = pools[k];
                    int[] next = {0};
                    double base = time(() -> parallelSum(p, segs[next[0]++ % copies]), inner, reps);
                    double t = time(() -> ms[next[0]++ % copies].matvec(x, out, p), inner, reps);
                    ms1[k] = t * 1e3;
                    gbs[k] = bytes / t / 1e9;
                    pct[k] = 100 * base / t;
                }
                System.out.printf(Locale.ROOT, "%-5s %9.1f %7d | %8.2f %6.1f %5.0f%%       | %8.2f %6.1f %5.0f%%%n",
                        type, bytes / 1048576.0, copies, ms1[0], gbs[0], pct[0], ms1[1], gbs[1], pct[1]);
                // batched: one matrix, a batch of 32
                int batch = 32;
                float[] xb = new float[batch * COLS];
                for (int i = 0; i < xb.length; i++) {
                    xb[i] = (float) rnd.nextGaussian();
                }
                float[] ob = new float[batch * ROWS];
                WeightMatrix m = ms[0];
                double tMatmul = time(() -> m.matmul(xb, batch, ob, pool), 2, reps);
                float[] xs = new float[COLS];
                double tLoop = time(() -> {
                    for (int b = 0; b < batch; b++) {
                        System.arraycopy(xb, b * COLS, xs, 0, COLS);
                        m.matvec(xs, out, pool);
                    }
                }, 2, reps);
                double flops = 2.0 * batch * ROWS * COLS;
                batched.add(String.format(Locale.ROOT, "%-5s matmul(32) %8.2f ms %6.1f GFLOP/s | 32 x matvec %8.2f ms"
                        + " %6.1f GFLOP/s | speed-up %.1fx", type, tMatmul * 1e3, flops / tMatmul / 1e9, tLoop * 1e3,
                        flops / tLoop / 1e9, tLoop / tMatmul));
            }
        }
        System.out.println();
        System.out.println("batch of 32 on " + cores + " threads:");
        batched.forEach(System.out::println);
        pool.shutdown();
    }
}

package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.decode.ReferenceDecoder;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.tensor.ComputePool;
import io.clusterkv.runtime.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.ForkJoinPool;

/**
 * Where a depth-0 decode step of a model goes, a plain main: per kind of weight matrix ({@code wq},
 * {@code wk}, {@code wv}, {@code wo}, {@code gate}, {@code up}, {@code down}, the classifier), the
 * time of its matrix-vector products over all layers, called in the order of a decode step so that
 * every matrix comes from memory as it does in decoding; beside it, a whole decode step
 * ({@code ReferenceDecoder}, 32 steps after a 16-token prompt) and a 1 GiB read on the same pool. The
 * gap between the step and the sum of the products is everything else (norms, RoPE, attention at
 * depth 0, the hand-offs between products). Median of the rounds, in ms per token.
 *
 * <p>Run from the repository root (JDK 25), on any GGUF file or {@code synthetic:<shape>[:<type>]}:
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx4g \
 *      -cp examples/target/ckv.jar io.clusterkv.runtime.bench.WeightProfile MODEL [ROUNDS] [THREADS]
 * </pre>
 */
public final class WeightProfile {

    private static final String[] KINDS = {"wq", "wk", "wv", "wo", "gate", "up", "down", "output"};

    private WeightProfile() {
    }

    private static WeightMatrix matrix(LlamaModel m, int layer, int kind) {
        if (kind == 7) {
            return m.output();
        }
        LlamaModel.Layer y = m.layer(layer);
        return switch (kind) {
            case 0 -> y.wq();
            case 1 -> y.wk();
            case 2 -> y.wv();
            case 3 -> y.wo();
            case 4 -> y.gate();
            case 5 -> y.up();
            default -> y.down();
        };
    }

    /** Adds to {@code ns[kind]} the nanoseconds of each kind's products over one decode step's order. */
    private static void products(LlamaModel m, ForkJoinPool pool, float[] x, float[] out, long[] ns) {
        int layers = m.config().layers();
        for (int l = 0; l <= layers; l++) {
            for (int kind = 0; kind < KINDS.length; kind++) {
                if ((l == layers) != (kind == 7)) {
                    continue;
                }
                WeightMatrix w = matrix(m, Math.min(l, layers - 1), kind);
                long t0 = System.nanoTime();
                w.matvec(x, out, pool);
                ns[kind] += System.nanoTime() - t0;
            }
        }
    }

    static double decodeMs(LlamaModel m, ForkJoinPool pool) {
        try (ReferenceDecoder g = new ReferenceDecoder(m, io.clusterkv.runtime.kv.KvFormat.F32, pool)) {
            int token = Sampler.argmax(g.prefill(DecodeBenchmark.prompt(16, m.config().vocab())));
            long t0 = System.nanoTime();
            for (int i = 0; i < 32; i++) {
                token = Sampler.argmax(g.next(token));
            }
            return (System.nanoTime() - t0) / 1e6 / 32;
        }
    }

    public static void main(String[] args) throws Exception {
        String model = args[0];
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : Runtime.getRuntime().availableProcessors();
        ForkJoinPool pool = new ComputePool(threads, "bench-compute", ComputePool.DEFAULT_SPIN);
        try (LlamaModel m = Models.load(model); Arena arena = Arena.ofShared()) {
            int width = Math.max(m.config().hiddenDim(), m.config().qDim());
            float[] x = new float[width];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) Math.sin(i * 0.37);
            }
            float[] out = new float[Math.max(m.config().vocab(), width)];
            MemorySegment big = arena.allocate(DecodeBenchmark.BASELINE_BYTES, 64);
            for (long o = 0; o < big.byteSize(); o += 4096) {
                big.set(ValueLayout.JAVA_BYTE, o, (byte) o);
            }
            long bytes = DecodeBenchmark.streamedBytesPerToken(m);
            for (int w = 0; w < 3; w++) {
                products(m, pool, x, out, new long[KINDS.length]);
                decodeMs(m, pool);
            }
            double[][] kindMs = new double[KINDS.length][rounds];
            double[] step = new double[rounds];
            double[] sum = new double[rounds];
            double[] base = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                MatvecBenchmark.parallelSum(pool, big);
                base[r] = DecodeBenchmark.BASELINE_BYTES / ((System.nanoTime() - t0) / 1e9) / 1e9;
                long[] ns = new long[KINDS.length];
                int reps = 4;
                for (int k = 0; k < reps; k++) {
                    products(m, pool, x, out, ns);
                }
                for (int kind = 0; kind < KINDS.length; kind++) {
                    kindMs[kind][r] = ns[kind] / 1e6 / reps;
                    sum[r] += kindMs[kind][r];
                }
                step[r] = decodeMs(m, pool);
            }
            System.out.printf(Locale.ROOT, "%s, %d threads, %.1f MB of weights per token, %d rounds, load %s%n", model,
                    threads, bytes / 1e6, rounds, loadAverage());
            System.out.printf(Locale.ROOT, "  baseline (1 GiB read) %.2f GB/s [%.2f, %.2f]%n", DecodeBench.median(base),
                    min(base), max(base));
            for (int kind = 0; kind < KINDS.length; kind++) {
                WeightMatrix w = matrix(m, 0, kind);
                long kb = kind == 7 ? w.data().byteSize() : w.data().byteSize() * m.config().layers();
                double ms = DecodeBench.median(kindMs[kind]);
                System.out.printf(Locale.ROOT, "  %-7s %-5s %6d x %-5d %7.2f ms  %6.2f GB/s%n", KINDS[kind], w.type(),
                        w.rows(), w.cols(), ms, kb / ms / 1e6);
            }
            var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            long a0 = mx.getTotalThreadAllocatedBytes();
            products(m, pool, x, out, new long[KINDS.length]);
            long a1 = mx.getTotalThreadAllocatedBytes();
            System.out.printf(Locale.ROOT, "  heap allocated by one pass of the products (all threads): %d bytes%n", a1 - a0);
            double s = DecodeBench.median(sum);
            double d = DecodeBench.median(step);
            System.out.printf(Locale.ROOT, "  products %.2f ms (%.2f GB/s); decode step %.2f ms = %.2f tok/s [%.2f, %.2f];"
                    + " rest %.2f ms%n", s, bytes / s / 1e6, d, 1000 / d, 1000 / max(step), 1000 / min(step), d - s);
        } finally {
            pool.shutdown();
        }
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(Double.NaN);
    }

    /** @return the system load average, for the record */
    private static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "?";
        }
    }
}

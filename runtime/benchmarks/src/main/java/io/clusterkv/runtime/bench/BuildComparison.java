package io.clusterkv.runtime.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;

/**
 * Before/after comparisons on a noisy shared machine: the runtime classes of several builds (each a
 * compiled checkout, before or after the runtime's split into modules: see {@link BuildClasses}), each
 * in its own class loader, measured in one JVM and
 * interleaved trial by trial, every trial also timing the memory-bandwidth baseline of
 * {@link MatvecBenchmark#parallelSum}. The load of other processes then hits every build alike, and
 * each trial's ratio to its own baseline is reported as a median with its quartiles.
 * <ul>
 * <li>{@code matvec TYPE THREADS TRIALS BUILD...}: a 2048x8192 matvec ({@code -Drows=R -Dcols=C} for
 * another shape) of the random rows of {@link MatvecBenchmark}, the same bytes for every build, over
 * copies totalling at least 512 MiB, on a pool of {@code THREADS} (1: the calling thread). Per build: median ms and GB/s of weights,
 * and % of the trial's baseline.
 * <li>{@code decode TYPE ROUNDS BUILD...}: {@code synthetic:llama-1b} built once per build, then per
 * round a 1 GiB baseline read and {@link DecodeBenchmark#decodeSecondsPerToken} for each build.
 * Per build: median tokens/s with min and max, weight bytes streamed per second as % of the
 * round's baseline, and the median (min, max) of its per-round ratio to the first build.
 * <li>{@code -Dmodel=FILE} (decode and prefill): every build loads that model file ({@code Models.load},
 * e.g. a GGUF that llama.cpp runs too) instead of building {@code synthetic:llama-1b}; TYPE is then a
 * label only.
 * <li>{@code matmul TYPE THREADS TRIALS BUILD...}: a batched product of a 2048x8192 matrix
 * ({@code -Drows=R -Dcols=C}; {@code -Dbatch=B}, default 64, a prefill chunk) of random weights, the
 * same for every build, with random inputs, on a pool of {@code THREADS} (1: the calling thread), three
 * products a trial. Per build: median ms with min and max, GFLOP/s, and the median (min, max) of the
 * per-trial speed-up over the first build.
 * <li>{@code prefill TYPE ROUNDS BUILD...}: {@code synthetic:llama-1b} built once per build, then per
 * round {@link DecodeBenchmark#prefillSeconds} of a {@value DecodeBenchmark#PREFILL}-token prompt for
 * each build, in turn. Per build: median tokens/s with min and max, and the median (min, max) of its
 * per-round ratio to the first build.
 * </ul>
 *
 * <p>Run from the repository root (JDK 25), for example against the commit before a change
 * ({@code ckv.jar} holds this tool; the builds compared are the checkouts named last):
 * <pre>
 * git worktree add /tmp/base BASE &amp;&amp; (cd /tmp/base &amp;&amp; ./mvnw -B -q -o test-compile)
 * ./mvnw -B -q -o -DskipTests package
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx8g \
 *      -cp examples/target/ckv.jar io.clusterkv.runtime.bench.BuildComparison matvec Q8_0 2 60 /tmp/base .
 * </pre>
 */
public final class BuildComparison {

    /** Matrix shape of {@code matvec}: system properties {@code rows} and {@code cols}. */
    static final int ROWS = Integer.getInteger("rows", 2048);
    static final int COLS = Integer.getInteger("cols", 8192);

    private BuildComparison() {
    }

    static Object ggmlType(ClassLoader l, String type) throws Exception {
        Class<?> gt = l.loadClass("io.clusterkv.runtime.tensor.GgmlType");
        return gt.getMethod("valueOf", String.class).invoke(null, type.toUpperCase(Locale.ROOT));
    }

    static String name(String build) {
        String n = Path.of(build).toAbsolutePath().normalize().getFileName().toString();
        return n.isEmpty() ? build : n;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    static double quantile(double[] v, double q) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[(int) Math.min(s.length - 1, Math.round(q * (s.length - 1)))];
    }

    static void matvec(String type, int threads, int trials, List<String> builds) throws Throwable {
        ForkJoinPool pool = threads > 1 ? new ForkJoinPool(threads) : null;
        int n = builds.size();
        MethodHandle[] matvec = new MethodHandle[n];
        Object[][] matrices = new Object[n][];
        MemorySegment[] copies = null;
        long bytes = 0;
        try (Arena arena = Arena.ofShared()) {
            for (int j = 0; j < n; j++) {
                ClassLoader l = BuildClasses.loader(builds.get(j));
                Object t = ggmlType(l, type);
                Class<?> gt = t.getClass();
                Class<?> wm = l.loadClass("io.clusterkv.runtime.tensor.WeightMatrix");
                long rowBytes = (long) gt.getMethod("bytesFor", long.class).invoke(t, (long) COLS);
                bytes = ROWS * rowBytes;
                if (copies == null) { // random rows as MatvecBenchmark draws them, the same bytes for every build
                    copies = new MemorySegment[(int) Math.max(2, ((512L << 20) + bytes - 1) / bytes)];
                    copies[0] = arena.allocate(bytes, 64);
                    Method randomRow = BuildClasses.load(l, BuildClasses.REFERENCE_BLOCKS)
                            .getDeclaredMethod("randomRow", gt, int.class, SplittableRandom.class);
                    randomRow.setAccessible(true);
                    SplittableRandom rnd = new SplittableRandom(1);
                    for (int r = 0; r < ROWS; r++) {
                        byte[] row = (byte[]) randomRow.invoke(null, t, COLS, rnd);
                        MemorySegment.copy(MemorySegment.ofArray(row), 0, copies[0], r * rowBytes, rowBytes);
                    }
                    for (int c = 1; c < copies.length; c++) {
                        copies[c] = arena.allocate(bytes, 64).copyFrom(copies[0]);
                    }
                }
                Method of = wm.getMethod("of", gt, MemorySegment.class, int.class, int.class);
                matrices[j] = new Object[copies.length];
                for (int c = 0; c < copies.length; c++) {
                    matrices[j][c] = of.invoke(null, t, copies[c], ROWS, COLS);
                }
                matvec[j] = MethodHandles.publicLookup().findVirtual(wm, "matvec",
                        MethodType.methodType(void.class, float[].class, float[].class, ForkJoinPool.class));
            }
            float[] x = new float[COLS];
            SplittableRandom rnd = new SplittableRandom(2);
            for (int i = 0; i < COLS; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[][] out = new float[n][ROWS];
            double[] base = new double[trials];
            double[][] t = new double[n][trials];
            int next = 0;
            for (int k = -trials / 3 - 5; k < trials; k++) { // the first third of a run is warm-up
                MemorySegment s = copies[next++ % copies.length];
                long t0 = System.nanoTime();
                MatvecBenchmark.parallelSum(pool, s);
                double b = (System.nanoTime() - t0) / 1e9;
                for (int j = 0; j < n; j++) {
                    int c = next++ % copies.length;
                    t0 = System.nanoTime();
                    matvec[j].invoke(matrices[j][c], x, out[j], pool);
                    if (k >= 0) {
                        t[j][k] = (System.nanoTime() - t0) / 1e9;
                    }
                }
                if (k >= 0) {
                    base[k] = b;
                }
            }
            System.out.printf(Locale.ROOT, "matvec %s %dx%d (%.1f MiB, %d copies), %s, %d trials; baseline median %.2f"
                    + " GB/s%n", type, ROWS, COLS, bytes / 1048576.0, copies.length,
                    threads > 1 ? threads + " threads" : "1 thread", trials, bytes / median(base) / 1e9);
            for (int j = 0; j < n; j++) {
                double[] pct = new double[trials];
                for (int k = 0; k < trials; k++) {
                    pct[k] = 100 * base[k] / t[j][k];
                }
                System.out.printf(Locale.ROOT, "  %-16s %7.3f ms  %5.1f GB/s  %% of the trial's baseline:"
                        + " median %3.0f%% [quartiles %3.0f%%, %3.0f%%]%n", name(builds.get(j)), median(t[j]) * 1e3,
                        bytes / median(t[j]) / 1e9, median(pct), quantile(pct, 0.25), quantile(pct, 0.75));
            }
            printDifferences(out, builds);
        } finally {
            if (pool != null) {
                pool.shutdown();
            }
        }
    }

    /** Prints, for every build after the first, the largest difference of its outputs from the first build's. */
    private static void printDifferences(float[][] outs, List<String> builds) {
        for (int j = 1; j < outs.length; j++) {
            double max = 0;
            double maxOut = 0;
            for (int i = 0; i < outs[0].length; i++) {
                max = Math.max(max, Math.abs(outs[j][i] - outs[0][i]));
                maxOut = Math.max(maxOut, Math.abs(outs[0][i]));
            }
            System.out.printf(Locale.ROOT, "  max |%s - %s| = %.3g (max |out| %.3g)%n", name(builds.get(j)),
                    name(builds.get(0)), max, maxOut);
        }
    }

    /** @return the benchmark's synthetic model, in that build's classes, with weights of {@code type} */
    private static Object syntheticModel(ClassLoader l, String type) throws Throwable {
        String file = System.getProperty("model");
        if (file != null) { // -Dmodel=FILE.gguf: the same file in every build; TYPE is only a label
            return l.loadClass("io.clusterkv.runtime.model.Models").getMethod("load", String.class).invoke(null, file);
        }
        Object t = ggmlType(l, type);
        long seed = l.loadClass("io.clusterkv.runtime.model.Models").getField("SYNTHETIC_SEED").getLong(null);
        return l.loadClass("io.clusterkv.runtime.model.SyntheticModels")
                .getMethod("create", String.class, t.getClass(), long.class)
                .invoke(null, DecodeBenchmark.MODEL, t, seed);
    }

    /**
     * A {@code DecodeBenchmark} method of the build behind {@code l}, made accessible: its first parameter
     * the build's {@code LlamaModel}, then {@code more}.
     */
    private static Method benchmarkMethod(ClassLoader l, String name, Class<?>... more) throws Exception {
        Class<?>[] params = new Class<?>[more.length + 1];
        params[0] = l.loadClass("io.clusterkv.runtime.model.LlamaModel");
        System.arraycopy(more, 0, params, 1, more.length);
        Method m = BuildClasses.load(l, BuildClasses.DECODE_BENCHMARK).getDeclaredMethod(name, params);
        m.setAccessible(true);
        return m;
    }

    static void decode(String type, int rounds, List<String> builds) throws Throwable {
        int cores = Runtime.getRuntime().availableProcessors();
        ForkJoinPool pool = new ForkJoinPool(cores);
        int n = builds.size();
        List<AutoCloseable> models = new ArrayList<>();
        Method[] decode = new Method[n];
        long bytes = 0;
        try (Arena arena = Arena.ofShared()) {
            for (int j = 0; j < n; j++) {
                ClassLoader l = BuildClasses.loader(builds.get(j));
                long t0 = System.nanoTime();
                Object m = syntheticModel(l, type);
                models.add((AutoCloseable) m);
                bytes = (long) benchmarkMethod(l, "streamedBytesPerToken").invoke(null, m);
                decode[j] = benchmarkMethod(l, "decodeSecondsPerToken", ForkJoinPool.class);
                decode[j].invoke(null, m, pool); // warm-up
                System.out.printf(Locale.ROOT, "%s: built and warmed up in %.1f s%n", name(builds.get(j)),
                        (System.nanoTime() - t0) / 1e9);
            }
            MemorySegment big = arena.allocate(DecodeBenchmark.BASELINE_BYTES, 64);
            for (long o = 0; o < big.byteSize(); o += 4096) {
                big.set(ValueLayout.JAVA_BYTE, o, (byte) o); // touch every page
            }
            MatvecBenchmark.parallelSum(pool, big);
            double[] base = new double[rounds];
            double[][] tps = new double[n][rounds];
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                MatvecBenchmark.parallelSum(pool, big);
                base[r] = DecodeBenchmark.BASELINE_BYTES / ((System.nanoTime() - t0) / 1e9) / 1e9;
                for (int j = 0; j < n; j++) {
                    tps[j][r] = 1 / (double) decode[j].invoke(null, models.get(j), pool);
                }
            }
            System.out.printf(Locale.ROOT, "decode %s %s, %d cores, %.1f MB of weights per token, %d rounds; baseline"
                    + " (1 GiB read, %d threads) median %.2f GB/s [%.2f, %.2f]%n", DecodeBenchmark.MODEL, type, cores,
                    bytes / 1e6, rounds, cores, median(base), quantile(base, 0), quantile(base, 1));
            for (int j = 0; j < n; j++) {
                double[] pct = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    pct[r] = 100 * bytes * tps[j][r] / 1e9 / base[r];
                }
                double[] ratio = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    ratio[r] = tps[j][r] / tps[0][r];
                }
                System.out.printf(Locale.ROOT, "  %-16s %5.2f tokens/s [%.2f, %.2f]  %5.2f GB/s of weights"
                        + "  %% of the round's baseline: median %3.0f%% [%3.0f%%, %3.0f%%]  x first build: median %.2f"
                        + " [%.2f, %.2f]%n", name(builds.get(j)), median(tps[j]), quantile(tps[j], 0),
                        quantile(tps[j], 1), bytes * median(tps[j]) / 1e9, median(pct), quantile(pct, 0),
                        quantile(pct, 1), median(ratio), quantile(ratio, 0), quantile(ratio, 1));
            }
        } finally {
            for (AutoCloseable m : models) {
                m.close();
            }
            pool.shutdown();
        }
    }

    static void matmul(String type, int threads, int trials, List<String> builds) throws Throwable {
        int batch = Integer.getInteger("batch", 64);
        ForkJoinPool pool = threads > 1 ? new ForkJoinPool(threads) : null;
        int n = builds.size();
        SplittableRandom rnd = new SplittableRandom(1);
        float[] src = new float[ROWS * COLS];
        for (int i = 0; i < src.length; i++) {
            src[i] = (float) (rnd.nextDouble() - 0.5);
        }
        float[] x = new float[batch * COLS];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rnd.nextDouble() - 0.5);
        }
        Object[] matrices = new Object[n];
        MethodHandle[] products = new MethodHandle[n];
        float[][] outs = new float[n][batch * ROWS];
        try (Arena arena = Arena.ofShared()) {
            for (int j = 0; j < n; j++) {
                ClassLoader l = BuildClasses.loader(builds.get(j));
                Object t = ggmlType(l, type);
                byte[] q = (byte[]) l.loadClass("io.clusterkv.runtime.tensor.Quantizer")
                        .getMethod("quantize", t.getClass(), float[].class).invoke(null, t, src);
                MemorySegment seg = arena.allocate(q.length, 64);
                MemorySegment.copy(MemorySegment.ofArray(q), 0, seg, 0, q.length);
                Class<?> wm = l.loadClass("io.clusterkv.runtime.tensor.WeightMatrix");
                matrices[j] = wm.getMethod("of", t.getClass(), MemorySegment.class, int.class, int.class)
                        .invoke(null, t, seg, ROWS, COLS);
                products[j] = MethodHandles.publicLookup().findVirtual(wm, "matmul",
                        MethodType.methodType(void.class, float[].class, int.class, float[].class, ForkJoinPool.class));
                for (int w = 0; w < 20; w++) {
                    products[j].invoke(matrices[j], x, batch, outs[j], pool); // warm-up
                }
            }
            double[][] ms = new double[n][trials];
            for (int r = 0; r < trials; r++) {
                for (int j = 0; j < n; j++) {
                    long t0 = System.nanoTime();
                    for (int k = 0; k < 3; k++) {
                        products[j].invoke(matrices[j], x, batch, outs[j], pool);
                    }
                    ms[j][r] = (System.nanoTime() - t0) / 3e6;
                }
            }
            System.out.printf(Locale.ROOT, "matmul %s %dx%d, batch %d, %d threads, %d trials%n", type, ROWS, COLS, batch,
                    threads, trials);
            for (int j = 0; j < n; j++) {
                double[] speedUp = new double[trials];
                for (int r = 0; r < trials; r++) {
                    speedUp[r] = ms[0][r] / ms[j][r];
                }
                System.out.printf(Locale.ROOT, "  %-16s %8.2f ms [%.2f, %.2f]  %6.1f GFLOP/s  speed-up over the first build:"
                        + " median %.2f [%.2f, %.2f]%n", name(builds.get(j)), median(ms[j]), quantile(ms[j], 0),
                        quantile(ms[j], 1), 2.0 * ROWS * COLS * batch / median(ms[j]) / 1e6, median(speedUp),
                        quantile(speedUp, 0), quantile(speedUp, 1));
            }
            printDifferences(outs, builds);
        } finally {
            if (pool != null) {
                pool.shutdown();
            }
        }
    }

    static void prefill(String type, int rounds, List<String> builds) throws Throwable {
        int cores = Runtime.getRuntime().availableProcessors();
        ForkJoinPool pool = new ForkJoinPool(cores);
        int n = builds.size();
        List<AutoCloseable> models = new ArrayList<>();
        Method[] prefill = new Method[n];
        try {
            for (int j = 0; j < n; j++) {
                ClassLoader l = BuildClasses.loader(builds.get(j));
                long t0 = System.nanoTime();
                Object m = syntheticModel(l, type);
                models.add((AutoCloseable) m);
                prefill[j] = benchmarkMethod(l, "prefillSeconds", ForkJoinPool.class, int.class);
                prefill[j].invoke(null, m, pool, DecodeBenchmark.PREFILL); // warm-up
                System.out.printf(Locale.ROOT, "%s: built and warmed up in %.1f s%n", name(builds.get(j)),
                        (System.nanoTime() - t0) / 1e9);
            }
            double[][] tps = new double[n][rounds];
            for (int r = 0; r < rounds; r++) {
                for (int j = 0; j < n; j++) {
                    double s = (double) prefill[j].invoke(null, models.get(j), pool, DecodeBenchmark.PREFILL);
                    tps[j][r] = DecodeBenchmark.PREFILL / s;
                }
            }
            System.out.printf(Locale.ROOT, "prefill %s %s, %d tokens, %d cores, %d rounds%n", DecodeBenchmark.MODEL,
                    type, DecodeBenchmark.PREFILL, cores, rounds);
            for (int j = 0; j < n; j++) {
                double[] ratio = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    ratio[r] = tps[j][r] / tps[0][r];
                }
                System.out.printf(Locale.ROOT, "  %-16s %6.2f tokens/s [%.2f, %.2f]  x first build: median %.2f [%.2f,"
                        + " %.2f]%n", name(builds.get(j)), median(tps[j]), quantile(tps[j], 0), quantile(tps[j], 1),
                        median(ratio), quantile(ratio, 0), quantile(ratio, 1));
            }
        } finally {
            for (AutoCloseable m : models) {
                m.close();
            }
            pool.shutdown();
        }
    }

    public static void main(String[] args) throws Throwable {
        String usage = "usage: BuildComparison matvec TYPE THREADS TRIALS BUILD... | matmul TYPE THREADS TRIALS BUILD..."
                + " | decode TYPE ROUNDS BUILD... | prefill TYPE ROUNDS BUILD...";
        if (args.length < 4) {
            System.err.println(usage);
            return;
        }
        switch (args[0]) {
            case "matvec" -> {
                if (args.length < 5) {
                    System.err.println(usage);
                    return;
                }
                matvec(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                        List.of(args).subList(4, args.length));
            }
            case "matmul" -> {
                if (args.length < 5) {
                    System.err.println(usage);
                    return;
                }
                matmul(args[1], Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                        List.of(args).subList(4, args.length));
            }
            case "decode" -> decode(args[1], Integer.parseInt(args[2]), List.of(args).subList(3, args.length));
            case "prefill" -> prefill(args[1], Integer.parseInt(args[2]), List.of(args).subList(3, args.length));
            default -> System.err.println(usage);
        }
    }
}

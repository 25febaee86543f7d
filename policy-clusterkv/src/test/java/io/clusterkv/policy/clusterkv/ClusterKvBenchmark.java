package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Benchmarks of the ClusterKV policy, a plain main (no JMH): each case is warmed up, then timed several
 * times, and the median, min and max are printed. Everything runs on the calling thread (one core).
 *
 * <ol>
 *   <li><b>Prompt clustering</b>: 32768 keys of dimension 128 into 400 clusters, 20 Lloyd iterations
 *       from random keys (the paper's build), with GFLOP/s counting {@code 2·n·C·d} per iteration for
 *       the assignment; beside it the cheaper builds (k-means++ with 5 iterations and early stop,
 *       mini-batch, 5 plain iterations) with their time and k-means objective (mean cosine of a key
 *       to its centroid).</li>
 *   <li><b>Selection</b>: {@code select} at a 32k context with the paper's 410 prompt clusters (plus a
 *       1600-cluster index), 4 query heads (GQA), budgets 256 and 1024: time per query head, and heap
 *       bytes allocated per call (0 expected).</li>
 *   <li><b>Quality</b>: default against {@code adaptive-clusters} and the cheaper builds on a
 *       synthetic topic workload, budgets 256, 1024 and 2048: top-B recall
 *       ({@code |TopB(q·K) ∩ S| / B}), attention mass recalled ({@code Σ softmax(q·k/√d)} over S, sinks
 *       included) and build time.</li>
 * </ol>
 *
 * Run from the repository root (JDK 25):
 * <pre>
 * ./mvnw -q -pl policy-clusterkv -am test-compile
 * java --add-modules jdk.incubator.vector -Xmx4g \
 *      -cp policy-clusterkv/target/test-classes:policy-clusterkv/target/classes:policies-spi/target/classes \
 *      io.clusterkv.policy.clusterkv.ClusterKvBenchmark
 * </pre>
 * Arguments: {@code quick} for fewer repetitions; {@code clustering}, {@code selection} or
 * {@code quality} to run only those sections. Prefix with {@code taskset -c 1} to pin the
 * timed thread's core on a shared machine.
 */
public final class ClusterKvBenchmark {

    private static final int N = 32768;
    private static final int D = 128;
    private static final int C = 400;

    private ClusterKvBenchmark() {
    }

    /** Median, min and max of timed runs, in seconds. */
    record Timing(double median, double min, double max) {
        static Timing of(double[] seconds) {
            double[] s = seconds.clone();
            Arrays.sort(s);
            return new Timing(s[s.length / 2], s[0], s[s.length - 1]);
        }

        String ms() {
            return String.format(Locale.ROOT, "%9.1f ms (min %.1f, max %.1f)", median * 1e3, min * 1e3, max * 1e3);
        }
    }

    static Timing time(int warmup, int runs, Runnable body) {
        for (int i = 0; i < warmup; i++) {
            body.run();
        }
        double[] s = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            body.run();
            s[i] = (System.nanoTime() - t0) * 1e-9;
        }
        return Timing.of(s);
    }

    public static void main(String[] args) {
        java.util.List<String> a = java.util.List.of(args);
        boolean quick = a.contains("quick");
        boolean all = !a.contains("clustering") && !a.contains("selection") && !a.contains("quality");
        int warmup = quick ? 1 : 2;
        int runs = quick ? 3 : 5;
        System.out.printf(Locale.ROOT, "JDK %s, %s, vector species %s (%d lanes)%n", Runtime.version(),
                System.getProperty("os.arch"), SimilarityKernels.SPECIES, SimilarityKernels.LANES);
        if (all || a.contains("clustering")) {
            clustering(warmup, runs);
        }
        if (all || a.contains("selection")) {
            selection(quick);
        }
        if (all || a.contains("quality")) {
            quality();
        }
    }

    // ---- 1. prompt clustering ----

    private static void clustering(int warmup, int runs) {
        int[] truth = new int[N];
        float[] keys = TestKeys.planted(N, D, 1024, 1.0, 11, truth);
        double flopsPerIteration = 2.0 * N * C * D;
        System.out.printf(Locale.ROOT, "%n1. Prompt clustering: n=%d, d=%d, C=%d, one thread%n", N, D, C);
        record Build(String name, KMeans.Settings settings, double assignmentPasses) {
        }
        Build[] builds = {
                new Build("paper: lloyd, random, 20 it", KMeans.Settings.PAPER, 20),
                new Build("lloyd, k-means++ (4096 sample), 5 it, early-stop",
                        new KMeans.Settings(5, KMeans.Init.K_MEANS_PLUS_PLUS, true, KMeans.Algorithm.LLOYD, 1024, 4096),
                        5 + 4096.0 / N),
                new Build("mini-batch 1024, random, 20 steps",
                        new KMeans.Settings(20, KMeans.Init.RANDOM, false, KMeans.Algorithm.MINI_BATCH, 1024, 4096),
                        20 * 1024.0 / N + 1),
                new Build("lloyd, random, 5 it",
                        new KMeans.Settings(5, KMeans.Init.RANDOM, false, KMeans.Algorithm.LLOYD, 1024, 4096), 5),
        };
        double paperTime = 0;
        for (Build b : builds) {
            KMeans.Result[] last = new KMeans.Result[1];
            Timing t = time(warmup, runs, () -> last[0] = new KMeans(keys, N, D, C, b.settings(), 42).run());
            if (paperTime == 0) {
                paperTime = t.median();
            }
            double gflops = b.assignmentPasses() * flopsPerIteration / t.median() * 1e-9;
            System.out.printf(Locale.ROOT, "  %-50s %s  %6.1f GFLOP/s  x%.1f faster  iterations %2d  mean cos %.4f%n",
                    b.name(), t.ms(), gflops, paperTime / t.median(), last[0].iterations(),
                    KMeans.meanCosine(keys, N, D, last[0]));
        }
        // the assignment kernel alone: one pass of n x C x d
        float[] unit = new float[SimilarityKernels.paddedRows(N) * D];
        SimilarityKernels.normalizeRows(keys, 0, unit, 0, N, D);
        var packed = new SimilarityKernels.PackedCentroids(C, D);
        packed.load(Arrays.copyOf(keys, C * D));
        int[] labels = new int[unit.length / D];
        float[] best = new float[labels.length];
        Timing t = time(warmup * 3, runs * 3, () -> SimilarityKernels.assign(unit, N, D, packed, labels, best));
        System.out.printf(Locale.ROOT, "  %-50s %s  %6.1f GFLOP/s%n", "assignment kernel alone (one pass)", t.ms(),
                flopsPerIteration / t.median() * 1e-9);
    }

    // ---- 2. selection ----

    private static ClusterKvPolicy indexed(float[] keys, int n, Map<String, String> config, int budget, int heads) {
        ClusterKvPolicy policy = StepDriver.create(config, budget, heads, D, 7);
        KeyView view = KeyView.of(keys, n, D);
        policy.onPrompt(view);
        for (MaintenanceTask<?> task = policy.pollMaintenance(view).orElse(null); task != null;
             task = policy.pollMaintenance(view).orElse(null)) {
            MaintenanceTask.runNow(task);
        }
        return policy;
    }

    private static void selection(boolean quick) {
        int heads = 4;
        int[] truth = new int[N];
        float[] keys = TestKeys.planted(N, D, 1024, 1.0, 12, truth);
        KeyView view = KeyView.of(keys, N, D);
        float[] q = TestKeys.gaussian(64 * heads, D, 5); // 64 steps of (heads, d)
        System.out.printf(Locale.ROOT, "%n2. Selection: context %d, d=%d, %d query heads (GQA)%n", N, D, heads);
        for (String tpc : new String[] {"80", "20"}) {
            for (int budget : new int[] {256, 1024}) {
                ClusterKvPolicy policy = indexed(keys, N, Map.of("tokens-per-cluster", tpc), budget, heads);
                SelectionBuffer sel = new SelectionBuffer(heads, budget);
                float[] buf = new float[heads * D];
                Queries queries = Queries.wrap(buf, heads, D);
                int calls = quick ? 4000 : 20000;
                Runnable body = () -> {
                    for (int i = 0; i < calls; i++) {
                        System.arraycopy(q, (i & 63) * heads * D, buf, 0, heads * D);
                        sel.reset(budget, N);
                        policy.select(queries, view, budget, sel);
                    }
                };
                Timing t = time(2, 5, body);
                long a0 = allocatedBytes();
                body.run();
                long allocated = allocatedBytes() - a0;
                System.out.printf(Locale.ROOT, "  %4d clusters, budget %4d: %7.2f us per query head"
                                + " (min %.2f, max %.2f), %d bytes allocated per select%n",
                        policy.index().count(), budget, t.median() / calls / heads * 1e6, t.min() / calls / heads * 1e6,
                        t.max() / calls / heads * 1e6, allocated / calls);
            }
            // the scoring kernels alone: flat (C, d) rows one head at a time, against panels all heads at once
            ClusterIndex index = indexed(keys, N, Map.of("tokens-per-cluster", tpc), 1024, heads).index();
            int clusters = index.count();
            int stride = SimilarityKernels.blocks(clusters) * SimilarityKernels.LANES;
            float[] out = new float[heads * stride];
            int calls = quick ? 4000 : 20000;
            Timing flat = time(2, 5, () -> {
                for (int i = 0; i < calls; i++) {
                    for (int h = 0; h < heads; h++) {
                        SimilarityKernels.dotRows(q, ((i & 63) * heads + h) * D, index.centroids(), clusters, D, out);
                    }
                }
            });
            float[] buf = new float[heads * D];
            Timing panels = time(2, 5, () -> {
                for (int i = 0; i < calls; i++) {
                    System.arraycopy(q, (i & 63) * heads * D, buf, 0, heads * D);
                    SimilarityKernels.scorePanels(buf, heads, index.panels(), clusters, D, out, stride);
                }
            });
            System.out.printf(Locale.ROOT, "  %4d clusters, scoring only: flat (C, d) one head at a time %.2f us,"
                            + " panels %d heads per pass %.2f us, per query head%n", clusters,
                    flat.median() / calls / heads * 1e6, heads, panels.median() / calls / heads * 1e6);
        }
    }

    /**
     * Heap bytes this thread allocated so far, through {@code com.sun.management.ThreadMXBean}; looked up
     * reflectively because the test sources compile inside the policy's module, which reads neither
     * {@code java.management} nor {@code jdk.management} (the benchmark itself runs on the class path).
     */
    private static long allocatedBytes() {
        try {
            Object bean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
            return (long) Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes")
                    .invoke(bean);
        } catch (ReflectiveOperationException e) {
            return -1;
        }
    }

    // ---- 3. quality ----

    /** Keys around topic directions in runs, queries mixing two topics; a stand-in for real attention. */
    private static final class Workload {
        final int n;
        final float[] keys;    // (n, D)
        final float[] queries; // (count, D)
        final int count;

        Workload(int n, int count, long seed) {
            this.n = n;
            this.count = count;
            SplittableRandom rnd = new SplittableRandom(seed);
            int topics = 256;
            float[][] dirs = new float[topics][D];
            for (float[] u : dirs) {
                double norm = 0;
                for (int c = 0; c < D; c++) {
                    u[c] = (float) TestKeys.gaussian(rnd);
                    norm += u[c] * u[c];
                }
                for (int c = 0; c < D; c++) {
                    u[c] /= (float) Math.sqrt(norm);
                }
            }
            keys = new float[n * D];
            int topic = 0;
            for (int p = 0; p < n; p++) {
                if (rnd.nextInt(24) == 0) {
                    topic = rnd.nextInt(topics);
                }
                double scale = p < 4 ? 6 : 1 + rnd.nextDouble();
                for (int c = 0; c < D; c++) {
                    keys[p * D + c] = (float) (scale * (3 * dirs[topic][c] + TestKeys.gaussian(rnd) / Math.sqrt(D) * 2));
                }
            }
            queries = new float[count * D];
            for (int i = 0; i < count; i++) {
                int a = rnd.nextInt(topics);
                int b = rnd.nextInt(topics);
                for (int c = 0; c < D; c++) {
                    queries[i * D + c] = (float) (16 * dirs[a][c] + 8 * dirs[b][c] + 2 * TestKeys.gaussian(rnd) / Math.sqrt(D));
                }
            }
        }
    }

    private static void quality() {
        int n = 16384;
        Workload w = new Workload(n, 64, 3);
        KeyView view = KeyView.of(w.keys, n, D);
        System.out.printf(Locale.ROOT, "%n3. Quality: synthetic topics, context %d, d=%d, %d queries;"
                + " recall = |TopB ∩ S| / B, mass = attention mass in S%n", n, D, w.count);
        double[][] logits = new double[w.count][n];
        for (int i = 0; i < w.count; i++) {
            for (int p = 0; p < n; p++) {
                logits[i][p] = SimilarityKernels.dot(w.queries, i * D, w.keys, p * D, D) / Math.sqrt(D);
            }
        }
        record Variant(String name, Map<String, String> config) {
        }
        Variant[] variants = {
                new Variant("default (paper)", Map.of()),
                new Variant("adaptive-clusters", Map.of("adaptive-clusters", "true")),
                new Variant("k-means++, 5 it, early-stop",
                        Map.of("init", "k-means-plus-plus", "iterations", "5", "early-stop", "true")),
                new Variant("mini-batch 1024", Map.of("algorithm", "mini-batch")),
        };
        for (int budget : new int[] {256, 1024, 2048}) {
            for (Variant v : variants) {
                Supplier<ClusterKvPolicy> build = () -> indexed(w.keys, n, v.config(), budget, 1);
                ClusterKvPolicy[] policy = new ClusterKvPolicy[1];
                Timing t = time(0, 1, () -> policy[0] = build.get());
                double recall = 0;
                double mass = 0;
                SelectionBuffer sel = new SelectionBuffer(1, budget);
                float[] buf = new float[D];
                for (int i = 0; i < w.count; i++) {
                    System.arraycopy(w.queries, i * D, buf, 0, D);
                    sel.reset(budget, n);
                    policy[0].select(Queries.wrap(buf, 1, D), view, budget, sel);
                    boolean[] in = new boolean[n];
                    for (int j = 0; j < sel.head(0).size(); j++) {
                        in[sel.head(0).position(j)] = true;
                    }
                    recall += topRecall(logits[i], in, budget);
                    mass += mass(logits[i], in);
                }
                System.out.printf(Locale.ROOT, "  budget %4d  %-30s %5d clusters  build %7.1f ms  recall %.3f  mass %.3f%n",
                        budget, v.name(), policy[0].index().count(), t.median() * 1e3, recall / w.count, mass / w.count);
            }
        }
    }

    private static double topRecall(double[] logits, boolean[] in, int b) {
        Integer[] order = new Integer[logits.length];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, (x, y) -> Double.compare(logits[y], logits[x]));
        int hit = 0;
        for (int i = 0; i < b; i++) {
            hit += in[order[i]] ? 1 : 0;
        }
        return (double) hit / b;
    }

    private static double mass(double[] logits, boolean[] in) {
        double max = Arrays.stream(logits).max().orElse(0);
        double total = 0;
        double got = 0;
        for (int p = 0; p < logits.length; p++) {
            double e = Math.exp(logits[p] - max);
            total += e;
            got += in[p] ? e : 0;
        }
        return got / total;
    }
}

package io.clusterkv.policy.clusterkv;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH: one prompt clustering of {@value #N} keys of dimension {@value #D} into {@value #C} clusters,
 * on one thread. {@code cluster} runs each {@link KMeans} build: the paper's (20 Lloyd iterations from
 * random keys, the default) and the cheaper ones the configuration offers (k-means++ with 5 iterations
 * and early stop, mini-batch, 5 plain Lloyd iterations); {@code assignmentPass} one assignment of
 * every key to its nearest centroid ({@link SimilarityKernels#assign}), {@code 2·n·C·d} floating-point
 * operations, the work a Lloyd iteration repeats. The keys are planted around 1024 directions
 * ({@link TestKeys#planted}).
 *
 * <p>Run from the repository root (JDK 25); figures in {@code docs/BENCHMARKS.md}:
 * <pre>
 * ./mvnw -B -q -o -Pjmh -pl policy-clusterkv -am test-compile     # also writes target/jmh.classpath
 * java --add-modules jdk.incubator.vector \
 *      -cp policy-clusterkv/target/test-classes:policy-clusterkv/target/classes:$(cat policy-clusterkv/target/jmh.classpath) \
 *      org.openjdk.jmh.Main ClusteringBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class ClusteringBenchmark {

    static final int N = 32768;
    static final int D = 128;
    static final int C = 400;

    private float[] keys;                              // (N, D)
    private float[] unit;                              // (paddedRows(N), D) normalised keys
    private SimilarityKernels.PackedCentroids packed;  // C centroids: the first C keys
    private int[] labels;                              // (paddedRows(N))
    private float[] best;                              // (paddedRows(N))

    /** A k-means build, by the name its figure carries in the docs. */
    @State(Scope.Benchmark)
    public static class Build {
        @Param({"paper", "k-means++-5-early-stop", "mini-batch-1024", "lloyd-5"})
        public String build;

        KMeans.Settings settings;

        @Setup
        public void setUp() {
            settings = switch (build) {
                case "paper" -> KMeans.Settings.PAPER;
                case "k-means++-5-early-stop" ->
                        new KMeans.Settings(5, KMeans.Init.K_MEANS_PLUS_PLUS, true, KMeans.Algorithm.LLOYD, 1024, 4096);
                case "mini-batch-1024" ->
                        new KMeans.Settings(20, KMeans.Init.RANDOM, false, KMeans.Algorithm.MINI_BATCH, 1024, 4096);
                case "lloyd-5" -> new KMeans.Settings(5, KMeans.Init.RANDOM, false, KMeans.Algorithm.LLOYD, 1024, 4096);
                default -> throw new IllegalArgumentException("unknown build: " + build);
            };
        }
    }

    @Setup
    public void setUp() {
        keys = TestKeys.planted(N, D, 1024, 1.0, 11, new int[N]);
        unit = new float[SimilarityKernels.paddedRows(N) * D];
        SimilarityKernels.normalizeRows(keys, 0, unit, 0, N, D);
        packed = new SimilarityKernels.PackedCentroids(C, D);
        packed.load(Arrays.copyOf(keys, C * D));
        labels = new int[unit.length / D];
        best = new float[labels.length];
    }

    /** @return the labels, for the blackhole */
    @Benchmark
    public int[] cluster(Build build) {
        return new KMeans(keys, N, D, C, build.settings, 42).run().labels();
    }

    /** @return the labels, for the blackhole */
    @Benchmark
    public int[] assignmentPass() {
        SimilarityKernels.assign(unit, N, D, packed, labels, best);
        return labels;
    }
}

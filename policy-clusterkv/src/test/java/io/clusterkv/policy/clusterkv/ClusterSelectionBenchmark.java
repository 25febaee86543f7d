package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH: ClusterKV's {@code select} at a {@value #N}-position context, head dim {@value #D}, one GQA
 * group of {@value #HEADS} query heads, on one thread; every figure is per query head
 * ({@code @OperationsPerInvocation}). The prompt is indexed before timing (maintenance run to the end)
 * with {@code tokens-per-cluster} 80 (the paper's ≈ 410 clusters) or 20 (≈ 1640); the queries cycle
 * through 64 steps of random heads. {@code select} is the whole call at budgets 256 and 1024;
 * {@code scoreFlat} and {@code scorePanels} are its scoring kernels alone: the {@code (C, d)} centroid
 * rows one head at a time against the panels that score all heads in one pass. Heap bytes per call:
 * add {@code -prof gc} ({@code gc.alloc.rate.norm}, per query head like the times).
 *
 * <p>Run from the repository root (JDK 25); figures in {@code docs/BENCHMARKS.md}:
 * <pre>
 * ./mvnw -B -q -o -Pjmh -pl policy-clusterkv -am test-compile     # also writes target/jmh.classpath
 * java --add-modules jdk.incubator.vector \
 *      -cp policy-clusterkv/target/test-classes:policy-clusterkv/target/classes:$(cat policy-clusterkv/target/jmh.classpath) \
 *      org.openjdk.jmh.Main ClusterSelectionBenchmark -prof gc
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
@OperationsPerInvocation(ClusterSelectionBenchmark.HEADS)
public class ClusterSelectionBenchmark {

    static final int N = 32768;
    static final int D = 128;
    static final int HEADS = 4;
    static final int STEPS = 64;

    private final float[] keys = TestKeys.planted(N, D, 1024, 1.0, 12, new int[N]); // (N, D)
    private final KeyView view = KeyView.of(keys, N, D);
    private final float[] steps = TestKeys.gaussian(STEPS * HEADS, D, 5);          // (STEPS, HEADS, D)
    private final float[] query = new float[HEADS * D];                           // (HEADS, D)
    private final Queries queries = Queries.wrap(query, HEADS, D);
    private int step;

    /** The policy under {@code select}: its index and its budget. */
    @State(Scope.Thread)
    public static class Indexed {
        @Param({"80", "20"})
        public int tokensPerCluster;

        @Param({"256", "1024"})
        public int budget;

        ClusterKvPolicy policy;
        SelectionBuffer selection;

        @Setup
        public void setUp(ClusterSelectionBenchmark b) {
            policy = indexed(b, tokensPerCluster, budget);
            selection = new SelectionBuffer(HEADS, budget);
        }
    }

    /** The centroids alone, flat and in panels, with the scores' buffer. */
    @State(Scope.Thread)
    public static class Centroids {
        @Param({"80", "20"})
        public int tokensPerCluster;

        ClusterIndex index;
        int stride;
        float[] scores; // (HEADS, stride)

        @Setup
        public void setUp(ClusterSelectionBenchmark b) {
            index = indexed(b, tokensPerCluster, 1024).index();
            stride = SimilarityKernels.blocks(index.count()) * SimilarityKernels.LANES;
            scores = new float[HEADS * stride];
        }
    }

    private static ClusterKvPolicy indexed(ClusterSelectionBenchmark b, int tokensPerCluster, int budget) {
        ClusterKvPolicy policy = StepDriver.create(Map.of("tokens-per-cluster", Integer.toString(tokensPerCluster)),
                budget, HEADS, D, 7);
        policy.onPrompt(b.view);
        for (MaintenanceTask<?> task = policy.pollMaintenance(b.view).orElse(null); task != null;
             task = policy.pollMaintenance(b.view).orElse(null)) {
            MaintenanceTask.runNow(task);
        }
        return policy;
    }

    /** @return the offset of the next step's {@code (HEADS, D)} queries in {@link #steps} */
    private int nextStep() {
        step = (step + 1) % STEPS;
        return step * HEADS * D;
    }

    /** @return the selection, for the blackhole */
    @Benchmark
    public SelectionBuffer select(Indexed p) {
        System.arraycopy(steps, nextStep(), query, 0, HEADS * D);
        p.selection.reset(p.budget, N);
        p.policy.select(queries, view, p.budget, p.selection);
        return p.selection;
    }

    /** @return the scores, for the blackhole */
    @Benchmark
    public float[] scoreFlat(Centroids c) {
        int offset = nextStep();
        for (int h = 0; h < HEADS; h++) {
            SimilarityKernels.dotRows(steps, offset + h * D, c.index.centroids(), c.index.count(), D, c.scores);
        }
        return c.scores;
    }

    /** @return the scores, for the blackhole */
    @Benchmark
    public float[] scorePanels(Centroids c) {
        System.arraycopy(steps, nextStep(), query, 0, HEADS * D);
        SimilarityKernels.scorePanels(query, HEADS, c.index.panels(), c.index.count(), D, c.scores, c.stride);
        return c.scores;
    }
}

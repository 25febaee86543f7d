package io.clusterkv.runtime.bench;

import java.util.concurrent.ForkJoinPool;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The memory-bandwidth baseline of {@link ExactAttentionBenchmark}: a plain Vector API sum over an
 * off-heap segment of each K+V size it reads (1 to 32 MiB), one thread and all cores.
 *
 * <p>Run with the report: {@code ./ckv bench attention}; alone: {@code ./ckv bench jmh StreamBaselineBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class StreamBaselineBenchmark {

    /** Segment size in MiB: the K+V bytes of every shape {@link ExactAttentionBenchmark} measures. */
    @Param({"1", "2", "4", "8", "16", "32"})
    public int mebibytes;

    private ForkJoinPool pool;
    private StreamBaseline baseline;

    @Setup
    public void setUp() {
        pool = new ForkJoinPool(ExactAttentionBenchmark.THREADS);
        baseline = new StreamBaseline(mebibytes * 1048576L, ExactAttentionBenchmark.THREADS);
    }

    @TearDown
    public void tearDown() {
        baseline.close();
        pool.close();
    }

    @Benchmark
    public float streamSingle() {
        return baseline.sum();
    }

    @Benchmark
    public float streamAllCores() {
        return baseline.sum(pool);
    }
}

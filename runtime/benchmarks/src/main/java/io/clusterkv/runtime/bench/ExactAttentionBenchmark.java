package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.attention.Attention;
import io.clusterkv.runtime.attention.AttentionScratch;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import java.util.Random;
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
 * Exact attention of one GQA group (4 query heads) over a whole shard, one thread and all cores
 * ({@link Attention#exactParallel} on a pool of one thread per core). Bandwidth is K+V bytes stored
 * / time; {@link AttentionBenchmarkReport} prints it beside {@link StreamBaselineBenchmark} over the
 * same number of bytes.
 *
 * <p>Run everything with the report: {@code ./ckv bench attention}. Run this class alone with JMH's
 * own output: {@code ./ckv bench jmh ExactAttentionBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ExactAttentionBenchmark {

    /** Query heads of the group. */
    public static final int HEADS = 4;
    /** Threads of the pool, and tasks of the all-cores runs. */
    public static final int THREADS = Runtime.getRuntime().availableProcessors();

    @Param({"4096", "32768"})
    public int positions;

    @Param({"64", "128"})
    public int headDim;

    @Param({"F32", "F16"})
    public KvFormat format;

    private KvShard shard;
    private KvShard.View kv;
    private Queries queries;
    private float[] out;
    private AttentionScratch scratch;
    private ForkJoinPool pool;

    @Setup
    public void setUp() {
        shard = filledShard(positions, headDim, format, 1);
        kv = shard.snapshot();
        queries = randomQueries(HEADS, headDim, 2);
        out = new float[HEADS * headDim];
        scratch = new AttentionScratch();
        pool = new ForkJoinPool(THREADS);
    }

    @TearDown
    public void tearDown() {
        pool.close();
        shard.close();
    }

    /** @return K+V bytes stored for the parameters */
    public static long kvBytes(int positions, int headDim, KvFormat format) {
        return 2L * positions * headDim * format.bytes();
    }

    static KvShard filledShard(int positions, int headDim, KvFormat format, long seed) {
        Random r = new Random(seed);
        KvShard s = new KvShard(headDim, format);
        float[] k = new float[headDim];
        float[] v = new float[headDim];
        for (int p = 0; p < positions; p++) {
            for (int c = 0; c < headDim; c++) {
                k[c] = (float) r.nextGaussian();
                v[c] = (float) r.nextGaussian();
            }
            s.append(k, 0, v, 0);
        }
        return s;
    }

    static Queries randomQueries(int heads, int headDim, long seed) {
        Random r = new Random(seed);
        float[] q = new float[heads * headDim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) r.nextGaussian();
        }
        return Queries.wrap(q, heads, headDim);
    }

    @Benchmark
    public float[] exactSingle() {
        Attention.exact(kv, positions, queries, (float) (1 / Math.sqrt(headDim)), out, scratch);
        return out;
    }

    @Benchmark
    public float[] exactAllCores() {
        Attention.exactParallel(kv, positions, queries, (float) (1 / Math.sqrt(headDim)), out, pool, scratch);
        return out;
    }
}

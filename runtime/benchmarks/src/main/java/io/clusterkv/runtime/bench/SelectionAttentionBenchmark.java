package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.attention.Attention;
import io.clusterkv.runtime.attention.AttentionScratch;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import java.util.Arrays;
import java.util.Random;
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
 * Attention of one query head over a selection of {@value #SELECTED} random unique positions
 * (ascending, as policies return them) out of {@value #POSITIONS}, beside exact attention of one head
 * over all {@value #POSITIONS}: the time a sparse step pays per query head, and what it saves.
 *
 * <p>Run with the report: {@code ./ckv bench attention}; alone: {@code ./ckv bench jmh SelectionAttentionBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 500, timeUnit = TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class SelectionAttentionBenchmark {

    /** Context length. */
    public static final int POSITIONS = 32768;
    /** Selected positions. */
    public static final int SELECTED = 1024;

    @Param({"64", "128"})
    public int headDim;

    @Param({"F32", "F16"})
    public KvFormat format;

    private KvShard shard;
    private KvShard.View kv;
    private Queries query;
    private int[] positions;
    private float[] out;
    private AttentionScratch scratch;

    @Setup
    public void setUp() {
        shard = ExactAttentionBenchmark.filledShard(POSITIONS, headDim, format, 3);
        kv = shard.snapshot();
        query = ExactAttentionBenchmark.randomQueries(1, headDim, 4);
        Random r = new Random(5);
        positions = r.ints(0, POSITIONS).distinct().limit(SELECTED).sorted().toArray();
        out = new float[headDim];
        scratch = new AttentionScratch();
        if (positions.length != SELECTED || Arrays.stream(positions).distinct().count() != SELECTED) {
            throw new IllegalStateException("bad selection");
        }
    }

    @TearDown
    public void tearDown() {
        shard.close();
    }

    @Benchmark
    public float[] selectedOneHead() {
        Attention.selected(kv, query, 0, positions, SELECTED, POSITIONS, POSITIONS, (float) (1 / Math.sqrt(headDim)),
                out, scratch);
        return out;
    }

    @Benchmark
    public float[] exactOneHead() {
        Attention.exact(kv, POSITIONS, query, (float) (1 / Math.sqrt(headDim)), out, scratch);
        return out;
    }
}

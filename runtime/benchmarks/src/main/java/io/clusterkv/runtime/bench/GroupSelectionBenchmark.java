package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.attention.Attention;
import io.clusterkv.runtime.attention.AttentionScratch;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.internal.SelectionBuffer;
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
 * One GQA group (4 query heads of one KV head) at the decode shape of {@code synthetic:llama-1b}, with its
 * rows in DRAM as a decode step finds them: {@value #SHARDS} shards of {@code positions} rows, a call per
 * shard in turn (together far past the last-level cache). Per call:
 * <ul>
 * <li>{@code exact}: exact attention of the group over all positions;</li>
 * <li>{@code shared}: the group over one selection of {@code selected} random positions they share
 * ({@code selection-scope = group});</li>
 * <li>{@code perHead}: each head over its own {@code selected} random positions ({@code selection-scope =
 * head}), one pass per head ({@code Attention.selected}, as the device tier's passes);</li>
 * <li>{@code grouped}: the same selections in one pass over their union ({@code Attention.grouped}, what a
 * shard does without a device tier). Independent random selections are its worst case: their union is
 * almost {@code 4 * selected} rows, where a policy's heads share most of what they select.</li>
 * </ul>
 * The ratios to {@code exact} at a context say where a selection stops paying: the default of
 * {@code clusterkv.runtime.exact-coverage} comes from them.
 *
 * <p>{@code ./ckv bench jmh GroupSelectionBenchmark -f 1}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class GroupSelectionBenchmark {

    static final int SHARDS = 32;
    static final int HEADS = 4;

    @Param({"4096", "16384"})
    public int positions;

    @Param({"1024"})
    public int selected;

    @Param({"64"})
    public int headDim;

    @Param({"F16"})
    public KvFormat format;

    private KvShard[] shards;
    private KvShard.View[] views;
    private Queries queries;
    private SelectionBuffer shared;
    private SelectionBuffer perHead;
    private float[] out;
    private AttentionScratch scratch;
    private int next;

    @Setup
    public void setUp() {
        shards = new KvShard[SHARDS];
        views = new KvShard.View[SHARDS];
        for (int s = 0; s < SHARDS; s++) {
            shards[s] = ExactAttentionBenchmark.filledShard(positions, headDim, format, 3 + s);
            views[s] = shards[s].snapshot();
        }
        queries = ExactAttentionBenchmark.randomQueries(HEADS, headDim, 4);
        Random r = new Random(5);
        int take = Math.min(selected, positions);
        shared = new SelectionBuffer(1, take);
        shared.reset(take, positions);
        for (int p : r.ints(0, positions).distinct().limit(take).toArray()) {
            shared.head(0).add(p);
        }
        perHead = new SelectionBuffer(HEADS, take);
        perHead.reset(take, positions);
        for (int h = 0; h < HEADS; h++) {
            for (int p : r.ints(0, positions).distinct().limit(take).toArray()) {
                perHead.head(h).add(p);
            }
        }
        out = new float[HEADS * headDim];
        scratch = new AttentionScratch();
    }

    @TearDown
    public void tearDown() {
        for (KvShard s : shards) {
            s.close();
        }
    }

    private KvShard.View view() {
        KvShard.View v = views[next];
        next = (next + 1) % SHARDS;
        return v;
    }

    @Benchmark
    public float[] exact() {
        Attention.exact(view(), positions, queries, (float) (1 / Math.sqrt(headDim)), out, scratch);
        return out;
    }

    @Benchmark
    public float[] shared() {
        Attention.shared(view(), queries, shared.head(0), (float) (1 / Math.sqrt(headDim)), out, scratch);
        return out;
    }

    @Benchmark
    public float[] grouped() {
        Attention.grouped(view(), queries, perHead, (float) (1 / Math.sqrt(headDim)), out, scratch);
        return out;
    }

    @Benchmark
    public float[] perHead() {
        KvShard.View kv = view();
        for (int h = 0; h < HEADS; h++) {
            Attention.selected(kv, queries, perHead.head(h), (float) (1 / Math.sqrt(headDim)), out, scratch);
        }
        return out;
    }
}

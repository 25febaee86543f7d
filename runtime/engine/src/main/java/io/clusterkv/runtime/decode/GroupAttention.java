package io.clusterkv.runtime.decode;

import io.clusterkv.runtime.attention.Attention;
import io.clusterkv.runtime.attention.AttentionScratch;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;

/**
 * One (layer, kvHead) shard's share of a layer's attention, as every decoder runs it (the reference
 * decoder for each shard in turn, a shard actor for its own): the shard's slice of a row of keys and
 * values is appended to its {@link KvShard}, its group of query heads is gathered from a row of
 * queries, attended, and written back to the same row of outputs. Rows are those of
 * {@link io.clusterkv.runtime.model.ForwardPass}: queries and outputs {@code (rows, heads * headDim)},
 * keys and values {@code (rows, kvHeads * headDim)}, the group of KV head {@code h} being query heads
 * {@code [h * groupSize, (h + 1) * groupSize)}.
 *
 * <p>Exact attention is here; sparse attention over a policy's selection reads {@link #queries()} and
 * writes {@link #out()} itself. Buffers are allocated once; nothing is allocated per call. Confined to
 * one thread at a time.
 */
public final class GroupAttention {

    private final int kvHead;
    private final int headDim;
    private final int kvDim;                // kvHeads * headDim: the row stride of keys and values
    private final int qDim;                 // heads * headDim: the row stride of queries and outputs
    private final int span;                 // groupSize * headDim
    private final float scale;              // usually 1 / sqrt(headDim)
    private final float[] groupQ;           // (groupSize, headDim)
    private final float[] groupOut;         // (groupSize, headDim)
    private final Queries queries;          // view of groupQ
    private final AttentionScratch scratch;
    private final int groupSize;
    private float[] blockQ = new float[0];  // (rows, groupSize, headDim) a block's queries
    private float[] blockOut = new float[0];
    private Queries blockQueries;           // a view of blockQ for the last block size

    /**
     * @param kvHead    the shard's KV head
     * @param kvHeads   KV heads per layer
     * @param groupSize query heads per KV head
     * @param headDim   the head dimension
     */
    public GroupAttention(int kvHead, int kvHeads, int groupSize, int headDim) {
        this(kvHead, kvHeads, groupSize, headDim, (float) (1.0 / Math.sqrt(headDim)), 0);
    }

    /**
     * @param kvHead    the shard's KV head
     * @param kvHeads   KV heads per layer
     * @param groupSize query heads per KV head
     * @param headDim   the head dimension
     * @param scale     the softmax scale ({@link io.clusterkv.runtime.model.ModelConfig#attentionScale()})
     * @param softcap   the attention logit soft-cap ({@link io.clusterkv.runtime.model.ModelConfig.Variant#attentionSoftcap()}),
     *                  0 for none
     * @throws IllegalArgumentException if the cap is negative or not finite
     */
    public GroupAttention(int kvHead, int kvHeads, int groupSize, int headDim, float scale, float softcap) {
        this.scratch = new AttentionScratch(softcap);
        this.kvHead = kvHead;
        this.groupSize = groupSize;
        this.headDim = headDim;
        this.kvDim = kvHeads * headDim;
        this.span = groupSize * headDim;
        this.qDim = kvHeads * span;
        this.scale = scale;
        this.groupQ = new float[span];
        this.groupOut = new float[span];
        this.queries = Queries.wrap(groupQ, groupSize, headDim);
    }

    /**
     * Appends the shard's key and value of one row.
     *
     * @param shard the shard's store
     * @param k     keys {@code (rows, kvHeads * headDim)}
     * @param v     values, the same shape
     * @param row   the row
     * @return the position the shard gave them
     */
    public int append(KvShard shard, float[] k, float[] v, int row) {
        int off = row * kvDim + kvHead * headDim;
        return shard.append(k, off, v, off);
    }

    /**
     * Gathers the group's queries of one row into {@link #queries()}.
     *
     * @param q   queries {@code (rows, heads * headDim)}
     * @param row the row
     * @return {@link #queries()}
     */
    public Queries gather(float[] q, int row) {
        System.arraycopy(q, row * qDim + kvHead * span, groupQ, 0, span);
        return queries;
    }

    /**
     * Exact attention of the gathered queries over positions {@code [0, n)}, into {@link #out()}.
     *
     * @param kv the shard's keys and values
     * @param n  positions attended
     */
    public void exact(KvShard.View kv, int n) {
        Attention.exact(kv, n, queries, scale, groupOut, scratch);
    }

    /**
     * Exact attention of the gathered queries over the last {@code window} of positions {@code [0, n)} (a
     * sliding-window layer), or all of them when {@code window} is 0 or at least {@code n}.
     *
     * @param kv     the shard's keys and values
     * @param n      positions so far
     * @param window positions a sliding-window layer attends, 0 for all
     */
    public void exact(KvShard.View kv, int n, int window) {
        if (window > 0 && n > window) {
            Attention.exactRange(kv, n - window, n, queries, scale, groupOut, scratch);
        } else {
            Attention.exact(kv, n, queries, scale, groupOut, scratch);
        }
    }

    /**
     * {@link #exactBlock} of a sliding-window layer: row {@code t}, at position {@code p = first + t}, attends
     * {@code [max(0, p - window + 1), p]}; with {@code window} 0, {@link #exactBlock}. Row by row.
     *
     * @param kv     the shard's keys and values, holding at least {@code first + rows} positions
     * @param q      queries {@code (rows, heads * headDim)}
     * @param att    outputs, the same shape
     * @param first  the position of row 0
     * @param rows   rows of the block
     * @param window positions a sliding-window layer attends, 0 for all
     */
    public void exactBlock(KvShard.View kv, float[] q, float[] att, int first, int rows, int window) {
        if (window <= 0 || first + rows <= window) {
            exactBlock(kv, q, att, first, rows);
            return;
        }
        for (int t = 0; t < rows; t++) {
            int p = first + t;
            gather(q, t);
            Attention.exactRange(kv, Math.max(0, p - window + 1), p + 1, queries, scale, groupOut, scratch);
            scatter(att, t);
        }
    }

    /**
     * Exact causal attention of a block of rows already appended (a prefill chunk): row {@code t} of
     * {@code q}, at position {@code first + t}, attends {@code [0, first + t]}, and its output goes to
     * row {@code t} of {@code att}. The positions before the block are read once for the whole block
     * ({@link Attention#causal}), not once per row. Buffers grow to the largest block seen and are kept.
     *
     * @param kv    the shard's keys and values, holding at least {@code first + rows} positions
     * @param q     queries {@code (rows, heads * headDim)}
     * @param att   outputs, the same shape
     * @param first the position of row 0
     * @param rows  rows of the block
     */
    public void exactBlock(KvShard.View kv, float[] q, float[] att, int first, int rows) {
        int need = rows * span;
        if (blockQ.length < need) {
            blockQ = new float[need];
            blockOut = new float[need];
            blockQueries = null;
        }
        for (int t = 0; t < rows; t++) {
            System.arraycopy(q, t * qDim + kvHead * span, blockQ, t * span, span);
        }
        if (blockQueries == null || blockQueries.heads() != rows * groupSize) {
            blockQueries = Queries.wrap(blockQ, rows * groupSize, headDim); // once per block size, not per chunk
        }
        Attention.causal(kv, blockQueries, groupSize, first, scale, blockOut, scratch);
        for (int t = 0; t < rows; t++) {
            System.arraycopy(blockOut, t * span, att, t * qDim + kvHead * span, span);
        }
    }

    /**
     * Writes {@link #out()} to the group's part of one row of outputs.
     *
     * @param att outputs {@code (rows, heads * headDim)}
     * @param row the row
     */
    public void scatter(float[] att, int row) {
        System.arraycopy(groupOut, 0, att, row * qDim + kvHead * span, span);
    }

    /** @return the gathered queries {@code (groupSize, headDim)} */
    public Queries queries() {
        return queries;
    }

    /** @return the group's attention output {@code (groupSize * headDim)}, written by {@link #exact} or the caller */
    public float[] out() {
        return groupOut;
    }

    /** @return the softmax scale, usually {@code 1 / sqrt(headDim)} */
    public float scale() {
        return scale;
    }

    /** @return the attention kernels' working memory, for the caller's own attention calls */
    public AttentionScratch scratch() {
        return scratch;
    }
}

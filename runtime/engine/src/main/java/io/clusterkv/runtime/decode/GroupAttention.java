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
    private final float scale;              // 1 / sqrt(headDim)
    private final float[] groupQ;           // (groupSize, headDim)
    private final float[] groupOut;         // (groupSize, headDim)
    private final Queries queries;          // view of groupQ
    private final AttentionScratch scratch = new AttentionScratch();

    /**
     * @param kvHead    the shard's KV head
     * @param kvHeads   KV heads per layer
     * @param groupSize query heads per KV head
     * @param headDim   the head dimension
     */
    public GroupAttention(int kvHead, int kvHeads, int groupSize, int headDim) {
        this.kvHead = kvHead;
        this.headDim = headDim;
        this.kvDim = kvHeads * headDim;
        this.span = groupSize * headDim;
        this.qDim = kvHeads * span;
        this.scale = (float) (1.0 / Math.sqrt(headDim));
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

    /** @return the softmax scale, {@code 1 / sqrt(headDim)} */
    public float scale() {
        return scale;
    }

    /** @return the attention kernels' working memory, for the caller's own attention calls */
    public AttentionScratch scratch() {
        return scratch;
    }
}

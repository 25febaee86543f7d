package io.clusterkv.runtime.attention;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Attention of one query head assembled from pieces that live in different places: ranges and
 * gathered positions of a shard's host store, and packed runs of rows held elsewhere (a device-tier
 * copy of a residency unit). The pieces go through the same single-pass online softmax and the same
 * kernels as {@link Attention#selected}, so the result equals {@code selected} over the union of the
 * pieces up to float rounding (the rows are grouped into different blocks). The pieces must be
 * disjoint; their order does not matter.
 *
 * <p>A pass is {@link #begin}, any number of {@code absorb} calls, then {@link #finish}, which writes
 * the head's row of the output and ends the pass. Like {@link AttentionScratch}, an instance is
 * working memory: one per thread (typically one per shard), reused across passes, no heap allocation
 * once it has seen the shape. Arguments are checked before anything is read; after an exception the
 * pass must be begun again.
 *
 * <pre>{@code
 * PiecewiseAttention pass = new PiecewiseAttention();
 * pass.begin(queries, head, scale);
 * pass.absorbRows(keys, keyOff, values, valueOff, KvFormat.F16, rows); // a packed copy
 * pass.absorbPositions(kv, positions, 0, n, context);                // gathered host rows
 * pass.absorbRange(kv, windowStart, context);                         // the recent window
 * pass.finish(out);                                                   // out[head * headDim ..]
 * }</pre>
 */
public final class PiecewiseAttention {

    private final OnlineSoftmax state;
    private int head = -1; // the first head of the pass in progress, -1 when none
    private int heads;     // heads of the pass in progress
    private int dim;

    /** Creates empty working memory for attention without soft-capping; buffers are sized by the first pass. */
    public PiecewiseAttention() {
        this(0);
    }

    /**
     * Creates empty working memory for a model with attention logit soft-capping (Gemma 2): each scaled score
     * {@code s} becomes {@code softcap · tanh(s / softcap)} before the softmax.
     *
     * @param softcap the cap, finite and {@code > 0}, or 0 for none
     * @throws IllegalArgumentException if the cap is negative or not finite, naming it
     */
    public PiecewiseAttention(float softcap) {
        this.state = new OnlineSoftmax(softcap);
    }

    /**
     * Starts a pass for one query head; any pass in progress is abandoned.
     *
     * @param queries the group's queries {@code (heads, headDim)}
     * @param head    the query head, {@code [0, queries.heads())}
     * @param scale   multiplies every score, e.g. {@code 1 / sqrt(headDim)}; finite
     * @throws IndexOutOfBoundsException if the head is out of range
     * @throws IllegalArgumentException  if the scale is not finite, naming it
     */
    public void begin(Queries queries, int head, float scale) {
        Objects.requireNonNull(queries, "queries");
        Objects.checkIndex(head, queries.heads());
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("the scale must be finite, was " + scale);
        }
        this.head = -1;
        state.begin(queries, head, 1, scale);
        this.dim = queries.headDim();
        this.heads = 1;
        this.head = head;
    }

    /**
     * Starts a pass for every query head of the group at once (a selection the group shares): each row
     * absorbed is read once for all heads; {@link #finish} writes every head's output.
     *
     * @param queries the group's queries {@code (heads, headDim)}
     * @param scale   multiplies every score; finite
     * @throws IllegalArgumentException if the scale is not finite, naming it
     */
    public void beginGroup(Queries queries, float scale) {
        Objects.requireNonNull(queries, "queries");
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("the scale must be finite, was " + scale);
        }
        this.head = -1;
        state.begin(queries, 0, queries.heads(), scale);
        this.dim = queries.headDim();
        this.heads = queries.heads();
        this.head = 0;
    }

    /**
     * After {@link #beginGroup}: the query heads that attend the pieces absorbed from now on (bit
     * {@code h} for head {@code h}, at most 31 heads; every head until the first call). Each piece is
     * still read once for all heads; a head's softmax runs over its own pieces only, and a head that
     * attends no piece gets zeros.
     *
     * @param heads the heads' bits
     * @throws IllegalStateException if no group pass is in progress
     */
    public void mask(int heads) {
        checkBegun();
        if (this.heads == 1) {
            throw new IllegalStateException("a head mask needs a pass begun with beginGroup");
        }
        state.mask(heads);
    }

    /**
     * After {@link #beginGroup}: absorbs the recent window of each query head's selection (head
     * {@code h} of the selection for query head {@code h}), each row read once for the heads whose window
     * covers it. Leaves a head mask set: call {@link #mask} before absorbing more.
     *
     * @param kv        keys and values of the shard, holding at least the selection's context
     * @param selection one selection per query head of the pass
     * @throws IllegalStateException    if no group pass is in progress
     * @throws IllegalArgumentException if the view's head dim is not the queries', or the selection's
     *                                  context is larger than the view
     */
    public void absorbWindows(KvShard.View kv, SelectionBuffer selection) {
        checkView(kv);
        if (heads == 1) {
            throw new IllegalStateException("windows of several heads need a pass begun with beginGroup");
        }
        if (selection.contextSize() > kv.size()) {
            throw new IllegalArgumentException("the selection's context of " + selection.contextSize()
                    + " positions is larger than the view's " + kv.size() + " positions");
        }
        state.absorbWindows(kv, selection);
    }

    /**
     * Absorbs the consecutive positions {@code [from, to)} of a view.
     *
     * @param kv   keys and values of the shard
     * @param from first position
     * @param to   last position, exclusive, {@code <= kv.size()}
     * @throws IllegalStateException     if no pass is in progress
     * @throws IllegalArgumentException  if the view's head dim is not the queries'
     * @throws IndexOutOfBoundsException if the range is not within the view
     */
    public void absorbRange(KvShard.View kv, int from, int to) {
        checkView(kv);
        Objects.checkFromToIndex(from, to, kv.size());
        state.absorbRange(kv, from, to);
    }

    /**
     * Absorbs the positions {@code positions[from .. to)} of a view, in any order.
     *
     * @param kv        keys and values of the shard
     * @param positions positions, each in {@code [0, context)}
     * @param from      index of the first position to absorb
     * @param to        index after the last
     * @param context   bound on the positions, {@code <= kv.size()}
     * @throws IllegalStateException     if no pass is in progress
     * @throws IllegalArgumentException  if the view's head dim is not the queries', or the context is
     *                                   larger than the view
     * @throws IndexOutOfBoundsException if the index range is not within the array, or a position is
     *                                   outside the context (naming it; earlier ones may have been
     *                                   absorbed)
     */
    public void absorbPositions(KvShard.View kv, int[] positions, int from, int to, int context) {
        checkView(kv);
        Objects.requireNonNull(positions, "positions");
        Objects.checkFromToIndex(from, to, positions.length);
        if (context < 0 || context > kv.size()) {
            throw new IllegalArgumentException("the context of " + context + " positions is not within the view's "
                    + kv.size() + " positions");
        }
        state.absorbGathered(kv, positions, from, to, context);
    }

    /**
     * Absorbs {@code rows} rows stored outside a shard: keys packed one after another from
     * {@code keyOffset}, values likewise from {@code valueOffset}, each row {@code headDim} channels in
     * {@code format} ({@code headDim * format.bytes()} bytes, little-endian, as {@link KvShard} stores
     * them). The rows are copied (F32) or widened (F16) into the pass's working blocks, as every row is.
     *
     * @param keys        segment holding the key rows
     * @param keyOffset   byte offset of the first key row
     * @param values      segment holding the value rows
     * @param valueOffset byte offset of the first value row
     * @param format      storage format of the rows
     * @param rows        rows, {@code >= 0}
     * @throws IllegalStateException     if no pass is in progress
     * @throws IndexOutOfBoundsException if a segment does not hold the rows at its offset, or
     *                                   {@code rows} is negative
     */
    public void absorbRows(MemorySegment keys, long keyOffset, MemorySegment values, long valueOffset,
                           KvFormat format, int rows) {
        checkBegun();
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(values, "values");
        Objects.requireNonNull(format, "format");
        if (rows < 0) {
            throw new IndexOutOfBoundsException("rows must be >= 0, was " + rows);
        }
        long bytes = (long) rows * dim * format.bytes();
        Objects.checkFromIndexSize(keyOffset, bytes, keys.byteSize());
        Objects.checkFromIndexSize(valueOffset, bytes, values.byteSize());
        state.absorbRows(format, keys, keyOffset, values, valueOffset, rows);
    }

    /**
     * Writes the head's output, {@code out[head * headDim .. (head + 1) * headDim)} (every head's after
     * {@link #beginGroup}), or zeros if nothing was absorbed, and ends the pass.
     *
     * @param out {@code (heads, headDim)}
     * @throws IllegalStateException     if no pass is in progress
     * @throws IndexOutOfBoundsException if {@code out} does not hold the head's rows
     */
    public void finish(float[] out) {
        checkBegun();
        Objects.requireNonNull(out, "out");
        Objects.checkFromIndexSize((long) head * dim, (long) heads * dim, out.length);
        state.finish(out, head * dim);
        head = -1;
    }

    private void checkBegun() {
        if (head < 0) {
            throw new IllegalStateException("no attention pass in progress: call begin first");
        }
    }

    private void checkView(KvShard.View kv) {
        checkBegun();
        Objects.requireNonNull(kv, "kv");
        if (kv.headDim() != dim) {
            throw new IllegalArgumentException("the queries have head dim " + dim + " but the shard has head dim "
                    + kv.headDim());
        }
    }
}

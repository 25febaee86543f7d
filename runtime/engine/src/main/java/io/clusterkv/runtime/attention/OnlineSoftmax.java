package io.clusterkv.runtime.attention;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.kv.RowMath;
import io.clusterkv.runtime.tensor.SoftCap;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The running state of single-pass attention for a group of query heads, and the loops that feed it
 * blocks of rows.
 *
 * <p>Design notes. For each head it keeps the running maximum {@code m} of the scores seen, the
 * running sum {@code l} of {@code exp(score - m)} and the accumulator {@code acc} of
 * {@code exp(score - m) * v}; the output is {@code acc / l}. Heads are processed in tiles of 4, 2 and
 * 1 ({@link BlockKernels}). A block of rows is absorbed tile by tile in three steps: the tile's scores;
 * if the block raises a head's maximum, {@code l} and {@code acc} of that head are rescaled by
 * {@code exp(m_old - m_new)}, and the scores are replaced by their weights {@code exp(score - m)};
 * the weighted value sum. Partial states over disjoint position sets merge exactly
 * ({@link #mergeInto}), which is what the parallel variant does.
 *
 * <p>Where rows come from. Every row is staged into heap blocks of F32 rows of the padded width
 * (zeros past the head dim), which the kernels read. Rows are staged as they come, from any number
 * of pieces (ranges, gathered positions, packed runs), and a block is absorbed when it is full or
 * the state is finished: a sparse selection made of many short pieces (clusters of tens of
 * positions, device-tier copies in blocks of 16 to 32 rows) still runs the kernels and the softmax
 * step over full blocks. A run of rows of the padded width (a range of a shard, or a packed
 * device-tier copy, {@link #absorbRows}) is one bulk copy (F32) or one plain {@link RowMath#widen}
 * loop (F16), which C2 compiles to the hardware conversion ({@code vcvtph2ps}). F32 rows are staged
 * too, although they could be read in place from the shard's segment: heap loads carry no session or
 * bounds check, the array kernels keep wider tiles, and a bulk copy keeps more loads in flight than
 * loads interleaved with arithmetic, so staged rows give more bytes per CPU-second (the comparison is
 * in docs/BENCHMARKS.md). Gathered rows (a selection) and rows of other widths are copied row by row,
 * F16 rows as shorts, widened per block: one long conversion loop, not a short one per row, which
 * costs far more. All buffers grow on demand and are kept: no allocation in steady state. Not
 * thread-safe; one instance per thread.
 */
final class OnlineSoftmax {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int L = BlockKernels.L;

    /**
     * Rows of a block: about 16 KiB of F32 keys (and as much of values), 16 to 128 rows, a power of
     * two; the staged block stays in L1 while a group's tiles reread it. (Smaller blocks cost more CPU
     * time: more softmax steps and tile loops per row.)
     */
    static int blockRows(int dim) {
        int rows = Integer.highestOneBit(Math.max(1, 16384 / (4 * dim)));
        return Math.clamp(rows, 16, 128);
    }

    private final float softcap; // > 0: every score s becomes softcap * tanh(s / softcap) (Gemma 2); 0: none

    private int heads;
    private int dim;
    private int stride;       // floats from one head's query or accumulator to the next: dim padded to lanes
    private int blockRows;

    private int tiles;
    private int[] tileHeads = new int[0];  // (tiles) 4, 2 or 1
    private int[] tileFirst = new int[0];  // (tiles) first head of each tile
    private int[] tileScores = new int[0]; // (tiles) index of each tile's scores in scores

    private float[] queries = new float[0];  // (heads, stride) queries times the scale, zero-padded
    private float[] scores = new float[0];   // per tile (blockRows, tile) + L: scores, then weights, of a block
    private float[] maxLanes = new float[0]; // (tiles, L) running maximum of head j % tile in lane j
    private float[] lanes = new float[0];    // (L) a kernel's per-lane result
    private float[] max = new float[0];      // (heads) running maximum score
    private double[] sum = new double[0];    // (heads) running sum of exp(score - max)
    private float[] acc = new float[0];      // (heads, stride) running sum of exp(score - max) * value
    private float[] keyRows = new float[0];   // (blockRows, stride) staged keys, F32, zero-padded
    private float[] valueRows = new float[0]; // (blockRows, stride) staged values, F32, zero-padded
    private short[] halfRows = new short[0];  // (blockRows, stride) gathered or padded F16 rows before widening
    private int[] rowMasks = new int[0];     // (blockRows) per staged row: bit h set if head h attends it
    private boolean masked;   // some staged row is not attended by every head
    private int allHeads;     // the mask of every head: (1 << heads) - 1
    private int rowMask;      // the heads that attend the rows staged next (set by mask)
    private int headsAttended; // the heads some row absorbed since begin is attended by
    private int stagedDim;    // head dim of the rows last staged: the pads of the blocks are zero for it
    private int pending;      // rows staged in keyRows and valueRows, not absorbed yet (fewer than blockRows)
    private int attended;     // positions absorbed since begin

    /** A state without soft-capping. */
    OnlineSoftmax() {
        this(0);
    }

    /** @param softcap 0, or the cap of the attention logit soft-capping: {@code s -> softcap * tanh(s / softcap)} */
    OnlineSoftmax(float softcap) {
        if (!(softcap >= 0) || !Float.isFinite(softcap)) {
            throw new IllegalArgumentException("the soft-cap must be 0 or finite and > 0, was " + softcap);
        }
        this.softcap = softcap;
    }

    /** Sets the shape, copies the scaled queries of heads {@code [firstHead, firstHead + heads)} and clears the state. */
    void begin(Queries q, int firstHead, int heads, float scale) {
        int dim = q.headDim();
        shape(heads, dim);
        for (int h = 0; h < heads; h++) {
            int base = h * stride;
            q.copy(firstHead + h, queries, base);
            for (int c = 0; c < dim; c++) {
                queries[base + c] *= scale;
            }
            Arrays.fill(queries, base + dim, base + stride, 0f);
        }
        reset();
    }

    /** Takes the shape and the scaled queries of another state (read-only there) and clears the state. */
    void beginLike(OnlineSoftmax other) {
        shape(other.heads, other.dim);
        System.arraycopy(other.queries, 0, queries, 0, heads * stride);
        reset();
    }

    private void shape(int heads, int dim) {
        this.heads = heads;
        this.dim = dim;
        this.stride = BlockKernels.padded(dim);
        this.blockRows = blockRows(dim);
        this.allHeads = heads >= 32 ? -1 : (1 << heads) - 1;
        if (tileHeads.length < heads) {
            tileHeads = new int[heads];
            tileFirst = new int[heads];
            tileScores = new int[heads];
            maxLanes = new float[heads * L];
            max = new float[heads];
            sum = new double[heads];
            lanes = new float[L];
        }
        tiles = 0;
        int scoreFloats = 0;
        for (int h = 0; h < heads; ) {
            int tile = heads - h >= 4 ? 4 : heads - h >= 2 ? 2 : 1;
            tileHeads[tiles] = tile;
            tileFirst[tiles] = h;
            tileScores[tiles] = scoreFloats;
            scoreFloats += blockRows * tile + L;
            tiles++;
            h += tile;
        }
        if (scores.length < scoreFloats) {
            scores = new float[scoreFloats];
        }
        if (queries.length < heads * stride) {
            queries = new float[heads * stride];
            acc = new float[heads * stride];
        }
        if (rowMasks.length < blockRows) {
            rowMasks = new int[blockRows];
        }
        if (keyRows.length < blockRows * stride) {
            keyRows = new float[blockRows * stride];
            valueRows = new float[blockRows * stride];
            halfRows = new short[blockRows * stride];
            stagedDim = 0;
        }
        if (dim != stride && stagedDim != dim) {
            Arrays.fill(keyRows, 0f); // rows staged at another width may have left values in the pads
            Arrays.fill(valueRows, 0f);
            Arrays.fill(halfRows, (short) 0);
        }
        stagedDim = dim;
    }

    private void reset() {
        Arrays.fill(maxLanes, 0, tiles * L, Float.NEGATIVE_INFINITY);
        Arrays.fill(max, 0, heads, Float.NEGATIVE_INFINITY);
        Arrays.fill(sum, 0, heads, 0.0);
        Arrays.fill(acc, 0, heads * stride, 0f);
        pending = 0;
        attended = 0;
        masked = false;
        rowMask = allHeads;
        headsAttended = 0;
    }

    /**
     * Sets the heads that attend the rows absorbed from now on (bit {@code h} for head {@code h} of the
     * state, at most 31 heads), until the next call or {@code begin}: a head's softmax runs over the rows
     * it attends only. Every row is still read once for all heads.
     */
    void mask(int heads) {
        rowMask = heads & allHeads;
    }

    /** @return rows of a block for the current shape */
    int blockRows() {
        return blockRows;
    }

    /**
     * Absorbs the positions {@code [from, to)} of a view.
     *
     * @param kv   the view; the range was checked against its size
     * @param from first position
     * @param to   last position, exclusive
     */
    void absorbRange(KvShard.View kv, int from, int to) {
        int chunk = kv.chunkPositions();
        KvFormat format = kv.format();
        long rowBytes = (long) dim * format.bytes();
        int p = from;
        while (p < to) {
            int chunkEnd = (p & -chunk) + chunk; // next chunk boundary; may wrap past Integer.MAX_VALUE
            int end = Math.min(to, p + (blockRows - pending));
            if (chunkEnd > p && chunkEnd < end) {
                end = chunkEnd;
            }
            long off = kv.rowOffset(p);
            stageRun(format, kv.keySegmentOf(p), off, kv.valueSegmentOf(p), off, rowBytes, end - p);
            p = end;
        }
    }

    /**
     * Absorbs {@code rows} consecutive stored rows of keys and of values, each run packed at the
     * stored row size ({@code dim * format.bytes()} bytes a row).
     *
     * @param format storage format of both runs
     * @param k      segment of the keys
     * @param kOff   byte offset of the first key row
     * @param v      segment of the values
     * @param vOff   byte offset of the first value row
     * @param rows   rows; the segments were checked to hold them
     */
    void absorbRows(KvFormat format, MemorySegment k, long kOff, MemorySegment v, long vOff, int rows) {
        long rowBytes = (long) dim * format.bytes();
        for (int i = 0; i < rows; ) {
            int n = Math.min(blockRows - pending, rows - i);
            long off = i * rowBytes;
            stageRun(format, k, kOff + off, v, vOff + off, rowBytes, n);
            i += n;
        }
    }

    /**
     * Absorbs the positions {@code positions[from .. to)}, gathering their rows into the staged blocks.
     *
     * @param kv        the view
     * @param positions positions, any order
     * @param from      index of the first position to absorb
     * @param to        index after the last
     * @param context   positions must be in {@code [0, context)}; {@code context <= kv.size()}
     * @throws IndexOutOfBoundsException naming the first position out of range, before it is read
     */
    void absorbGathered(KvShard.View kv, int[] positions, int from, int to, int context) {
        absorbGatheredMasked(kv, positions, null, from, to, context);
    }

    /**
     * Stages {@code rows} consecutive stored rows of keys and of values after the rows already staged,
     * without crossing the end of the block.
     */
    private void stageRun(KvFormat format, MemorySegment k, long kOff, MemorySegment v, long vOff, long rowBytes,
                          int rows) {
        stageRun(format, k, kOff, rowBytes, keyRows, rows);
        stageRun(format, v, vOff, rowBytes, valueRows, rows);
        staged(rows);
    }

    /**
     * Absorbs the positions {@code positions[from .. to)}, each attended only by the heads whose bits
     * are set in {@code masks} at the same index (bit {@code h} for head {@code h} of the state; at
     * most 31 heads; {@link #mask} does not apply), or by those of {@link #mask} when {@code masks} is
     * null: every row is read once for all heads, and a head's softmax runs over its own rows only.
     *
     * @throws IndexOutOfBoundsException as {@link #absorbGathered} does
     */
    void absorbGatheredMasked(KvShard.View kv, int[] positions, int[] masks, int from, int to, int context) {
        KvFormat format = kv.format();
        for (int i0 = from; i0 < to; ) {
            int rows = Math.min(blockRows - pending, to - i0);
            for (int i = 0; i < rows; i++) {
                int p = positions[i0 + i];
                if (p < 0 || p >= context) {
                    throw new IndexOutOfBoundsException("position " + p + " (index " + (i0 + i)
                            + ") is outside the context of " + context + " positions");
                }
                stageRow(format, kv.keySegmentOf(p), kv.rowOffset(p), keyRows, pending + i);
            }
            finishStaging(format, keyRows, pending, rows);
            for (int i = 0; i < rows; i++) {
                int p = positions[i0 + i];
                stageRow(format, kv.valueSegmentOf(p), kv.rowOffset(p), valueRows, pending + i);
                int m = masks == null ? rowMask : masks[i0 + i] & allHeads;
                rowMasks[pending + i] = m;
                masked |= m != allHeads;
                headsAttended |= m;
            }
            finishStaging(format, valueRows, pending, rows);
            i0 += rows;
            pending += rows;
            if (pending == blockRows) {
                flush();
            }
        }
    }

    /**
     * Absorbs the recent windows of a selection, one per query head ({@code [windowStart, context)} of
     * head {@code h} of the selection being head {@code h} of the state): each row is read once, the
     * segment between two consecutive window starts attended by the heads whose window has begun there.
     * Leaves the mask at the last segment's heads.
     */
    void absorbWindows(KvShard.View kv, SelectionBuffer selection) {
        int heads = selection.heads();
        int context = selection.contextSize();
        int from = context;
        for (int h = 0; h < heads; h++) {
            int ws = selection.head(h).windowStart();
            if (ws != HeadSelectionBuffer.NO_WINDOW) {
                from = Math.min(from, ws);
            }
        }
        while (from < context) {
            int covered = 0;
            int next = context;
            for (int h = 0; h < heads; h++) {
                int ws = selection.head(h).windowStart();
                if (ws == HeadSelectionBuffer.NO_WINDOW) {
                    continue;
                }
                if (ws <= from) {
                    covered |= 1 << h;
                } else {
                    next = Math.min(next, ws);
                }
            }
            mask(covered);
            absorbRange(kv, from, next);
            from = next;
        }
    }

    /** Counts {@code rows} more staged rows (attended by the heads of {@link #mask}), and absorbs the block once it is full. */
    private void staged(int rows) {
        Arrays.fill(rowMasks, pending, pending + rows, rowMask);
        masked |= rowMask != allHeads;
        headsAttended |= rowMask;
        pending += rows;
        if (pending == blockRows) {
            flush();
        }
    }

    /** Absorbs the rows staged so far, if any. */
    private void flush() {
        if (pending > 0) {
            absorb(pending);
            pending = 0;
        }
    }

    /** Copies {@code rows} consecutive stored rows to rows {@code pending .. pending + rows} of a block, widening F16. */
    private void stageRun(KvFormat format, MemorySegment src, long off, long rowBytes, float[] block, int rows) {
        int at = pending * stride;
        if (dim == stride && format == KvFormat.F16) { // one run: widen it in one loop, straight into the block
            RowMath.widen(src, off, block, at, rows * dim);
            return;
        }
        if (dim == stride) { // F32: one bulk copy
            MemorySegment.copy(src, FLOAT, off, block, at, rows * dim);
            return;
        }
        for (int i = 0; i < rows; i++) {
            stageRow(format, src, off + i * rowBytes, block, pending + i);
        }
        finishStaging(format, block, pending, rows);
    }

    /**
     * Copies one stored row to row {@code i} of a block. F16 rows go to {@link #halfRows} as they are,
     * to be widened all at once by {@link #finishStaging}: one long conversion loop, not a short one
     * per row, which costs far more.
     */
    private void stageRow(KvFormat format, MemorySegment src, long off, float[] block, int i) {
        if (format == KvFormat.F32) {
            MemorySegment.copy(src, FLOAT, off, block, i * stride, dim);
        } else {
            MemorySegment.copy(src, HALF, off, halfRows, i * stride, dim);
        }
    }

    /** Widens the F16 rows {@code [first, first + rows)} that {@link #stageRow} collected into the block. */
    private void finishStaging(KvFormat format, float[] block, int first, int rows) {
        if (format == KvFormat.F16) {
            RowMath.widen(halfRows, first * stride, block, first * stride, rows * stride);
        }
    }

    /**
     * A score no head attends: finite, so a head whose every row so far is masked keeps a finite maximum
     * (its weights are then wiped exactly, {@code exp(MASKED - m) = 0}, by the first row it attends).
     */
    private static final float MASKED = -1e30f;

    /** Replaces the scores of the rows a head of the tile does not attend by {@link #MASKED}. */
    private void maskScores(int rows, int tile, int h0, int s0) {
        float[] s = scores;
        for (int i = 0; i < rows; i++) {
            int m = rowMasks[i] >>> h0;
            for (int h = 0; h < tile; h++) {
                if ((m & (1 << h)) == 0) {
                    s[s0 + i * tile + h] = MASKED;
                }
            }
        }
    }

    /** Absorbs the {@code rows} staged rows of {@link #keyRows} and {@link #valueRows}. */
    private void absorb(int rows) {
        float[] ks = keyRows;
        float[] vs = valueRows;
        for (int t = 0; t < tiles; t++) {
            int tile = tileHeads[t];
            int h0 = tileFirst[t];
            int s0 = tileScores[t];
            int q0 = h0 * stride;
            switch (tile) {
                case 4 -> BlockKernels.scores4(ks, 0, stride, rows, queries, q0, stride, stride, scores, s0);
                case 2 -> BlockKernels.scores2(ks, 0, stride, rows, queries, q0, stride, stride, scores, s0);
                default -> BlockKernels.scores1(ks, 0, stride, rows, queries, q0, stride, scores, s0);
            }
            if (softcap > 0) { // before the mask: a masked score must stay below every capped one
                SoftCap.apply(scores, s0, rows * tile, softcap);
            }
            if (masked) {
                maskScores(rows, tile, h0, s0);
            }
            BlockKernels.weigh(scores, s0, rows * tile, tile, max, sum, h0, acc, stride, maxLanes, t * L, lanes);
            switch (tile) {
                case 4 -> BlockKernels.accumulate4(vs, 0, stride, rows, scores, s0, stride, acc, q0, stride);
                case 2 -> BlockKernels.accumulate2(vs, 0, stride, rows, scores, s0, stride, acc, q0, stride);
                default -> BlockKernels.accumulate1(vs, 0, stride, rows, scores, s0, stride, acc, q0);
            }
        }
        attended += rows;
        masked = false;
    }

    /**
     * Writes {@code acc / l} for every head, or zeros for a head that attended no position.
     *
     * @param out    destination
     * @param outOff where head 0 goes; head {@code h} at {@code outOff + h * dim}
     */
    void finish(float[] out, int outOff) {
        flush();
        for (int h = 0; h < heads; h++) {
            int o = outOff + h * dim;
            if (attended == 0 || (headsAttended & (1 << h)) == 0 && h < 31) {
                Arrays.fill(out, o, o + dim, 0f);
                continue;
            }
            float inv = (float) (1.0 / sum[h]);
            int a = h * stride;
            for (int c = 0; c < dim; c++) {
                out[o + c] = acc[a + c] * inv;
            }
        }
    }

    /**
     * Writes the output of {@code heads} heads whose positions are split between two states over
     * disjoint position sets: heads {@code [aHead, aHead + heads)} of {@code a} and heads
     * {@code [0, heads)} of {@code b} (the same queries), as {@link #finish} of one state over the union
     * would. Both states are flushed; either may have attended nothing.
     */
    static void mergeHeads(OnlineSoftmax a, int aHead, OnlineSoftmax b, int heads, float[] out, int outOff) {
        a.flush();
        b.flush();
        int dim = b.dim;
        for (int h = 0; h < heads; h++) {
            int o = outOff + h * dim;
            boolean inA = a.attended > 0;
            boolean inB = b.attended > 0;
            if (!inA && !inB) {
                Arrays.fill(out, o, o + dim, 0f);
                continue;
            }
            float ma = inA ? a.max[aHead + h] : Float.NEGATIVE_INFINITY;
            float mb = inB ? b.max[h] : Float.NEGATIVE_INFINITY;
            float m = Math.max(ma, mb);
            float fa = inA ? (float) Math.exp(ma - m) : 0f;
            float fb = inB ? (float) Math.exp(mb - m) : 0f;
            double l = (inA ? fa * a.sum[aHead + h] : 0) + (inB ? fb * b.sum[h] : 0);
            float inv = (float) (1.0 / l);
            int aa = (aHead + h) * a.stride;
            int ab = h * b.stride;
            for (int c = 0; c < dim; c++) {
                float v = (inA ? fa * a.acc[aa + c] : 0f) + (inB ? fb * b.acc[ab + c] : 0f);
                out[o + c] = v * inv;
            }
        }
    }

    /**
     * Merges partial states over disjoint position sets, {@code parts[0 .. count)}, and writes the
     * output of the union, as {@link #finish} would.
     */
    static void mergeInto(OnlineSoftmax[] parts, int count, float[] out, int outOff) {
        for (int t = 0; t < count; t++) {
            parts[t].flush();
        }
        OnlineSoftmax first = parts[0];
        int heads = first.heads;
        int dim = first.dim;
        int stride = first.stride;
        for (int h = 0; h < heads; h++) {
            float m = Float.NEGATIVE_INFINITY;
            for (int t = 0; t < count; t++) {
                if (parts[t].attended > 0) {
                    m = Math.max(m, parts[t].max[h]);
                }
            }
            int o = outOff + h * dim;
            Arrays.fill(out, o, o + dim, 0f);
            double l = 0;
            for (int t = 0; t < count; t++) {
                OnlineSoftmax part = parts[t];
                if (part.attended == 0) {
                    continue;
                }
                float f = (float) Math.exp(part.max[h] - m);
                l += f * part.sum[h];
                int a = h * stride;
                for (int c = 0; c < dim; c++) {
                    out[o + c] += f * part.acc[a + c];
                }
            }
            if (l == 0) {
                continue; // nothing attended: zeros
            }
            float inv = (float) (1.0 / l);
            for (int c = 0; c < dim; c++) {
                out[o + c] *= inv;
            }
        }
    }
}

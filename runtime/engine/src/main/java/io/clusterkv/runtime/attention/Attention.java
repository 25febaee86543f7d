package io.clusterkv.runtime.attention;

import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;

/**
 * Scaled dot-product attention on the CPU over a shard's host KV store, with the Vector API:
 * {@code out_h = softmax(scale * q_h · K^T) V} over all positions of a view (exact attention, a whole
 * GQA group at once, serial or split across a pool) or over a gathered selection (one query head).
 *
 * <p>Every kernel makes a single pass over the keys and values in blocks (online softmax: a running
 * maximum, a running sum of weights and a rescaled accumulator per head), so each stored row is read
 * from memory once per call, whatever the number of query heads. Arithmetic is F32 (F16 rows are
 * widened exactly, block by block), with the sums of weights carried in double across blocks.
 * Whether a call is then bound by memory bandwidth or by arithmetic depends on the format and on
 * where the rows are cached; {@code docs/BENCHMARKS.md} has measurements.
 *
 * <p>Shapes: a shard is one (layer, kvHead) pair with {@code headDim} channels per row; a
 * {@link Queries} holds the {@code heads} query heads of its GQA group, {@code (heads, headDim)}, and
 * outputs are written in the same layout {@code out[h * headDim + c]}. The scale is the caller's,
 * usually {@code 1 / sqrt(headDim)}.
 *
 * <p>No serial call allocates on the heap once its {@link AttentionScratch} has seen the shape; the
 * parallel variant allocates one small task object per pool task (and the pool may allocate to park
 * the caller). Attending no position at all writes zeros. Inputs are validated before anything is
 * read or written; an exception leaves the output untouched.
 */
public final class Attention {

    /** The fewest positions {@link #exactParallel} gives one task; shorter contexts run serially. */
    public static final int MIN_POSITIONS_PER_TASK = 1024;

    private Attention() {
    }

    /**
     * Exact attention of a GQA group over the positions {@code [0, n)} of a view.
     *
     * @param kv      keys and values of the shard
     * @param n       positions to attend, {@code [0, n)}, {@code 0 <= n <= kv.size()}
     * @param queries the group's queries {@code (heads, headDim)}
     * @param scale   multiplies every score, e.g. {@code 1 / sqrt(headDim)}; finite
     * @param out     receives {@code (heads, headDim)}
     * @param scratch the caller's working memory
     * @throws IllegalArgumentException if the queries' head dim is not the shard's, {@code out} is too
     *                                  short, {@code n} is negative or larger than the view, or the
     *                                  scale is not finite; the message names the values
     */
    public static void exact(KvShard.View kv, int n, Queries queries, float scale, float[] out,
                             AttentionScratch scratch) {
        checkGroup(kv, n, queries, scale, out, scratch);
        OnlineSoftmax state = scratch.state;
        state.begin(queries, 0, queries.heads(), scale);
        state.absorbRange(kv, 0, n);
        state.finish(out, 0);
    }

    /**
     * Exact attention of a GQA group over the positions {@code [from, to)} of a view: a sliding-window layer's
     * attention (Gemma 3), or {@link #exact} when {@code from == 0}.
     *
     * @param kv      keys and values of the shard
     * @param from    first position attended
     * @param to      end of the positions attended, exclusive, {@code from <= to <= kv.size()}
     * @param queries the group's queries {@code (heads, headDim)}
     * @param scale   multiplies every score; finite
     * @param out     receives {@code (heads, headDim)}
     * @param scratch the caller's working memory
     * @throws IllegalArgumentException as {@link #exact} does, or if {@code from} is negative or after {@code to}
     */
    public static void exactRange(KvShard.View kv, int from, int to, Queries queries, float scale, float[] out,
                                  AttentionScratch scratch) {
        checkGroup(kv, to, queries, scale, out, scratch);
        if (from < 0 || from > to) {
            throw new IllegalArgumentException("positions [" + from + ", " + to + ") are not a range");
        }
        OnlineSoftmax state = scratch.state;
        state.begin(queries, 0, queries.heads(), scale);
        state.absorbRange(kv, from, to);
        state.finish(out, 0);
    }

    /**
     * {@link #exact} with the positions split into contiguous ranges, one task each, on a pool the
     * caller supplies (never the common pool). The calling thread computes the first range itself;
     * each task keeps a partial state (running max, sum and accumulator) in the scratch, merged at the
     * end. Uses {@code min(pool.getParallelism(), n / MIN_POSITIONS_PER_TASK)} tasks; with one, it is
     * {@link #exact}. The result equals {@link #exact}'s up to float rounding.
     *
     * @param kv      keys and values of the shard
     * @param n       positions to attend, {@code [0, n)}, {@code 0 <= n <= kv.size()}
     * @param queries the group's queries {@code (heads, headDim)}
     * @param scale   multiplies every score; finite
     * @param out     receives {@code (heads, headDim)}
     * @param pool    runs the tasks other than the first
     * @param scratch the caller's working memory
     * @throws IllegalArgumentException as {@link #exact} does
     * @throws java.util.concurrent.RejectedExecutionException if the pool does not take a task
     */
    public static void exactParallel(KvShard.View kv, int n, Queries queries, float scale, float[] out,
                                     ForkJoinPool pool, AttentionScratch scratch) {
        checkGroup(kv, n, queries, scale, out, scratch);
        Objects.requireNonNull(pool, "pool");
        int tasks = Math.min(pool.getParallelism(), n / MIN_POSITIONS_PER_TASK);
        if (tasks <= 1) {
            exact(kv, n, queries, scale, out, scratch);
            return;
        }
        scratch.ensureParts(tasks);
        OnlineSoftmax[] parts = scratch.parts;
        RangeTask[] pending = scratch.tasks;
        parts[0].begin(queries, 0, queries.heads(), scale);
        int block = parts[0].blockRows();
        int per = Math.ceilDiv(Math.ceilDiv(n, block), tasks) * block; // ranges start on block boundaries
        boolean inPool = Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == pool;
        int launched = 0;
        RuntimeException failure = null;
        try {
            for (int t = 1; t < tasks && t * per < n; t++) {
                parts[t].beginLike(parts[0]);
                // a fresh task each call: reinitialising a joined ForkJoinTask races with the worker
                // that may still be finishing its completion (a lost wake-up hung the benchmark)
                RangeTask task = new RangeTask(parts[t], kv, t * per, Math.min(n, (t + 1) * per));
                pending[t] = task;
                if (inPool) {
                    task.fork();
                } else {
                    pool.execute(task);
                }
                launched = t;
            }
            parts[0].absorbRange(kv, 0, Math.min(n, per));
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            for (int t = 1; t <= launched; t++) {
                pending[t].quietlyJoin();
                if (failure == null && pending[t].getException() instanceof RuntimeException e) {
                    failure = e;
                }
                pending[t] = null;
            }
        }
        if (failure != null) {
            throw failure;
        }
        OnlineSoftmax.mergeInto(parts, launched + 1, out, 0);
    }

    /**
     * Attention of one query head over a selection: explicit positions plus the contiguous window
     * {@code [windowFrom, windowTo)}. Positions are attended as given (the caller keeps them unique and
     * out of the window); their order does not matter. Writes head {@code head}'s row of {@code out}
     * only.
     *
     * @param kv         keys and values of the shard
     * @param queries    the group's queries {@code (heads, headDim)}
     * @param head       the query head, {@code [0, queries.heads())}
     * @param positions  explicit positions, each in {@code [0, kv.size())}
     * @param count      how many of {@code positions} to attend, from index 0
     * @param windowFrom first position of the window; {@code windowFrom == windowTo} for none
     * @param windowTo   last position of the window, exclusive, {@code <= kv.size()}
     * @param scale      multiplies every score; finite
     * @param out        {@code (heads, headDim)}; receives row {@code head}
     * @param scratch    the caller's working memory
     * @throws IllegalArgumentException  as {@link #exact} does for the head dim, output and scale
     * @throws IndexOutOfBoundsException if the head, {@code count}, the window or a position is out of
     *                                   range; the message names the value and the context size
     */
    public static void selected(KvShard.View kv, Queries queries, int head, int[] positions, int count,
                                int windowFrom, int windowTo, float scale, float[] out, AttentionScratch scratch) {
        selected(kv, queries, head, positions, count, windowFrom, windowTo, kv.size(), scale, out, scratch);
    }

    /**
     * Attention of one query head over what a policy selected for it: the selection's explicit
     * positions plus its recent window {@code [windowStart, contextSize)} if it has one. Writes row
     * {@link HeadSelectionBuffer#head()} of {@code out}.
     *
     * @param kv        keys and values of the shard, holding at least the selection's context
     * @param queries   the group's queries {@code (heads, headDim)}
     * @param selection one head's selection
     * @param scale     multiplies every score; finite
     * @param out       {@code (heads, headDim)}; receives row {@code selection.head()}
     * @param scratch   the caller's working memory
     * @throws IllegalArgumentException  if the selection's context is larger than the view, or as
     *                                   {@link #exact} does
     * @throws IndexOutOfBoundsException if the selection's head is not one of the queries
     */
    public static void selected(KvShard.View kv, Queries queries, HeadSelectionBuffer selection, float scale,
                                float[] out, AttentionScratch scratch) {
        Objects.requireNonNull(kv, "kv");
        Objects.requireNonNull(selection, "selection");
        int context = selection.contextSize();
        if (context > kv.size()) {
            throw new IllegalArgumentException("the selection's context of " + context
                    + " positions is larger than the view's " + kv.size() + " positions");
        }
        int from = selection.windowStart() == HeadSelectionBuffer.NO_WINDOW ? context : selection.windowStart();
        selected(kv, queries, selection.head(), selection.positionBuffer(), selection.size(), from, context, context,
                scale, out, scratch);
    }

    /**
     * Attention of every query head of a group over one selection they share (a selection made under
     * {@link io.clusterkv.runtime.policy.SelectionScope#GROUP}): its explicit positions plus its recent
     * window, each row read once for all heads. Writes every row of {@code out}; equals
     * {@link #selected(KvShard.View, Queries, HeadSelectionBuffer, float, float[], AttentionScratch)} of
     * each head over the same selection up to float rounding.
     *
     * @param kv        keys and values of the shard, holding at least the selection's context
     * @param queries   the group's queries {@code (heads, headDim)}
     * @param selection the group's selection
     * @param scale     multiplies every score; finite
     * @param out       receives {@code (heads, headDim)}
     * @param scratch   the caller's working memory
     * @throws IllegalArgumentException  if the selection's context is larger than the view, or as
     *                                   {@link #exact} does
     * @throws IndexOutOfBoundsException if a position is out of range
     */
    public static void shared(KvShard.View kv, Queries queries, HeadSelectionBuffer selection, float scale,
                              float[] out, AttentionScratch scratch) {
        Objects.requireNonNull(selection, "selection");
        checkGroup(kv, 0, queries, scale, out, scratch);
        int context = selection.contextSize();
        if (context > kv.size()) {
            throw new IllegalArgumentException("the selection's context of " + context
                    + " positions is larger than the view's " + kv.size() + " positions");
        }
        int from = selection.windowStart() == HeadSelectionBuffer.NO_WINDOW ? context : selection.windowStart();
        OnlineSoftmax state = scratch.state;
        state.begin(queries, 0, queries.heads(), scale);
        state.absorbGathered(kv, selection.positionBuffer(), 0, selection.size(), context);
        state.absorbRange(kv, from, context);
        state.finish(out, 0);
    }

    /**
     * Causal attention of a block of consecutive rows (a prefill chunk) of one GQA group: row {@code t}
     * of the block, at position {@code first + t}, attends positions {@code [0, first + t]}. The
     * positions before the block are read once for every row and head of the block (one pass with
     * {@code rows * groupSize} queries), not once per row; the block's own positions, causally, per
     * row. Equals {@link #exact} of each row's queries over its positions up to float rounding.
     *
     * @param kv        keys and values of the shard, holding at least {@code first + rows} positions
     * @param queries   the block's queries, {@code (rows * groupSize, headDim)}: row {@code t}'s heads at
     *                  {@code [t * groupSize, (t + 1) * groupSize)}
     * @param groupSize query heads per row
     * @param first     the position of the block's first row
     * @param scale     multiplies every score; finite
     * @param out       receives {@code (rows * groupSize, headDim)}, laid out as the queries
     * @param scratch   the caller's working memory
     * @throws IllegalArgumentException if the queries are not a whole number of rows, the view does not
     *                                  hold the block, or as {@link #exact} does
     */
    public static void causal(KvShard.View kv, Queries queries, int groupSize, int first, float scale, float[] out,
                              AttentionScratch scratch) {
        checkGroup(kv, 0, queries, scale, out, scratch);
        if (groupSize < 1 || queries.heads() % groupSize != 0) {
            throw new IllegalArgumentException(queries.heads() + " queries are not whole rows of " + groupSize
                    + " query heads");
        }
        int rows = queries.heads() / groupSize;
        if (first < 0 || (long) first + rows > kv.size()) {
            throw new IllegalArgumentException("a block of " + rows + " rows from position " + first
                    + " is not within the view's " + kv.size() + " positions");
        }
        OnlineSoftmax block = scratch.state;
        OnlineSoftmax row = scratch.rowState;
        block.begin(queries, 0, queries.heads(), scale);
        block.absorbRange(kv, 0, first);
        int dim = queries.headDim();
        for (int t = 0; t < rows; t++) {
            row.begin(queries, t * groupSize, groupSize, scale);
            row.absorbRange(kv, first, first + t + 1);
            OnlineSoftmax.mergeHeads(block, t * groupSize, row, groupSize, out, t * groupSize * dim);
        }
    }

    /** The most query heads {@link #grouped} attends in one pass (a bit per head in an int). */
    public static final int MAX_GROUPED_HEADS = 31;

    /**
     * Attention of every query head of a group over its own selection, in one pass over the union of
     * the selections: each row any head selected is read once, scored for all heads, and each head's
     * softmax runs over its own rows only. Equals {@link #selected(KvShard.View, Queries,
     * HeadSelectionBuffer, float, float[], AttentionScratch) selected} of each head up to float
     * rounding, at the cost of the union's rows instead of the sum of the selections' (heads of a GQA
     * group often select the same clusters or pages). Writes every row of {@code out}; a head that
     * attends nothing gets zeros.
     *
     * @param kv        keys and values of the shard, holding at least every head's context
     * @param queries   the group's queries {@code (heads, headDim)}, at most {@link #MAX_GROUPED_HEADS}
     * @param selection one selection per query head, all of the same context
     * @param scale     multiplies every score; finite
     * @param out       receives {@code (heads, headDim)}
     * @param scratch   the caller's working memory
     * @throws IllegalArgumentException  if the heads of the selection are not the queries', there are more
     *                                   than {@link #MAX_GROUPED_HEADS}, the heads' contexts differ or exceed
     *                                   the view, or as {@link #exact} does
     * @throws IndexOutOfBoundsException if a position is outside the context, naming it (nothing is written)
     */
    public static void grouped(KvShard.View kv, Queries queries, SelectionBuffer selection, float scale,
                               float[] out, AttentionScratch scratch) {
        Objects.requireNonNull(selection, "selection");
        checkGroup(kv, 0, queries, scale, out, scratch);
        int heads = selection.heads();
        if (heads != queries.heads() || heads > MAX_GROUPED_HEADS) {
            throw new IllegalArgumentException("the selection has " + heads + " query heads, the queries "
                    + queries.heads() + " (at most " + MAX_GROUPED_HEADS + " in one pass)");
        }
        int context = selection.contextSize();
        if (context > kv.size()) {
            throw new IllegalArgumentException("the selection's context of " + context
                    + " positions is larger than the view's " + kv.size() + " positions");
        }
        for (int h = 0; h < heads; h++) {
            HeadSelectionBuffer head = selection.head(h);
            if (head.contextSize() != context) {
                throw new IllegalArgumentException("query head " + h + " selected in a context of " + head.contextSize()
                        + " positions, head 0 in one of " + context);
            }
            int[] positions = head.positionBuffer();
            for (int i = 0, n = head.size(); i < n; i++) {
                int p = positions[i];
                if (p < 0 || p >= context) {
                    throw new IndexOutOfBoundsException("position " + p + " (index " + i + ") of query head " + h
                            + " is outside the context of " + context + " positions");
                }
            }
        }
        // the union of the explicit positions, each with the heads that selected it
        if (scratch.headsOf.length < context) {
            scratch.headsOf = new int[Math.max(context, scratch.headsOf.length * 2)];
        }
        int[] headsOf = scratch.headsOf;
        int count = 0;
        for (int h = 0; h < heads; h++) {
            count += selection.head(h).size();
        }
        if (scratch.union.length < count) {
            scratch.union = new int[Math.max(count, scratch.union.length * 2)];
            scratch.unionMasks = new int[scratch.union.length];
        }
        int[] union = scratch.union;
        int size = 0;
        for (int h = 0; h < heads; h++) {
            HeadSelectionBuffer head = selection.head(h);
            int[] positions = head.positionBuffer();
            int bit = 1 << h;
            for (int i = 0, n = head.size(); i < n; i++) {
                int p = positions[i];
                if (headsOf[p] == 0) {
                    union[size++] = p;
                }
                headsOf[p] |= bit;
            }
        }
        int[] masks = scratch.unionMasks;
        for (int i = 0; i < size; i++) {
            int p = union[i];
            masks[i] = headsOf[p];
            headsOf[p] = 0;
        }
        OnlineSoftmax state = scratch.state;
        state.begin(queries, 0, heads, scale);
        state.absorbGatheredMasked(kv, union, masks, 0, size, context);
        // a position one head selected and another's window covers is absorbed twice, for disjoint heads
        state.absorbWindows(kv, selection);
        state.finish(out, 0);                      // a head that attended nothing gets zeros
    }

    private static void selected(KvShard.View kv, Queries queries, int head, int[] positions, int count,
                                 int windowFrom, int windowTo, int context, float scale, float[] out,
                                 AttentionScratch scratch) {
        checkGroup(kv, 0, queries, scale, out, scratch);
        Objects.checkIndex(head, queries.heads());
        Objects.requireNonNull(positions, "positions");
        Objects.checkFromIndexSize(0, count, positions.length);
        if (windowFrom < 0 || windowFrom > windowTo || windowTo > context) {
            throw new IndexOutOfBoundsException("window [" + windowFrom + ", " + windowTo
                    + ") is outside the context of " + context + " positions");
        }
        OnlineSoftmax state = scratch.state;
        state.begin(queries, head, 1, scale);
        state.absorbGathered(kv, positions, 0, count, context);
        state.absorbRange(kv, windowFrom, windowTo);
        state.finish(out, head * queries.headDim());
    }

    private static void checkGroup(KvShard.View kv, int n, Queries queries, float scale, float[] out,
                                   AttentionScratch scratch) {
        Objects.requireNonNull(kv, "kv");
        Objects.requireNonNull(queries, "queries");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(scratch, "scratch");
        int dim = kv.headDim();
        if (queries.headDim() != dim) {
            throw new IllegalArgumentException("the queries have head dim " + queries.headDim()
                    + " but the shard has head dim " + dim);
        }
        long need = (long) queries.heads() * dim;
        if (out.length < need) {
            throw new IllegalArgumentException("the output holds " + out.length + " floats but " + queries.heads()
                    + " heads of the shard's head dim " + dim + " need " + need);
        }
        int size = kv.size();
        if (n < 0 || n > size) {
            throw new IllegalArgumentException("cannot attend " + n + " positions: the view holds " + size);
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("the scale must be finite, was " + scale);
        }
    }
}

package io.clusterkv.runtime.metrics;

import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.internal.HeadSelectionBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * Selection-quality metrics for one query head, in double precision: how close attending a selection
 * {@code S} comes to exact attention over all {@code n} positions. A reusable scratch object: one per
 * thread, used as
 * <pre>{@code
 * SelectionMetrics m = new SelectionMetrics();
 * // exact attention: O(n·headDim), once per (step, head)
 * m.prepare(query, head * headDim, keys, values, n, headDim, 1 / Math.sqrt(headDim));
 * // then O(n + |S|·headDim) per policy
 * SelectionQuality a = m.evaluate(selectionOfPolicyA, budget);
 * SelectionQuality b = m.evaluate(selectionOfPolicyB, budget);
 * }</pre>
 * After the buffers have grown to the largest context seen, {@link #prepare} allocates nothing and
 * {@link #evaluate} allocates only its small result record.
 *
 * <p><b>Definitions.</b> With logits {@code l_i = scale · q·k_i} and exact weights
 * {@code a_i = softmax(l)_i} over all positions {@code i < n}:
 * <ul>
 * <li>{@code TopK} is the {@code k} positions with the largest {@code q·k_i}; <b>ties are broken by
 * position, the lower position ranking first</b>, so the set is always exactly {@code k} positions and
 * deterministic (the same rule as the {@code oracle} policy).
 * <li>top-10 recall {@code = |Top10 ∩ S| / 10}; when {@code n < 10}, {@code |Top_n ∩ S| / n}.
 * <li>top-B recall {@code = |TopB ∩ S| / B} with {@code B = min(budget, n)}.
 * <li>attention mass {@code = Σ_(i∈S) a_i}.
 * <li>output error {@code = ||o_S - o|| / ||o||}, where {@code o = Σ_i a_i v_i} is exact attention and
 * {@code o_S = Σ_(i∈S) exp(l_i) v_i / Σ_(i∈S) exp(l_i)} is attention renormalised over {@code S}
 * (computed with the maximum over {@code S} subtracted, so it is exact even when {@code S} holds
 * almost no mass). An empty {@code S} has {@code o_S = 0}, hence error 1. If {@code ||o|| = 0} (all
 * values zero) the absolute error {@code ||o_S - o||} is reported.
 * </ul>
 * {@code S} is the explicit positions plus the recent window {@code [windowStart, n)}; a position given
 * twice, or given explicitly and inside the window, counts once. When {@code S} covers every position
 * the result is exactly {@code (1, 1, 1, 0)}.
 *
 * <p>Scores are accumulated in double from the float inputs, in channel order, so the array and the
 * {@link KvShard.View} inputs give identical results for F32 storage. Inputs must be finite.
 * Not thread-safe.
 */
public final class SelectionMetrics {

    private static final int BLOCK = 64; // rows copied at a time from a KvShard view

    // ---- prepared state ----
    private int n;
    private int headDim;
    private float[] keyArray;      // (n, headDim) when prepared from arrays
    private float[] valueArray;    // (n, headDim) when prepared from arrays
    private KvShard.View view;     // when prepared from a shard view
    private boolean prepared;

    private double[] logits = new double[0];   // (n) scale · q·k
    private double[] weights = new double[0];  // (n) exact softmax
    private double[] query = new double[0];    // (headDim)
    private double[] exact = new double[0];    // (headDim) exact attention output
    private double exactNorm;
    private int top10Count;
    private double top10Score;
    private int top10Position;
    private int topBudgetFor = -1;              // budget the cached top-B threshold is for
    private int topBudgetCount;
    private double topBudgetScore;
    private int topBudgetPosition;

    // ---- scratch ----
    private int[] order = new int[0];          // (n) positions, for selection of thresholds
    private int[] stamp = new int[0];          // (n) epoch of the last evaluation that visited the position
    private int epoch;
    private int[] picked = new int[0];         // (n) distinct explicit positions outside the window
    private double[] partial = new double[0];  // (headDim) o_S accumulator
    private float[] block = new float[0];      // (BLOCK, headDim) rows read from a view

    /** Creates empty scratch; buffers grow on first use. */
    public SelectionMetrics() {
    }

    // ---- prepare ----

    /**
     * Computes exact attention of one query over row-major arrays. The arrays are read again by
     * {@link #evaluate}, so they must not change in between.
     *
     * @param query       holds the query at {@code queryOffset}
     * @param queryOffset where the query's {@code headDim} channels start
     * @param keys        {@code (n, headDim)} row-major, at least {@code n * headDim} long
     * @param values      {@code (n, headDim)} row-major, at least {@code n * headDim} long
     * @param n           positions, {@code >= 1}
     * @param headDim     channels, {@code >= 1}
     * @param scale       logit scale, usually {@code 1 / sqrt(headDim)}, finite and {@code > 0}
     * @return this, for chaining {@link #evaluate}
     * @throws IllegalArgumentException  if {@code n}, {@code headDim} or {@code scale} is out of range, an
     *                                   array is too short, or a logit is not finite
     * @throws IndexOutOfBoundsException if the query range is out of bounds
     */
    public SelectionMetrics prepare(float[] query, int queryOffset, float[] keys, float[] values, int n, int headDim,
            double scale) {
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(values, "values");
        checkShape(query, queryOffset, n, headDim, scale);
        if ((long) n * headDim > keys.length || (long) n * headDim > values.length) {
            throw new IllegalArgumentException("keys (" + keys.length + " floats) and values (" + values.length
                    + " floats) must hold n * headDim = " + (long) n * headDim);
        }
        begin(query, queryOffset, n, headDim);
        this.keyArray = keys;
        this.valueArray = values;
        this.view = null;
        for (int p = 0; p < n; p++) {
            logits[p] = scale * dot(keys, p * headDim);
        }
        finish();
        return this;
    }

    /**
     * Computes exact attention of one query over the positions of a shard view ({@code view.size()} of
     * them). Prefer a {@link KvShard#snapshot() snapshot}: the view is read again by {@link #evaluate}.
     *
     * @param query       holds the query at {@code queryOffset}
     * @param queryOffset where the query's channels start
     * @param kv          the keys and values
     * @param scale       logit scale, finite and {@code > 0}
     * @return this
     * @throws IllegalArgumentException  if the view is empty, {@code scale} is out of range, or a logit is not finite
     * @throws IndexOutOfBoundsException if the query range is out of bounds
     */
    public SelectionMetrics prepare(float[] query, int queryOffset, KvShard.View kv, double scale) {
        return prepare(query, queryOffset, kv, scale, 0);
    }

    /**
     * As {@link #prepare(float[], int, KvShard.View, double)}, for a model whose attention soft-caps its scores
     * (Gemma 2): each logit {@code l} becomes {@code softcap · tanh(l / softcap)}, as the runtime's attention does.
     *
     * @param query       holds the query at {@code queryOffset}
     * @param queryOffset where the query's channels start
     * @param kv          the keys and values
     * @param scale       logit scale, finite and {@code > 0}
     * @param softcap     the cap, finite and {@code > 0}, or 0 for none
     * @return this
     * @throws IllegalArgumentException  as the other overload does, or if the cap is negative or not finite
     * @throws IndexOutOfBoundsException if the query range is out of bounds
     */
    public SelectionMetrics prepare(float[] query, int queryOffset, KvShard.View kv, double scale, double softcap) {
        Objects.requireNonNull(kv, "kv");
        if (!(softcap >= 0) || !Double.isFinite(softcap)) {
            throw new IllegalArgumentException("softcap must be 0 or finite and > 0, was " + softcap);
        }
        int size = kv.size();
        int dim = kv.headDim();
        checkShape(query, queryOffset, size, dim, scale);
        begin(query, queryOffset, size, dim);
        this.keyArray = null;
        this.valueArray = null;
        this.view = kv;
        if (block.length < BLOCK * dim) {
            block = new float[BLOCK * dim];
        }
        for (int from = 0; from < size; from += BLOCK) {
            int to = Math.min(size, from + BLOCK);
            kv.copyKeys(from, to, block, 0);
            for (int p = from; p < to; p++) {
                double l = scale * dot(block, (p - from) * dim);
                logits[p] = softcap > 0 ? softcap * Math.tanh(l / softcap) : l;
            }
        }
        finish();
        return this;
    }

    private static void checkShape(float[] query, int queryOffset, int n, int headDim, double scale) {
        Objects.requireNonNull(query, "query");
        if (n < 1) {
            throw new IllegalArgumentException("n must be >= 1 position, was " + n);
        }
        if (headDim < 1) {
            throw new IllegalArgumentException("headDim must be >= 1, was " + headDim);
        }
        if (!(scale > 0) || Double.isInfinite(scale)) {
            throw new IllegalArgumentException("scale must be finite and > 0, was " + scale);
        }
        Objects.checkFromIndexSize(queryOffset, headDim, query.length);
    }

    private void begin(float[] q, int queryOffset, int size, int dim) {
        prepared = false;
        this.n = size;
        this.headDim = dim;
        if (logits.length < size) {
            int cap = Math.max(size, logits.length * 2);
            logits = new double[cap];
            weights = new double[cap];
            order = new int[cap];
            stamp = new int[cap];
            picked = new int[cap];
            epoch = 0;
        }
        if (query.length < dim) {
            query = new double[dim];
            exact = new double[dim];
            partial = new double[dim];
        }
        for (int c = 0; c < dim; c++) {
            query[c] = q[queryOffset + c];
        }
    }

    private double dot(float[] rows, int offset) {
        double s = 0;
        for (int c = 0; c < headDim; c++) {
            s += query[c] * rows[offset + c];
        }
        return s;
    }

    /** Softmax, exact output and the top-10 threshold, from the logits. */
    private void finish() {
        double max = Double.NEGATIVE_INFINITY;
        for (int p = 0; p < n; p++) {
            double l = logits[p];
            if (!Double.isFinite(l)) {
                throw new IllegalArgumentException("q·k at position " + p + " is not finite (" + l
                        + "): keys and query must be finite");
            }
            max = Math.max(max, l);
        }
        double z = 0;
        for (int p = 0; p < n; p++) {
            double w = Math.exp(logits[p] - max);
            weights[p] = w;
            z += w;
        }
        double inv = 1.0 / z;
        for (int p = 0; p < n; p++) {
            weights[p] *= inv;
        }
        Arrays.fill(exact, 0, headDim, 0.0);
        if (valueArray != null) {
            for (int p = 0; p < n; p++) {
                axpy(weights[p], valueArray, p * headDim, exact);
            }
        } else {
            for (int from = 0; from < n; from += BLOCK) {
                int to = Math.min(n, from + BLOCK);
                view.copyValues(from, to, block, 0);
                for (int p = from; p < to; p++) {
                    axpy(weights[p], block, (p - from) * headDim, exact);
                }
            }
        }
        exactNorm = norm(exact);
        top10Count = Math.min(10, n);
        int t = threshold(top10Count);
        top10Score = logits[t];
        top10Position = t;
        topBudgetFor = -1;
        prepared = true;
    }

    private void axpy(double w, float[] rows, int offset, double[] acc) {
        for (int c = 0; c < headDim; c++) {
            acc[c] += w * rows[offset + c];
        }
    }

    private double norm(double[] v) {
        double s = 0;
        for (int c = 0; c < headDim; c++) {
            s += v[c] * v[c];
        }
        return Math.sqrt(s);
    }

    // ---- ranking ----

    /** @return whether position a ranks before position b: larger logit, or equal logit and lower position */
    private boolean before(int a, int b) {
        double la = logits[a];
        double lb = logits[b];
        return la > lb || (la == lb && a < b);
    }

    /** @return whether position p is among the k best, given the k-th best position {@code kth} */
    private boolean within(int p, double kthScore, int kthPosition) {
        double l = logits[p];
        return l > kthScore || (l == kthScore && p <= kthPosition);
    }

    /**
     * Quickselect over the positions; expected O(n).
     *
     * @param k rank, {@code 1 <= k <= n}
     * @return the position ranked k-th
     */
    private int threshold(int k) {
        for (int p = 0; p < n; p++) {
            order[p] = p;
        }
        int target = k - 1;
        int lo = 0;
        int hi = n - 1;
        long seed = 0x9E3779B97F4A7C15L;
        while (lo < hi) {
            seed = seed * 6364136223846793005L + 1442695040888963407L;
            int pivotIndex = lo + (int) Long.remainderUnsigned(seed >>> 16, hi - lo + 1);
            int pivot = order[pivotIndex];
            swap(pivotIndex, hi);
            int store = lo;
            for (int i = lo; i < hi; i++) {
                if (before(order[i], pivot)) {
                    swap(i, store++);
                }
            }
            swap(store, hi);
            if (store == target) {
                return order[store];
            }
            if (store > target) {
                hi = store - 1;
            } else {
                lo = store + 1;
            }
        }
        return order[lo];
    }

    private void swap(int i, int j) {
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }

    // ---- evaluate ----

    /**
     * Scores a policy's selection for the prepared query.
     *
     * @param selection the head's selection; its context size must be the prepared {@code n}
     * @param budget    the step's budget {@code B}, {@code >= 1}
     * @return the metrics
     * @throws IllegalStateException     if nothing was prepared
     * @throws IllegalArgumentException  if the context sizes differ or {@code budget < 1}
     * @throws IndexOutOfBoundsException if an explicit position is outside {@code [0, n)}
     */
    public SelectionQuality evaluate(HeadSelectionBuffer selection, int budget) {
        Objects.requireNonNull(selection, "selection");
        checkPrepared();
        if (selection.contextSize() != n) {
            throw new IllegalArgumentException("selection is for a context of " + selection.contextSize()
                    + " positions, the prepared query for " + n);
        }
        return evaluate(selection.positionBuffer(), selection.size(), selection.windowStart(), budget);
    }

    /**
     * Scores a selection with the step's budget taken from it, {@link HeadSelectionBuffer#budget()}.
     *
     * @param selection the head's selection
     * @return the metrics
     * @throws IllegalStateException     if nothing was prepared
     * @throws IllegalArgumentException  if the context sizes differ
     * @throws IndexOutOfBoundsException if an explicit position is outside {@code [0, n)}
     */
    public SelectionQuality evaluate(HeadSelectionBuffer selection) {
        return evaluate(selection, selection.budget());
    }

    /**
     * Scores a selection given as raw positions, for tools that have no {@link HeadSelectionBuffer}.
     *
     * @param positions   explicit positions in {@code [0, count)}
     * @param count       how many
     * @param windowStart first position of the recent window {@code [windowStart, n)}, or
     *                    {@link HeadSelectionBuffer#NO_WINDOW}
     * @param budget      the step's budget {@code B}, {@code >= 1}
     * @return the metrics
     * @throws IllegalStateException     if nothing was prepared
     * @throws IllegalArgumentException  if {@code budget < 1} or {@code windowStart} is neither in
     *                                   {@code [0, n]} nor {@code NO_WINDOW}
     * @throws IndexOutOfBoundsException if a position is outside {@code [0, n)} or {@code count} exceeds the array
     */
    public SelectionQuality evaluate(int[] positions, int count, int windowStart, int budget) {
        Objects.requireNonNull(positions, "positions");
        checkPrepared();
        if (budget < 1) {
            throw new IllegalArgumentException("budget must be >= 1, was " + budget);
        }
        if (windowStart != HeadSelectionBuffer.NO_WINDOW && (windowStart < 0 || windowStart > n)) {
            throw new IllegalArgumentException("windowStart must be in [0, " + n + "] or NO_WINDOW, was "
                    + windowStart);
        }
        Objects.checkFromIndexSize(0, count, positions.length);
        int from = windowStart == HeadSelectionBuffer.NO_WINDOW ? n : windowStart;
        int topB = Math.min(budget, n);
        if (topBudgetFor != topB) {
            int t = threshold(topB);
            topBudgetScore = logits[t];
            topBudgetPosition = t;
            topBudgetCount = topB;
            topBudgetFor = topB;
        }

        // distinct explicit positions outside the window
        if (++epoch == Integer.MAX_VALUE) {
            Arrays.fill(stamp, 0);
            epoch = 1;
        }
        int distinct = 0;
        for (int i = 0; i < count; i++) {
            int p = Objects.checkIndex(positions[i], n);
            if (p >= from || stamp[p] == epoch) {
                continue;
            }
            stamp[p] = epoch;
            picked[distinct++] = p;
        }
        int attended = distinct + (n - from);
        if (attended == n) {
            return new SelectionQuality(1.0, 1.0, 1.0, 0.0, n);
        }

        int hits10 = 0;
        int hitsB = 0;
        double mass = 0;
        double maxLogit = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < distinct; i++) {
            int p = picked[i];
            hits10 += within(p, top10Score, top10Position) ? 1 : 0;
            hitsB += within(p, topBudgetScore, topBudgetPosition) ? 1 : 0;
            mass += weights[p];
            maxLogit = Math.max(maxLogit, logits[p]);
        }
        for (int p = from; p < n; p++) {
            hits10 += within(p, top10Score, top10Position) ? 1 : 0;
            hitsB += within(p, topBudgetScore, topBudgetPosition) ? 1 : 0;
            mass += weights[p];
            maxLogit = Math.max(maxLogit, logits[p]);
        }

        double error = attended == 0 ? 1.0 : outputError(distinct, from, maxLogit);
        return new SelectionQuality((double) hits10 / top10Count, (double) hitsB / topBudgetCount,
                Math.min(1.0, mass), error, attended);
    }

    /** {@code ||o_S - o|| / ||o||} with o_S renormalised over S, the maximum logit of S subtracted. */
    private double outputError(int distinct, int from, double maxLogit) {
        double[] acc = partial;
        Arrays.fill(acc, 0, headDim, 0.0);
        double z = 0;
        for (int i = 0; i < distinct; i++) {
            z += accumulate(picked[i], maxLogit, acc);
        }
        for (int p = from; p < n; p++) {
            z += accumulate(p, maxLogit, acc);
        }
        double inv = 1.0 / z; // z >= 1: the maximum contributes exp(0)
        double s = 0;
        for (int c = 0; c < headDim; c++) {
            double diff = acc[c] * inv - exact[c];
            s += diff * diff;
        }
        double err = Math.sqrt(s);
        return exactNorm > 0 ? err / exactNorm : err;
    }

    private double accumulate(int p, double maxLogit, double[] acc) {
        double w = Math.exp(logits[p] - maxLogit);
        if (valueArray != null) {
            axpy(w, valueArray, p * headDim, acc);
        } else {
            view.copyValues(p, p + 1, block, 0);
            axpy(w, block, 0, acc);
        }
        return w;
    }

    private void checkPrepared() {
        if (!prepared) {
            throw new IllegalStateException("no query prepared: call prepare(...) first");
        }
    }

    // ---- prepared state, for tools and tests ----

    /** @return positions of the prepared query's context */
    public int size() {
        checkPrepared();
        return n;
    }

    /**
     * @param position a position in {@code [0, size())}
     * @return its exact attention weight {@code softmax(l)_position}
     */
    public double weight(int position) {
        checkPrepared();
        return weights[Objects.checkIndex(position, n)];
    }

    /**
     * @param position a position in {@code [0, size())}
     * @return its logit {@code scale · q·k}
     */
    public double logit(int position) {
        checkPrepared();
        return logits[Objects.checkIndex(position, n)];
    }

    /** @return the entropy of the exact attention weights, in nats */
    public double entropy() {
        checkPrepared();
        double h = 0;
        for (int p = 0; p < n; p++) {
            double w = weights[p];
            if (w > 0) {
                h -= w * Math.log(w);
            }
        }
        return h;
    }
}

package io.clusterkv.policy.quest;

import io.clusterkv.spi.KeyView;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Quest's page metadata for one shard: for every page of {@code pageSize} consecutive positions
 * (page {@code p} holds {@code [p * pageSize, (p + 1) * pageSize)}, the last one possibly partial),
 * the per-channel minimum {@code m} and maximum {@code M} of its keys, and the kernel that turns them
 * into an upper bound of {@code q · k} for a query.
 *
 * <p><b>Layout.</b> Two row-major arrays {@code (pageCapacity, headDim)}, one for minima and one for
 * maxima, grown by doubling. A page's bounds are contiguous, so scoring streams both arrays front to
 * back once per step, whatever the number of query heads (all heads of a shard score a page while its
 * two rows are in L1).
 *
 * <p><b>Updates.</b> {@link #extendTo} indexes only the positions written since the last call: a new
 * page starts with {@code m = M = k}, and each further key of the page takes a lane-wise
 * {@code Math.min}/{@code Math.max}. Minimum and maximum are exact and order-independent (signed zeros
 * and NaN included), so the bounds equal those recomputed from scratch bit for bit.
 *
 * <p><b>Score.</b> {@code U(q, page) = Σ_i max(q_i·m_i, q_i·M_i)} ≥ {@code q · k} for every key
 * {@code k} of the page (each term bounds {@code q_i·k_i} since {@code m_i ≤ k_i ≤ M_i}). The kernel
 * evaluates it as {@code Σ_i q⁺_i·M_i + q⁻_i·m_i} with {@code q⁺ = max(q, 0)}, {@code q⁻ = min(q, 0)},
 * prepared once per step ({@link #splitQuery}): the same value term by term (rounding is monotone, so
 * the larger exact product stays the larger rounded one), with plain multiplies and adds instead of a
 * lane-wise max per channel. A NaN score (from NaN keys) becomes {@code -∞}, so ranking stays a total
 * order.
 *
 * <p>Not thread-safe: owned by the shard's policy.
 */
final class PageBounds {

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Rows copied from the key view per bulk read. */
    private static final int CHUNK_ROWS = 32;

    private final int pageSize;
    private final int headDim;
    private float[] mins;         // (pageCapacity / LANES, headDim, LANES) per-channel minimum of each page's keys
    private float[] maxs;         // same layout, per-channel maximum
    private int pageCapacity;
    private final float[] rows;   // (min(pageSize, CHUNK_ROWS), headDim) keys copied from the view
    private int positions;        // positions indexed: [0, positions)

    /**
     * @param pageSize     positions per page, {@code >= 1}
     * @param headDim      channels per key, {@code >= 1}
     * @param initialPages pages to reserve room for, {@code >= 1}
     */
    PageBounds(int pageSize, int headDim, int initialPages) {
        if (pageSize < 1 || headDim < 1 || initialPages < 1) {
            throw new IllegalArgumentException("pageSize, headDim and initialPages must be >= 1, were " + pageSize
                    + ", " + headDim + ", " + initialPages);
        }
        this.pageSize = pageSize;
        this.headDim = headDim;
        this.pageCapacity = roundUpToBlock(initialPages);
        this.mins = new float[Math.multiplyExact(pageCapacity, headDim)];
        this.maxs = new float[mins.length];
        this.rows = new float[Math.min(pageSize, CHUNK_ROWS) * headDim];
    }

    /** @return positions per page */
    int pageSize() {
        return pageSize;
    }

    /** @return channels per key */
    int headDim() {
        return headDim;
    }

    /** @return positions indexed so far */
    int positions() {
        return positions;
    }

    /** @return pages holding at least one indexed position */
    int pages() {
        return (positions + pageSize - 1) / pageSize;
    }

    /** @return pages the arrays have room for (changes only when {@link #extendTo} grows them) */
    int pageCapacity() {
        return pageCapacity;
    }

    /**
     * @param page    a page in {@code [0, pages())}
     * @param channel a channel in {@code [0, headDim())}
     * @return the smallest value of that channel over the page's keys
     */
    float min(int page, int channel) {
        return mins[index(page, channel)];
    }

    /**
     * @param page    a page in {@code [0, pages())}
     * @param channel a channel in {@code [0, headDim())}
     * @return the largest value of that channel over the page's keys
     */
    float max(int page, int channel) {
        return maxs[index(page, channel)];
    }

    private int index(int page, int channel) {
        java.util.Objects.checkIndex(page, pages());
        java.util.Objects.checkIndex(channel, headDim);
        return slot(page, channel);
    }

    /** Where page {@code page}'s bound of channel {@code channel} lives: blocks of LANES pages, channel-major. */
    private int slot(int page, int channel) {
        return ((page / LANES) * headDim + channel) * LANES + (page % LANES);
    }

    private static int roundUpToBlock(int pages) {
        return (pages + LANES - 1) / LANES * LANES;
    }

    /**
     * Indexes the positions written since the last call, {@code [positions(), keys.size())}: one key
     * on the decode path, the whole prompt at first.
     *
     * @param keys the shard's live key view
     * @throws IllegalArgumentException if its head dimension differs from this index's
     * @throws IllegalStateException    if it holds fewer positions than already indexed
     */
    void extendTo(KeyView keys) {
        int n = keys.size();
        if (n == positions) {
            return;
        }
        if (keys.headDim() != headDim) {
            throw new IllegalArgumentException("keys have dimension " + keys.headDim() + ", the page index "
                    + headDim);
        }
        if (n < positions) {
            throw new IllegalStateException("key view holds " + n + " positions but " + positions
                    + " are already indexed; positions are never removed");
        }
        ensureCapacity((n + pageSize - 1) / pageSize);
        int chunk = rows.length / headDim;
        while (positions < n) {
            int page = positions / pageSize;
            int pageStart = page * pageSize;
            int end = Math.min(n, Math.min(pageStart + pageSize, positions + chunk));
            keys.copyKeys(positions, end, rows, 0);
            int base = slot(page, 0);
            int r = 0;
            if (positions == pageStart) { // first key of a new page: its bounds are the key itself
                for (int c = 0; c < headDim; c++) {
                    mins[base + c * LANES] = rows[c];
                    maxs[base + c * LANES] = rows[c];
                }
                r = 1;
            }
            for (; r < end - positions; r++) {
                widen(base, r * headDim);
            }
            positions = end;
        }
    }

    /** Widens the bounds at {@code base} to include the key at {@code rows[offset ..]}. */
    private void widen(int base, int offset) {
        for (int c = 0; c < headDim; c++) {
            float k = rows[offset + c];
            int i = base + c * LANES;
            mins[i] = Math.min(mins[i], k);
            maxs[i] = Math.max(maxs[i], k);
        }
    }

    private void ensureCapacity(int pages) {
        if (pages <= pageCapacity) {
            return;
        }
        int cap = (int) Math.min((Integer.MAX_VALUE - LANES) / headDim / LANES * LANES,
                roundUpToBlock((int) Math.min(Integer.MAX_VALUE - LANES, Math.max(pages, 2L * pageCapacity))));
        if (cap < pages) {
            throw new IllegalStateException(pages + " pages of dimension " + headDim + " exceed an array");
        }
        mins = Arrays.copyOf(mins, cap * headDim);
        maxs = Arrays.copyOf(maxs, cap * headDim);
        pageCapacity = cap;
    }

    /**
     * Splits queries into their positive and negative parts, the kernel's input.
     *
     * @param q      queries, {@code (heads, headDim)}
     * @param length {@code heads * headDim}
     * @param qPos   receives {@code max(q, 0)}, same shape
     * @param qNeg   receives {@code min(q, 0)}, same shape
     */
    static void splitQuery(float[] q, int length, float[] qPos, float[] qNeg) {
        for (int i = 0; i < length; i++) {
            float v = q[i];
            qPos[i] = v > 0f ? v : 0f;
            qNeg[i] = v < 0f ? v : 0f;
        }
    }

    /**
     * Scores pages {@code [0, pages)} for each query head: {@code scores[h * stride + p] = U(q_h, p)}.
     * Allocates nothing.
     *
     * @param qPos   {@code max(q, 0)}, {@code (heads, headDim)}, from {@link #splitQuery}
     * @param qNeg   {@code min(q, 0)}, {@code (heads, headDim)}
     * @param heads  query heads
     * @param pages  pages to score, {@code <= pages()}
     * @param scores receives the scores, {@code (heads, stride)}; higher means the page may hold a
     *               larger {@code q · k}
     * @param stride distance between two heads' rows of {@code scores}, {@code >= pages}
     */
    void score(float[] qPos, float[] qNeg, int heads, int pages, float[] scores, int stride) {
        int h = 0;
        for (; h + 4 <= heads; h += 4) {
            score4(qPos, qNeg, h, pages, scores, stride);
        }
        for (; h < heads; h++) {
            score1(qPos, qNeg, h, pages, scores, stride);
        }
    }

    /**
     * Heads {@code [h0, h0 + 4)}, a block of LANES pages per vector: each channel's two bound vectors
     * are loaded once and feed four heads' accumulators (one lane per page, so no reduction across
     * lanes), the query channel broadcast. Everything stays in this method so no vector crosses a call.
     */
    private void score4(float[] qPos, float[] qNeg, int h0, int pages, float[] scores, int stride) {
        int hd = headDim;
        float[] hiA = maxs;
        float[] loA = mins;
        int q0 = h0 * hd;
        int q1 = q0 + hd;
        int q2 = q1 + hd;
        int q3 = q2 + hd;
        int s0 = h0 * stride;
        int s1 = s0 + stride;
        int s2 = s1 + stride;
        int s3 = s2 + stride;
        for (int p = 0; p < pages; p += LANES) {
            int base = (p / LANES) * hd * LANES;
            FloatVector a0 = FloatVector.zero(SPECIES);
            FloatVector b0 = a0;
            FloatVector a1 = a0;
            FloatVector b1 = a0;
            FloatVector a2 = a0;
            FloatVector b2 = a0;
            FloatVector a3 = a0;
            FloatVector b3 = a0;
            for (int c = 0; c < hd; c++) {
                int i = base + c * LANES;
                FloatVector hi = FloatVector.fromArray(SPECIES, hiA, i);
                FloatVector lo = FloatVector.fromArray(SPECIES, loA, i);
                a0 = hi.fma(FloatVector.broadcast(SPECIES, qPos[q0 + c]), a0);
                b0 = lo.fma(FloatVector.broadcast(SPECIES, qNeg[q0 + c]), b0);
                a1 = hi.fma(FloatVector.broadcast(SPECIES, qPos[q1 + c]), a1);
                b1 = lo.fma(FloatVector.broadcast(SPECIES, qNeg[q1 + c]), b1);
                a2 = hi.fma(FloatVector.broadcast(SPECIES, qPos[q2 + c]), a2);
                b2 = lo.fma(FloatVector.broadcast(SPECIES, qNeg[q2 + c]), b2);
                a3 = hi.fma(FloatVector.broadcast(SPECIES, qPos[q3 + c]), a3);
                b3 = lo.fma(FloatVector.broadcast(SPECIES, qNeg[q3 + c]), b3);
            }
            if (p + LANES <= pages) {
                finish(a0.add(b0)).intoArray(scores, s0 + p);
                finish(a1.add(b1)).intoArray(scores, s1 + p);
                finish(a2.add(b2)).intoArray(scores, s2 + p);
                finish(a3.add(b3)).intoArray(scores, s3 + p);
            } else {
                VectorMask<Float> m = SPECIES.indexInRange(p, pages);
                finish(a0.add(b0)).intoArray(scores, s0 + p, m);
                finish(a1.add(b1)).intoArray(scores, s1 + p, m);
                finish(a2.add(b2)).intoArray(scores, s2 + p, m);
                finish(a3.add(b3)).intoArray(scores, s3 + p, m);
            }
        }
    }

    /** One head {@code h}: the same kernel with one head's accumulators. */
    private void score1(float[] qPos, float[] qNeg, int h, int pages, float[] scores, int stride) {
        int hd = headDim;
        float[] hiA = maxs;
        float[] loA = mins;
        int qb = h * hd;
        int sb = h * stride;
        for (int p = 0; p < pages; p += LANES) {
            int base = (p / LANES) * hd * LANES;
            FloatVector a = FloatVector.zero(SPECIES);
            FloatVector b = a;
            for (int c = 0; c < hd; c++) {
                int i = base + c * LANES;
                a = FloatVector.fromArray(SPECIES, hiA, i).fma(FloatVector.broadcast(SPECIES, qPos[qb + c]), a);
                b = FloatVector.fromArray(SPECIES, loA, i).fma(FloatVector.broadcast(SPECIES, qNeg[qb + c]), b);
            }
            if (p + LANES <= pages) {
                finish(a.add(b)).intoArray(scores, sb + p);
            } else {
                finish(a.add(b)).intoArray(scores, sb + p, SPECIES.indexInRange(p, pages));
            }
        }
    }

    /** NaN scores (from NaN keys) become -inf so ranking stays a total order; small enough to inline. */
    private static FloatVector finish(FloatVector s) {
        return s.blend(Float.NEGATIVE_INFINITY, s.test(VectorOperators.IS_NAN));
    }
}

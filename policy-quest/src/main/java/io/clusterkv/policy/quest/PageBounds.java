package io.clusterkv.policy.quest;

import io.clusterkv.spi.KeyView;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
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
    private final int loopBound;  // channels handled by full vectors; the rest is a scalar tail
    private float[] mins;         // (pageCapacity, headDim) per-channel minimum of each page's keys
    private float[] maxs;         // (pageCapacity, headDim) per-channel maximum
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
        this.loopBound = SPECIES.loopBound(headDim);
        this.pageCapacity = initialPages;
        this.mins = new float[Math.multiplyExact(initialPages, headDim)];
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
        return page * headDim + channel;
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
            int base = page * headDim;
            int r = 0;
            if (positions == pageStart) { // first key of a new page: its bounds are the key itself
                System.arraycopy(rows, 0, mins, base, headDim);
                System.arraycopy(rows, 0, maxs, base, headDim);
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
        int c = 0;
        for (; c < loopBound; c += LANES) {
            FloatVector k = FloatVector.fromArray(SPECIES, rows, offset + c);
            FloatVector.fromArray(SPECIES, mins, base + c).min(k).intoArray(mins, base + c);
            FloatVector.fromArray(SPECIES, maxs, base + c).max(k).intoArray(maxs, base + c);
        }
        for (; c < headDim; c++) {
            float k = rows[offset + c];
            mins[base + c] = Math.min(mins[base + c], k);
            maxs[base + c] = Math.max(maxs[base + c], k);
        }
    }

    private void ensureCapacity(int pages) {
        if (pages <= pageCapacity) {
            return;
        }
        int cap = (int) Math.min(Integer.MAX_VALUE / headDim, Math.max(pages, 2L * pageCapacity));
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
        int hd = headDim;
        for (int p = 0; p < pages; p++) {
            int base = p * hd;
            for (int h = 0; h < heads; h++) {
                int qb = h * hd;
                FloatVector acc = FloatVector.zero(SPECIES);
                int c = 0;
                for (; c < loopBound; c += LANES) {
                    FloatVector hi = FloatVector.fromArray(SPECIES, maxs, base + c);
                    FloatVector lo = FloatVector.fromArray(SPECIES, mins, base + c);
                    FloatVector up = FloatVector.fromArray(SPECIES, qPos, qb + c).mul(hi);
                    FloatVector down = FloatVector.fromArray(SPECIES, qNeg, qb + c).mul(lo);
                    acc = acc.add(up.add(down));
                }
                float s = acc.reduceLanes(VectorOperators.ADD);
                for (; c < hd; c++) {
                    s += qPos[qb + c] * maxs[base + c] + qNeg[qb + c] * mins[base + c];
                }
                scores[h * stride + p] = Float.isNaN(s) ? Float.NEGATIVE_INFINITY : s;
            }
        }
    }
}

package io.clusterkv.policy.quest;

import io.clusterkv.spi.KeyView;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Quest's page metadata for one shard: for every page of {@code pageSize} consecutive positions
 * (page {@code p} holds {@code [p * pageSize, (p + 1) * pageSize)}, the last one possibly partial),
 * the per-channel minimum {@code m} and maximum {@code M} of its keys, and the kernels that turn them
 * into an upper bound of {@code q · k} for a query.
 *
 * <p><b>Score.</b> {@code U(q, page) = Σ_i max(q_i·m_i, q_i·M_i)} ≥ {@code q · k} for every key
 * {@code k} of the page (each term bounds {@code q_i·k_i} since {@code m_i ≤ k_i ≤ M_i}). It is
 * evaluated as two chains of fused multiply-adds over the channels in order, {@code a = Σ q⁺_i·M_i}
 * and {@code b = Σ q⁻_i·m_i} with {@code q⁺ = max(q, 0)}, {@code q⁻ = min(q, 0)} prepared once per step
 * ({@link #splitQuery}), then {@code a + b}: the same value as the max form term by term (rounding is
 * monotone), with no lane-wise max. A NaN score (from NaN keys) becomes {@code -∞}, so ranking stays a
 * total order. This float arithmetic, operation for operation, is <em>the</em> score: {@link #score}
 * computes it and the ranking is defined on it.
 *
 * <p><b>Two copies of the bounds.</b>
 * <ul>
 *   <li>Exact, page-major {@code (pageCapacity, 2, headDim)} floats: a page's bounds are one
 *       contiguous kilobyte at head dim 128 (maxima, then minima), so {@link #score} of a few chosen
 *       pages reads one stream per page.</li>
 *   <li>Rough, 16-bit fixed point per channel in lane-wide blocks
 *       {@code (pageCapacity / LANES, headDim, LANES)}: channel {@code c}'s bounds as integers in
 *       {@code [-32767, 32767]} times a step {@code 2^e_c}, minima rounded down and maxima rounded up.
 *       {@link #upperBounds} streams them for every page, half the bytes of floats, with the same
 *       operation sequence per lane as {@link #score}; it multiplies the integer (converted exactly)
 *       by the query part times {@code 2^e_c}, which is the product of the rounded bound and the
 *       query part exactly, so each fused multiply-add rounds the same real value as one on the
 *       rounded bound would. Every input moved the right way, and fused multiply-add, addition and
 *       rounding being monotone, the rough value is {@code ≥} the exact score (a NaN rough value
 *       becomes {@code +∞}). {@link #lowerBound} turns it into a lower bound through four norms kept
 *       per page. {@link QuestPolicy} ranks with both, and reads exact rows only where they cannot
 *       decide.</li>
 * </ul>
 * <b>Why fixed point.</b> A bfloat16 copy (8 significant bits) leaves many pages per head whose place
 * the rough bounds cannot decide, each rescored from a cold kilobyte of exact rows, and a lower bound
 * too loose to skip the scan for candidates. One step per channel ({@code 2^e_c}, the smallest power
 * of two whose 32767 steps hold the channel's largest bound) is ~{@code 2^-15} of the channel's range
 * instead of {@code 2^-8} of each value, which leaves almost no page to rescore, at the same bytes and
 * the same kernel cost (a short-to-float conversion in place of a shift); the counts for both, and
 * for 8-bit steps, are in docs/BENCHMARKS-HISTORY.md. Keys far smaller than their channel's largest
 * lose relative precision, which costs only rescoring. A page whose bounds a step cannot hold
 * (infinite, NaN, or beyond {@code 32767 · 2^113}) is {@link #wild}: its rough bound is {@code +∞}.
 * A query part whose product with {@code 2^e_c} is not exact (overflow, or bits lost below the normal
 * floats; exponents are kept in {@code [-60, 113]} so this takes absurd inputs) makes every rough
 * bound {@code +∞}, and the ranking then scores every page exactly.
 *
 * <p>Memory: {@code 12 · headDim + 20} bytes per page (8 exact, 4 rough, 16 for the norms, 4 for the
 * wild flag) and 12 bytes per channel; at page size 16 and head dim 128 that is 3/32 of the F32 keys
 * and values the pages index (the exact copy alone is 1/16).
 *
 * <p><b>Updates.</b> {@link #extendTo} indexes only the positions written since the last call: a new
 * page starts with {@code m = M = k}, and each further key of the page takes a lane-wise
 * {@code Math.min}/{@code Math.max}; the page's rough bounds are then rounded again. Minimum and
 * maximum are exact and order-independent (signed zeros and NaN included), so the bounds equal those
 * recomputed from scratch bit for bit. A channel's exponent grows to hold a new bound, and when it
 * does every page is rounded again at the end of the call ({@code O(pages · headDim)}, rare after the
 * prompt: each growth at least doubles the channel's range); a page turning wild (its bounds no longer
 * count) makes the exponents be taken again from the other pages. So the rough copy too equals one
 * built from scratch.
 *
 * <p>Not thread-safe: owned by the shard's policy.
 */
final class PageBounds {

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Shorts, one per float lane: the rough bounds' loads. */
    private static final VectorSpecies<Short> HALVES =
            VectorSpecies.of(short.class, VectorShape.forBitSize(LANES * Short.SIZE));
    /** Rows copied from the key view per bulk read. */
    private static final int CHUNK_ROWS = 32;
    /** The largest magnitude of a rough bound's integer. */
    static final int STEPS = 32767;
    /** The smallest channel exponent: finer steps buy nothing and would push scaled queries towards underflow. */
    static final int MIN_EXPONENT = -60;
    /** The largest: {@code 32767 · 2^113} is below the largest float, so every rough value is a float. */
    static final int MAX_EXPONENT = 113;

    private final int pageSize;
    private final int headDim;
    private float[] exact;        // (pageCapacity, 2, headDim) per page: per-channel maximum of its keys, then minimum
    private short[] roughMins;    // (pageCapacity / LANES, headDim, LANES) floor(min / 2^e_c): mins rounded down to the channel's step
    private short[] roughMaxs;    // same layout, ceil(max / 2^e_c)
    private float[] wild;         // (pageCapacity) 0, or +inf for a page the rough copy cannot hold (an infinite or NaN
                                  //   bound, or one beyond 32767 * 2^113): its rough upper bound is +inf
    private final int[] exponents;  // (headDim) e_c: the rough copy of channel c counts steps of 2^e_c
    private final float[] steps;    // (headDim) 2^e_c
    private final float[] inverses; // (headDim) 2^-e_c
    private final int[] needs;      // (headDim) scratch: the exponent each channel of one page needs
    private boolean requantize;     // an exponent grew during extendTo: every page is rounded again at its end
    private boolean rescan;         // a page turned wild during extendTo: exponents are taken again from the others
    private float[] scaled = new float[0]; // (2 * heads * headDim) the queries' parts times 2^e_c, for upperBounds
    private float[] slack;        // (pageCapacity, 4) per page, rounded up: ||roughMax - max||, ||min - roughMin||,
                                  //   ||max(|max|, |roughMax|)||, ||max(|min|, |roughMin|)|| (Euclidean, over channels)
    private int pageCapacity;     // a multiple of LANES
    private final float[] rows;   // (min(pageSize, CHUNK_ROWS), headDim) keys copied from the view
    private int positions;        // positions indexed: [0, positions)
    private final float[] slackMax = new float[4]; // each of slack's four norms at least as large as on any page
    private final double twoGamma;       // 2 γ_(headDim+1), γ_n = n·u / (1 - n·u), u = 2^-24: two chains' relative rounding
    private final double underflowSlack; // (8 headDim + 2) · 2^-150: their absolute rounding in the subnormal range

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
        this.exact = new float[Math.multiplyExact(2 * pageCapacity, headDim)];
        this.roughMins = new short[pageCapacity * headDim];
        this.roughMaxs = new short[roughMins.length];
        this.wild = new float[pageCapacity];
        this.exponents = new int[headDim];
        this.steps = new float[headDim];
        this.inverses = new float[headDim];
        this.needs = new int[headDim];
        for (int c = 0; c < headDim; c++) {
            setExponent(c, MIN_EXPONENT);
        }
        this.slack = new float[Math.multiplyExact(pageCapacity, 4)];
        this.rows = new float[Math.min(pageSize, CHUNK_ROWS) * headDim];
        double nu = (headDim + 1) * 0x1p-24;
        this.twoGamma = nu < 0.5 ? 2 * nu / (1 - nu) : Double.POSITIVE_INFINITY; // no bound for absurd dims
        this.underflowSlack = (8.0 * headDim + 2) * 0x1p-150;
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
        return exact[index(page, channel) + headDim];
    }

    /**
     * @param page    a page in {@code [0, pages())}
     * @param channel a channel in {@code [0, headDim())}
     * @return the largest value of that channel over the page's keys
     */
    float max(int page, int channel) {
        return exact[index(page, channel)];
    }

    /**
     * @return {@link #min} rounded down to a multiple of the channel's step {@code 2^}{@link #exponent},
     *         as a float (exact); meaningless for a {@link #wild} page
     */
    float roughMin(int page, int channel) {
        index(page, channel);
        return roughMins[slot(page, channel)] * steps[channel];
    }

    /** @return {@link #max} rounded up to a multiple of the channel's step; see {@link #roughMin} */
    float roughMax(int page, int channel) {
        index(page, channel);
        return roughMaxs[slot(page, channel)] * steps[channel];
    }

    /**
     * @param channel a channel in {@code [0, headDim())}
     * @return {@code e}: the channel's rough bounds are integers in {@code [-32767, 32767]} times
     *         {@code 2^e}; the smallest exponent at least {@link #MIN_EXPONENT} that holds every
     *         finite bound of the channel on a page that is not {@link #wild}
     */
    int exponent(int channel) {
        return exponents[java.util.Objects.checkIndex(channel, headDim)];
    }

    /**
     * @param page a page in {@code [0, pages())}
     * @return whether the rough copy cannot hold the page (an infinite or NaN bound, or one beyond
     *         {@code 32767 · 2^113}): its rough upper bound is then {@code +∞}
     */
    boolean wild(int page) {
        return wild[java.util.Objects.checkIndex(page, pages())] != 0f;
    }

    private void setExponent(int channel, int e) {
        exponents[channel] = e;
        steps[channel] = Math.scalb(1f, e);
        inverses[channel] = Math.scalb(1f, -e);
    }

    /** The smallest exponent at least {@link #MIN_EXPONENT} whose 32767 steps reach {@code |v|} (finite). */
    private static int exponentFor(float v) {
        double a = Math.abs((double) v);
        int e = Math.max(MIN_EXPONENT, Math.getExponent(v) - 15);
        while (a > STEPS * Math.scalb(1.0, e)) {
            e++;
        }
        return e;
    }

    private int index(int page, int channel) {
        java.util.Objects.checkIndex(page, pages());
        java.util.Objects.checkIndex(channel, headDim);
        return page * 2 * headDim + channel;
    }

    /** Where page {@code page}'s rough bound of channel {@code channel} lives: blocks of LANES pages, channel-major. */
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
            int base = page * 2 * headDim;
            int r = 0;
            if (positions == pageStart) { // first key of a new page: its bounds are the key itself
                System.arraycopy(rows, 0, exact, base, headDim);
                System.arraycopy(rows, 0, exact, base + headDim, headDim);
                r = 1;
            }
            for (; r < end - positions; r++) {
                widen(base, r * headDim);
            }
            round(page);
            positions = end;
        }
        if (rescan) { // a page turned wild: its bounds no longer count, steps from the other pages
            rescan = false;
            for (int c = 0; c < headDim; c++) {
                setExponent(c, MIN_EXPONENT);
            }
            for (int p = 0, pages = pages(); p < pages; p++) {
                if (!wildBounds(p)) {
                    raiseExponents();
                }
            }
            requantize = true;
        }
        if (requantize) { // a channel's step changed: every page again, at the final steps
            requantize = false;
            for (int p = 0, pages = pages(); p < pages; p++) {
                round(p);
            }
        }
    }

    /** Widens the bounds of the page at {@code base} to include the key at {@code rows[offset ..]}. */
    private void widen(int base, int offset) {
        int hd = headDim;
        for (int c = 0; c < hd; c++) {
            float k = rows[offset + c];
            exact[base + c] = Math.max(exact[base + c], k);
            exact[base + hd + c] = Math.min(exact[base + hd + c], k);
        }
    }

    /**
     * Whether page {@code page}'s bounds are beyond the rough copy (an infinite or NaN bound, or one
     * beyond {@code 32767 · 2^113}); if not, {@link #needs} receives the exponent each channel needs.
     */
    private boolean wildBounds(int page) {
        int base = page * 2 * headDim;
        for (int c = 0; c < headDim; c++) {
            float hi = exact[base + c];
            float lo = exact[base + headDim + c];
            if (!(Math.abs(hi) <= Float.MAX_VALUE && Math.abs(lo) <= Float.MAX_VALUE)) { // infinite or NaN
                return true;
            }
            int e = Math.max(exponentFor(hi), exponentFor(lo));
            if (e > MAX_EXPONENT) {
                return true;
            }
            needs[c] = e;
        }
        return false;
    }

    /** Raises each channel's exponent to {@link #needs} where that is larger; marks every page for rounding again. */
    private void raiseExponents() {
        for (int c = 0; c < headDim; c++) {
            if (needs[c] > exponents[c]) {
                setExponent(c, needs[c]);
                requantize = true;
            }
        }
    }

    /**
     * Rounds page {@code page}'s bounds outwards into its rough copy, at each channel's step; raises a
     * channel's exponent (and marks every page for rounding again) when a bound outgrows it. A page
     * whose bounds the copy cannot hold becomes {@link #wild}; if it was not, the exponents are taken
     * again from the other pages at the end of {@link #extendTo}, so that they stay what a copy built
     * from scratch has.
     */
    private void round(int page) {
        int base = page * 2 * headDim;
        int s = slot(page, 0);
        int t = page * 4;
        if (wildBounds(page)) {
            if (wild[page] == 0f) {
                rescan = true;
            }
            wild[page] = Float.POSITIVE_INFINITY;
            for (int c = 0; c < headDim; c++) {
                roughMins[s + c * LANES] = 0;
                roughMaxs[s + c * LANES] = 0;
            }
            Arrays.fill(slack, t, t + 4, 0f); // its rough upper bound is +inf: lowerBound gives -inf regardless
            return;
        }
        wild[page] = 0f;
        raiseExponents();
        double gapHi = 0;
        double gapLo = 0;
        double sizeHi = 0;
        double sizeLo = 0;
        for (int c = 0; c < headDim; c++) {
            float hi = exact[base + c];
            float lo = exact[base + headDim + c];
            double step = steps[c];
            // |bound| <= 32767 * step: the quotients are exact in double, the integers within a short
            int roughHi = (int) Math.ceil(hi / step);
            int roughLo = (int) Math.floor(lo / step);
            roughMins[s + c * LANES] = (short) roughLo;
            roughMaxs[s + c * LANES] = (short) roughHi;
            double upHi = roughHi * step; // exact: at most 15 significant bits
            double downLo = roughLo * step;
            // the differences are >= 0; rounded to nearest in double, then moved up by one place
            double dHi = Math.nextUp(upHi - hi);
            double dLo = Math.nextUp(lo - downLo);
            double mHi = Math.max(Math.abs(hi), Math.abs(upHi));
            double mLo = Math.max(Math.abs(lo), Math.abs(downLo));
            gapHi += dHi * dHi;
            gapLo += dLo * dLo;
            sizeHi += mHi * mHi;
            sizeLo += mLo * mLo;
        }
        slack[t] = normUp(gapHi, headDim);
        slack[t + 1] = normUp(gapLo, headDim);
        slack[t + 2] = normUp(sizeHi, headDim);
        slack[t + 3] = normUp(sizeLo, headDim);
        for (int i = 0; i < 4; i++) {
            float v = slack[t + i];
            if (!(v <= slackMax[i])) { // a NaN stays: then no page is placed by the shortcut
                slackMax[i] = v;
            }
        }
    }

    /**
     * The square root of a sum of {@code terms} squares computed in double, moved up past its rounding
     * errors and rounded up to a float (infinite or NaN stays so).
     */
    private static float normUp(double sumOfSquares, int terms) {
        double norm = Math.sqrt(sumOfSquares) * (1 + (terms + 2) * 0x1p-52);
        float f = (float) norm;
        return f < norm ? Math.nextUp(f) : f;
    }

    /**
     * A lower bound of a page's exact score from its {@link #upperBounds upper bound}, without
     * reading its exact bounds: {@code upper} minus what the rough bounds can have added and what
     * the two float computations can have rounded, bounded through per-page norms
     * ({@code Σ q⁺·(M' − M) ≤ ‖q⁺‖·‖M' − M‖}, Cauchy–Schwarz, the same for the minima; each chain's
     * rounding error at most {@code γ_(d+1)·Σ|terms|} plus an absolute {@code (4d + 1)·2^-150} for
     * subnormal results). {@code -∞} where no bound holds: an infinite upper bound, a page with
     * infinite or NaN bounds, or magnitudes near float overflow.
     *
     * @param page     a page in {@code [0, pages())}
     * @param upper    its upper bound for a query head, from {@link #upperBounds}
     * @param qPosNorm the norm of the head's {@code max(q, 0)}, from {@link #splitQuery}
     * @param qNegNorm the norm of the head's {@code min(q, 0)}
     * @return a value {@code ≤} the page's exact score for that head (as {@link #score} computes it)
     */
    double lowerBound(int page, float upper, double qPosNorm, double qNegNorm) {
        int t = page * 4;
        return lowerBound(upper, qPosNorm, qNegNorm, slack[t], slack[t + 1], slack[t + 2], slack[t + 3]);
    }

    /**
     * As {@link #lowerBound(int, float, double, double)} with the largest norms of any page: at most
     * every page's own bound, and needs no per-page read ({@link QuestPolicy} places with it the pages
     * far above the cut, and asks for the page's own bound only near it).
     *
     * @param upper    a page's upper bound for a query head
     * @param qPosNorm the norm of the head's {@code max(q, 0)}, from {@link #splitQuery}
     * @param qNegNorm the norm of the head's {@code min(q, 0)}
     * @return a value {@code ≤} the page's exact score for that head, or {@code -∞}
     */
    double lowerBoundOfAny(float upper, double qPosNorm, double qNegNorm) {
        return below(upper, marginOfAny(qPosNorm, qNegNorm));
    }

    /**
     * What {@link #lowerBoundOfAny} subtracts from a page's upper bound for a query head, computed
     * once per head: {@code lowerBoundOfAny(upper, ..) == below(upper, marginOfAny(..))} for every
     * {@code upper}.
     *
     * @param qPosNorm the norm of the head's {@code max(q, 0)}, from {@link #splitQuery}
     * @param qNegNorm the norm of the head's {@code min(q, 0)}
     * @return the margin, {@code +∞} where no bound holds
     */
    double marginOfAny(double qPosNorm, double qNegNorm) {
        return margin(qPosNorm, qNegNorm, slackMax[0], slackMax[1], slackMax[2], slackMax[3]);
    }

    /**
     * @param upper  a page's upper bound for a query head
     * @param margin from {@link #marginOfAny} (or the page's own)
     * @return the lower bound: {@code upper - margin} rounded down, {@code -∞} for an infinite upper
     *         bound or margin
     */
    static double below(float upper, double margin) {
        if (Float.isInfinite(upper) || margin == Double.POSITIVE_INFINITY) {
            return Double.NEGATIVE_INFINITY;
        }
        return Math.nextDown(upper - margin);
    }

    /**
     * A float {@code s} with {@code below(u, margin) > next} for every finite float {@code u >= s}
     * ({@link #below} never falls as {@code u} rises), near the smallest such: so one compare tells
     * that a page is certainly above {@code next}.
     *
     * @param next   the value to exceed
     * @param margin from {@link #marginOfAny}
     * @return {@code s}, or NaN (no {@code u} compares {@code >=}) where none was found near
     *         {@code next + margin}
     */
    static float surelyAbove(double next, double margin) {
        if (!(margin < Double.POSITIVE_INFINITY)) {
            return Float.NaN;
        }
        float s = (float) (next + margin);
        for (int i = 0; i < 8 && s < Float.POSITIVE_INFINITY; i++) { // NaN ends it too
            if (below(s, margin) > next) {
                return s;
            }
            s = Math.nextUp(s);
        }
        return Float.NaN;
    }

    private double lowerBound(float upper, double qPosNorm, double qNegNorm, float gapHi, float gapLo, float sizeHi,
                              float sizeLo) {
        return below(upper, margin(qPosNorm, qNegNorm, gapHi, gapLo, sizeHi, sizeLo));
    }

    /** {@code upper} minus the result, rounded down, is the lower bound; {@code +∞} where none holds. */
    private double margin(double qPosNorm, double qNegNorm, float gapHi, float gapLo, float sizeHi, float sizeLo) {
        double size = qPosNorm * sizeHi + qNegNorm * sizeLo;
        if (!(size <= 0x1p100)) { // also NaN; far from overflow, no float step overflows
            return Double.POSITIVE_INFINITY;
        }
        double gap = qPosNorm * gapHi + qNegNorm * gapLo;
        return (gap + twoGamma * size + underflowSlack) * (1 + 0x1p-48);
    }

    private void ensureCapacity(int pages) {
        if (pages <= pageCapacity) {
            return;
        }
        int cap = (int) Math.min((Integer.MAX_VALUE - LANES) / (2L * headDim) / LANES * LANES,
                roundUpToBlock((int) Math.min(Integer.MAX_VALUE - LANES, Math.max(pages, 2L * pageCapacity))));
        if (cap < pages) {
            throw new IllegalStateException(pages + " pages of dimension " + headDim + " exceed an array");
        }
        exact = Arrays.copyOf(exact, 2 * cap * headDim);
        roughMins = Arrays.copyOf(roughMins, cap * headDim);
        roughMaxs = Arrays.copyOf(roughMaxs, cap * headDim);
        wild = Arrays.copyOf(wild, cap);
        slack = Arrays.copyOf(slack, cap * 4);
        pageCapacity = cap;
    }

    /**
     * @param pages a page count
     * @return {@code pages} rounded up to a whole number of vectors: the room a row of
     *         {@link #upperBounds} needs
     */
    static int padded(int pages) {
        return roundUpToBlock(pages);
    }

    /**
     * Splits queries into their positive and negative parts, interleaved per channel as the kernels
     * read them: heads in groups of four, group {@code g} at {@code g * 8 * headDim} holding, per
     * channel {@code c}, {@code max(q, 0)} and {@code min(q, 0)} of its four heads in turn
     * ({@code [c * 8 + 2j]} and {@code [c * 8 + 2j + 1]} for its head {@code j}); the heads left over
     * after the last group of four one by one after it, two values per channel. One base address and
     * constant offsets per channel keep the kernels' loops light on registers. Also the Euclidean norms
     * of the parts, for {@link #lowerBound}, each moved up past its rounding errors.
     *
     * @param q       queries, {@code (heads, headDim)}
     * @param heads   query heads
     * @param headDim channels per query
     * @param table   receives the parts, {@code 2 * heads * headDim} long
     * @param norms   receives {@code ‖max(q_h, 0)‖} at {@code [2h]} and {@code ‖min(q_h, 0)‖} at
     *                {@code [2h + 1]}, never below the exact norms
     */
    static void splitQuery(float[] q, int heads, int headDim, float[] table, double[] norms) {
        int groups = heads / 4;
        double up = 1 + (headDim + 2) * 0x1p-52; // a sum of squares in double, then its square root
        for (int h = 0; h < heads; h++) {
            int g = h / 4;
            int base;
            int step;
            if (g < groups) {
                base = g * 8 * headDim + 2 * (h % 4);
                step = 8;
            } else {
                base = groups * 8 * headDim + (h - 4 * groups) * 2 * headDim;
                step = 2;
            }
            double pos = 0;
            double neg = 0;
            for (int c = 0; c < headDim; c++) {
                float v = q[h * headDim + c];
                float p = v > 0f ? v : 0f;
                float n = v < 0f ? v : 0f;
                table[base + c * step] = p;
                table[base + c * step + 1] = n;
                pos += (double) p * p;
                neg += (double) n * n;
            }
            norms[2 * h] = Math.sqrt(pos) * up;
            norms[2 * h + 1] = Math.sqrt(neg) * up;
        }
    }

    /** Where head {@code h}'s parts start in a {@link #splitQuery} table, for a kernel of one head. */
    private int singleHeadBase(int heads, int h) {
        int groups = heads / 4;
        return groups * 8 * headDim + (h - 4 * groups) * 2 * headDim;
    }

    /**
     * Rough upper bounds of the scores of pages {@code [0, pages)} for each query head: for every page
     * and head, {@code upper[h * stride + p] ≥} the exact score {@link #score} gives (never NaN; {@code
     * +∞} where the rough arithmetic met NaN, and for a {@link #wild} page). Streams the rough bounds
     * once for all heads; allocates nothing unless the heads outgrew its scratch.
     *
     * <p>The kernel multiplies a bound's integer by the query part scaled by the channel's step,
     * {@code q · 2^e}, so that no per-channel step is applied to the bounds. When a scaled part is not
     * exact (it would overflow or lose bits to underflow: only for absurd queries or keys), the rough
     * copy says nothing and every bound is {@code +∞}, which the ranking turns into exact scores of
     * every page.
     *
     * @param table  the queries' parts, from {@link #splitQuery}
     * @param heads  query heads
     * @param pages  pages to bound, {@code <= pages()}
     * @param upper  receives the bounds, {@code (heads, stride)}; whole vectors are written, so each
     *               row also gets values (to ignore) up to {@link #padded padded(pages)}
     * @param stride distance between two heads' rows of {@code upper}, {@code >= padded(pages)}
     * @return false if the rough copy could not be used (a scaled query part not exact): every bound
     *         is then {@code +∞}
     */
    boolean upperBounds(float[] table, int heads, int pages, float[] upper, int stride) {
        int length = 2 * heads * headDim;
        if (scaled.length < length) {
            scaled = new float[length];
        }
        if (!scale(table, heads, scaled)) {
            int padded = roundUpToBlock(pages);
            for (int h = 0; h < heads; h++) {
                Arrays.fill(upper, h * stride, h * stride + padded, Float.POSITIVE_INFINITY);
            }
            return false;
        }
        int h = 0;
        for (; h + 4 <= heads; h += 4) {
            upperBounds4(scaled, h, pages, upper, stride);
        }
        for (; h < heads; h++) {
            upperBounds1(scaled, singleHeadBase(heads, h), h, pages, upper, stride);
        }
        return true;
    }

    /**
     * {@code out = table} with each entry multiplied by its channel's step {@code 2^e_c} (the layout of
     * {@link #splitQuery}: 8 entries per channel in groups of four heads, 2 for a head after them).
     *
     * @return whether every product is exact (no overflow, no bits lost to underflow)
     */
    private boolean scale(float[] table, int heads, float[] out) {
        int hd = headDim;
        boolean exact = true;
        int i = 0;
        for (int g = 0; g < heads / 4; g++) { // groups of four heads: 8 entries per channel
            for (int c = 0; c < hd; c++) {
                float step = steps[c];
                float inverse = inverses[c];
                for (int j = 0; j < 8; j++, i++) {
                    float v = table[i] * step;
                    exact &= v * inverse == table[i];
                    out[i] = v;
                }
            }
        }
        for (int h = heads / 4 * 4; h < heads; h++) { // the heads after them: 2 entries per channel
            for (int c = 0; c < hd; c++) {
                for (int j = 0; j < 2; j++, i++) {
                    float v = table[i] * steps[c];
                    exact &= v * inverses[c] == table[i];
                    out[i] = v;
                }
            }
        }
        return exact;
    }

    /**
     * Heads {@code [h0, h0 + 4)}, a block of LANES pages per vector: each channel's two bound vectors
     * are loaded and widened once and feed four heads' accumulators (one lane per page, so no
     * reduction across lanes), the query channel broadcast. Everything stays in this method so no
     * vector crosses a call.
     */
    private void upperBounds4(float[] table, int h0, int pages, float[] upper, int stride) {
        int hd = headDim;
        short[] hiA = roughMaxs;
        short[] loA = roughMins;
        int tb = h0 * 2 * hd; // group h0 / 4 starts at (h0 / 4) * 8 * hd
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
                int t = tb + c * 8;
                FloatVector hi = widen(hiA, i);
                FloatVector lo = widen(loA, i);
                a0 = hi.fma(FloatVector.broadcast(SPECIES, table[t]), a0);
                b0 = lo.fma(FloatVector.broadcast(SPECIES, table[t + 1]), b0);
                a1 = hi.fma(FloatVector.broadcast(SPECIES, table[t + 2]), a1);
                b1 = lo.fma(FloatVector.broadcast(SPECIES, table[t + 3]), b1);
                a2 = hi.fma(FloatVector.broadcast(SPECIES, table[t + 4]), a2);
                b2 = lo.fma(FloatVector.broadcast(SPECIES, table[t + 5]), b2);
                a3 = hi.fma(FloatVector.broadcast(SPECIES, table[t + 6]), a3);
                b3 = lo.fma(FloatVector.broadcast(SPECIES, table[t + 7]), b3);
            }
            FloatVector w = FloatVector.fromArray(SPECIES, wild, p); // 0, or +inf for a wild page
            FloatVector u0 = roughFinish(a0.add(b0).add(w));
            FloatVector u1 = roughFinish(a1.add(b1).add(w));
            FloatVector u2 = roughFinish(a2.add(b2).add(w));
            FloatVector u3 = roughFinish(a3.add(b3).add(w));
            u0.intoArray(upper, s0 + p);
            u1.intoArray(upper, s1 + p);
            u2.intoArray(upper, s2 + p);
            u3.intoArray(upper, s3 + p);
        }
    }

    /** One head {@code h}, its parts at {@code table[tb ..]}: the same kernel with one head's accumulators. */
    private void upperBounds1(float[] table, int tb, int h, int pages, float[] upper, int stride) {
        int hd = headDim;
        short[] hiA = roughMaxs;
        short[] loA = roughMins;
        int sb = h * stride;
        for (int p = 0; p < pages; p += LANES) {
            int base = (p / LANES) * hd * LANES;
            FloatVector a = FloatVector.zero(SPECIES);
            FloatVector b = a;
            for (int c = 0; c < hd; c++) {
                int i = base + c * LANES;
                a = widen(hiA, i).fma(FloatVector.broadcast(SPECIES, table[tb + 2 * c]), a);
                b = widen(loA, i).fma(FloatVector.broadcast(SPECIES, table[tb + 2 * c + 1]), b);
            }
            FloatVector u = roughFinish(a.add(b).add(FloatVector.fromArray(SPECIES, wild, p)));
            u.intoArray(upper, sb + p);
        }
    }

    /** LANES rough bounds from {@code a[i ..]} as floats: the integers, converted exactly. */
    private static FloatVector widen(short[] a, int i) {
        return (FloatVector) ShortVector.fromArray(HALVES, a, i).convertShape(VectorOperators.S2F, SPECIES, 0);
    }

    /**
     * Exact scores of the listed pages for one query head: {@code scores[i]} is the score of page
     * {@code pages[i]}, for {@code i} in {@code [from, to)}. Reads only those pages' rows; allocates
     * nothing.
     *
     * @param table  the queries' parts, from {@link #splitQuery}
     * @param heads  query heads in {@code table}
     * @param h      the head
     * @param pages  pages to score, each in {@code [0, pages())}, in any order, repeats allowed
     * @param from   first entry of {@code pages} to score
     * @param to     end of the entries to score
     * @param scores receives the scores at the entries' indices; higher means the page may hold a
     *               larger {@code q · k}; never NaN
     */
    void score(float[] table, int heads, int h, int[] pages, int from, int to, float[] scores) {
        int limit = pages();
        for (int i = from; i < to; i++) {
            java.util.Objects.checkIndex(pages[i], limit);
        }
        int groups = heads / 4;
        int tb;
        int step;
        if (h < 4 * groups) {
            tb = (h / 4) * 8 * headDim + 2 * (h % 4);
            step = 8;
        } else {
            tb = singleHeadBase(heads, h);
            step = 2;
        }
        int i = from;
        for (; i + 4 <= to; i += 4) {
            score4(table, tb, step, pages, i, scores);
        }
        for (; i < to; i++) {
            scores[i] = score1(table, tb, step, pages[i]);
        }
    }

    /**
     * Pages {@code pages[i, i + 4)} for one head, its parts at {@code table[tb + c * step]} (positive)
     * and {@code [.. + 1]} (negative): eight independent chains (four pages, {@code a} and {@code b})
     * over the channels, the same fused multiply-adds in the same order as a lane of
     * {@link #upperBounds4} performs, and four row pairs read side by side. Plain scalar code: a few
     * dozen pages per step, and no Vector API code that is slow until the JIT's last tier has compiled
     * it.
     */
    private void score4(float[] table, int tb, int step, int[] pages, int i, float[] scores) {
        int hd = headDim;
        float[] hiA = exact;         // a page's maxima at its row r, its minima at r + hd
        int r0 = pages[i] * 2 * hd;
        int r1 = pages[i + 1] * 2 * hd;
        int r2 = pages[i + 2] * 2 * hd;
        int r3 = pages[i + 3] * 2 * hd;
        float a0 = 0f;
        float b0 = 0f;
        float a1 = 0f;
        float b1 = 0f;
        float a2 = 0f;
        float b2 = 0f;
        float a3 = 0f;
        float b3 = 0f;
        for (int c = 0; c < hd; c++) {
            int t = tb + c * step;
            float qp = table[t];
            float qn = table[t + 1];
            a0 = Math.fma(hiA[r0 + c], qp, a0);
            b0 = Math.fma(hiA[r0 + hd + c], qn, b0);
            a1 = Math.fma(hiA[r1 + c], qp, a1);
            b1 = Math.fma(hiA[r1 + hd + c], qn, b1);
            a2 = Math.fma(hiA[r2 + c], qp, a2);
            b2 = Math.fma(hiA[r2 + hd + c], qn, b2);
            a3 = Math.fma(hiA[r3 + c], qp, a3);
            b3 = Math.fma(hiA[r3 + hd + c], qn, b3);
        }
        scores[i] = finish(a0 + b0);
        scores[i + 1] = finish(a1 + b1);
        scores[i + 2] = finish(a2 + b2);
        scores[i + 3] = finish(a3 + b3);
    }

    /** One page for one head: the same two chains. */
    private float score1(float[] table, int tb, int step, int page) {
        int hd = headDim;
        int row = page * 2 * hd;
        float a = 0f;
        float b = 0f;
        for (int c = 0; c < hd; c++) {
            int t = tb + c * step;
            a = Math.fma(exact[row + c], table[t], a);
            b = Math.fma(exact[row + hd + c], table[t + 1], b);
        }
        return finish(a + b);
    }

    /** A NaN score (from NaN keys) becomes -inf, so ranking stays a total order. */
    private static float finish(float s) {
        return s != s ? Float.NEGATIVE_INFINITY : s;
    }

    /**
     * A NaN rough value (say 0 · ∞ from a bound rounded to ∞) becomes +inf: it bounds nothing. NaN is
     * found as {@code s != s}: {@code test(IS_NAN)} made C2 box vectors here.
     */
    private static FloatVector roughFinish(FloatVector s) {
        return s.blend(Float.POSITIVE_INFINITY, s.compare(VectorOperators.NE, s));
    }
}

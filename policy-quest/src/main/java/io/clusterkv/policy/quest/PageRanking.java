package io.clusterkv.policy.quest;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Partial selection of the best pages by score, in place and without allocation, instead of a sort
 * of every page.
 *
 * <p>"Better" is the higher score, ties going to the lower page index. Scores are never NaN
 * ({@link PageBounds#score} maps NaN to {@code -∞}, {@link PageBounds#upperBounds} to {@code +∞}), so
 * this is a strict total order: the set of the {@code k} best is unique and the result deterministic.
 *
 * <p>{@link #selectBest} counts rather than compares: a bisection on the score, each step one vector
 * pass that counts the pages at or above a threshold, finds a score that at least {@code k} and not
 * many more pages reach; only those are keyed ({@link #key}: score and page in one {@code long}) and
 * a quickselect keeps the {@code k} best. A few vector passes over a row of scores that is in the
 * first-level cache, a branch per page kept, none per page passed over, where a scalar scan (a
 * threshold from the maxima of groups of pages, then a compare and a branch per page) pays a branch
 * for every page.
 *
 * <p>The vector code boxes vectors until the JIT's last tier has compiled it, as the bound kernels
 * of {@link PageBounds} do: the first few hundred steps of a run are slower.
 */
final class PageRanking {

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    /** Bisection steps on the values alone before every other step halves the sortable bits instead. */
    private static final int VALUE_STEPS = 8;
    /** Bisection steps at most: after {@link #VALUE_STEPS}, the bits' 32 halvings take 64 more at most. */
    private static final int MAX_STEPS = VALUE_STEPS + 64;

    private PageRanking() {
    }

    /**
     * Puts the {@code k} best of pages {@code [0, n)} in {@code best[0, k)} (no particular order),
     * their {@link #key}s in {@code keys[0, k)}, by counting instead of comparing pages one by one:
     * <ol>
     *   <li>one vector pass finds the lowest and highest score;</li>
     *   <li>a bisection on the score looks for a threshold {@code t} that at least {@code k} pages reach
     *       and not many more than {@code 2k} do, each step one vector pass that counts the pages
     *       {@code ≥ t} (a compare and a population count per vector of pages, no branch per
     *       page);</li>
     *   <li>the pages {@code ≥ t} are keyed into {@code keys} from the compare's bit mask, and a
     *       quickselect keeps the {@code k} best.</li>
     * </ol>
     * Since at least {@code k} pages reach {@code t}, the {@code k}-th best score is {@code ≥ t}: no
     * page below it is among the best, so the result is the exact {@code k} best. Heavy ties (more
     * than {@code 2k} pages sharing the threshold's score) only make the last step longer.
     *
     * @param scores score of page {@code p} at {@code scores[offset + p]}, never NaN
     * @param offset where page 0's score is
     * @param best   receives the pages, at least {@code k} long
     * @param keys   scratch, at least {@code n} long; receives the keys of {@code best}
     * @param n      pages to choose from
     * @param k      how many to keep, {@code 0 <= k <= n}
     */
    static void selectBest(float[] scores, int offset, int[] best, long[] keys, int n, int k) {
        if (k == 0) {
            return;
        }
        if (k >= n) {
            for (int p = 0; p < n; p++) {
                best[p] = p;
                keys[p] = key(scores[offset + p], p);
            }
            return;
        }
        float t = threshold(scores, offset, n, k, 2 * k + 32);
        int count = collectAtLeast(scores, offset, n, t, Long.MAX_VALUE, keys, 0);
        if (count > k) {
            selectTop(keys, count, k);
        }
        for (int i = 0; i < k; i++) {
            best[i] = page(keys[i]);
        }
    }

    /**
     * A score {@code t} that at least {@code k} of pages {@code [0, n)} reach, and at most about
     * {@code enough} when the scores allow it (ties at one score may leave more).
     */
    static float threshold(float[] scores, int offset, int n, int k, int enough) {
        int whole = n - n % LANES;
        FloatVector lowest = FloatVector.broadcast(SPECIES, Float.POSITIVE_INFINITY);
        FloatVector highest = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        for (int p = 0; p < whole; p += LANES) {
            FloatVector v = FloatVector.fromArray(SPECIES, scores, offset + p);
            lowest = lowest.min(v);
            highest = highest.max(v);
        }
        float lo = lowest.reduceLanes(VectorOperators.MIN);
        float hi = highest.reduceLanes(VectorOperators.MAX);
        for (int p = whole; p < n; p++) {
            float s = scores[offset + p];
            lo = Math.min(lo, s);
            hi = Math.max(hi, s);
        }
        // every page reaches lo; keep it so while hi stays a score fewer than k pages reach
        int atLo = n;
        if (atLo <= enough) {
            return lo;
        }
        int atHi = countAtLeast(scores, offset, n, hi);
        if (atHi >= k) {
            return hi; // k or more pages share the highest score
        }
        for (int step = 0; step < MAX_STEPS && atLo > enough; step++) {
            // the midpoint of the values (no overflow), which suits scores spread evenly; after a few
            // steps every other one halves the bits between lo and hi instead, which ends within 32 such
            // steps whatever the spread (far outliers, magnitudes far apart)
            float mid = step < VALUE_STEPS || (step & 1) == 0 ? lo * 0.5f + hi * 0.5f : Float.NaN;
            if (!(mid > lo && mid < hi)) {
                int a = sortable(lo);
                int b = sortable(hi);
                int m = (int) (((long) a + b) >> 1);
                if (m == a) {
                    break; // adjacent floats: lo is the last score with k pages
                }
                mid = unsortable(m);
            }
            int at = countAtLeast(scores, offset, n, mid);
            if (at >= k) {
                lo = mid;
                atLo = at;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** How many of pages {@code [0, n)} score at least {@code t}. */
    static int countAtLeast(float[] scores, int offset, int n, float t) {
        int whole = n - n % LANES;
        int count = 0;
        for (int p = 0; p < whole; p += LANES) {
            count += FloatVector.fromArray(SPECIES, scores, offset + p).compare(VectorOperators.GE, t).trueCount();
        }
        for (int p = whole; p < n; p++) {
            count += scores[offset + p] >= t ? 1 : 0;
        }
        return count;
    }

    /**
     * Appends to {@code out} (from {@code at}) the {@link #key}s of the pages of {@code [0, n)} that
     * score at least {@code t} and whose key is below {@code below}, in page order.
     *
     * @return the end of what was appended
     */
    static int collectAtLeast(float[] scores, int offset, int n, float t, long below, long[] out, int at) {
        int whole = n - n % LANES;
        for (int p = 0; p < whole; p += LANES) {
            long bits = FloatVector.fromArray(SPECIES, scores, offset + p).compare(VectorOperators.GE, t).toLong();
            while (bits != 0) {
                int q = p + Long.numberOfTrailingZeros(bits);
                bits &= bits - 1;
                long key = key(scores[offset + q], q);
                if (key < below) {
                    out[at++] = key;
                }
            }
        }
        for (int p = whole; p < n; p++) {
            float s = scores[offset + p];
            if (s >= t) {
                long key = key(s, p);
                if (key < below) {
                    out[at++] = key;
                }
            }
        }
        return at;
    }

    /** The float whose {@link #sortable} bits are {@code bits}. */
    private static float unsortable(int bits) {
        return Float.intBitsToFloat(bits ^ ((bits >> 31) & 0x7fffffff));
    }

    /** The sortable bits of a score, as in {@link #key}. */
    private static int sortable(float score) {
        int bits = Float.floatToRawIntBits(score + 0f);
        return bits ^ ((bits >> 31) & 0x7fffffff);
    }

    /**
     * Moves the {@code k} largest of the distinct keys {@code keys[0, n)} into {@code keys[0, k)}, in no
     * particular order ({@code 0 <= k}; nothing to do when {@code k >= n}).
     */
    static void selectTopKeys(long[] keys, int n, int k) {
        if (k > 0 && k < n) {
            selectTop(keys, n, k);
        }
    }

    /**
     * Moves the {@code k} largest of the distinct keys {@code a[0, n)} into {@code a[0, k)}, in no
     * particular order ({@code 0 < k < n}): quickselect, median-of-three pivots, a partition without
     * data-dependent branches (a swap and a conditional increment per key: no mispredictions).
     */
    private static void selectTop(long[] a, int n, int k) {
        int lo = 0;
        int hi = n - 1;
        while (hi > lo) {
            int mid = (lo + hi) >>> 1;
            long x = a[lo];
            long y = a[mid];
            long z = a[hi];
            long pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
            int at = pivot == x ? lo : pivot == y ? mid : hi;
            a[at] = a[hi];
            a[hi] = pivot;
            // branch-free partition, descending: [lo, store) > pivot, [store, j) < pivot (keys are distinct)
            int store = lo;
            for (int j = lo; j < hi; j++) {
                long v = a[j];
                a[j] = a[store];
                a[store] = v;
                store += v > pivot ? 1 : 0;
            }
            a[hi] = a[store];
            a[store] = pivot;
            if (store == k - 1 || store == k) { // [0, k) holds the k largest
                return;
            }
            if (store > k) {
                hi = store - 1;
            } else {
                lo = store + 1;
            }
        }
    }


    /**
     * A long ordered as the ranking is: the score's bits made monotone (after {@code + 0f}, so both
     * zeros are one score) above the complement of the page index (lower pages rank first on ties).
     */
    static long key(float score, int page) {
        return ((long) sortable(score) << 32) | (~page & 0xffffffffL);
    }

    /**
     * @return the score of a {@link #key} (after {@code + 0f}: never {@code -0})
     */
    static float score(long key) {
        int sortable = (int) (key >>> 32);
        return Float.intBitsToFloat(sortable ^ ((sortable >> 31) & 0x7fffffff));
    }

    static int page(long key) {
        return ~(int) key;
    }
}

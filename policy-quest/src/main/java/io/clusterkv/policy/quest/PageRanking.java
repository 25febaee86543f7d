package io.clusterkv.policy.quest;

/**
 * Partial selection of the best pages by score, in place and without allocation, instead of a sort
 * of every page.
 *
 * <p>"Better" is the higher score, ties going to the lower page index. Scores are never NaN
 * ({@link PageBounds#score} maps NaN to {@code -∞}), so this is a strict total order: the set of the
 * {@code k} best is unique and the result deterministic.
 *
 * <p>One pass over the pages against a threshold: a page whose score is below the threshold's is
 * passed over with one comparison, and only the few others are keyed and appended to a candidate
 * buffer. The threshold starts at a score {@code k} pages are known to reach (the {@code k}-th best of
 * about {@code 3k} group maxima, which {@link PageBounds#upperBounds} takes on the way), so few pages
 * enter; when the buffer fills, a
 * quickselect keeps its {@code k} best and raises the threshold; a last quickselect leaves the
 * {@code k} best. The cost is {@code O(n)} expected (each reduction of a buffer of {@code c >= 4k}
 * keys frees {@code c - k} slots), with no per-entrant sift of a heap.
 *
 * <p>Plain scalar code: a few microseconds for 2k pages, and not much slower before the JIT's last
 * tier has compiled it, whereas Vector API code allocates at every operation until then (in the
 * selection benchmark on a busy machine, the timed rounds started before that).
 */
final class PageRanking {

    private PageRanking() {
    }

    /**
     * Puts the {@code k} best of pages {@code [0, n)} in {@code best[0, k)}, in no particular order.
     * Allocates its scratch; the policy uses the overload with scratch.
     *
     * @param scores score of page {@code p} at {@code scores[offset + p]}, never NaN
     * @param offset where page 0's score is
     * @param best   receives the pages, at least {@code k} long
     * @param n      pages to choose from
     * @param k      how many to keep, {@code 0 <= k <= n}
     */
    static void selectBest(float[] scores, int offset, int[] best, int n, int k) {
        long[] keys = new long[Math.max(1, Math.min(n, Math.max(4 * k, 64)))];
        int groups = Math.min(Math.min(3 * k, n), keys.length);
        float[] maxima = new float[groups];
        groupMaxima(scores, offset, n, groups, maxima, 0);
        selectBest(scores, offset, best, keys, floorOf(maxima, 0, groups, keys, k), n, k);
    }

    /**
     * As {@link #selectBest(float[], int, int[], int, int)}, candidates in {@code keys} (more than
     * {@code k} long when {@code n > k}; {@code 4k} or more keeps reductions rare), starting from a
     * score {@code floor} that at least {@code k} of the pages reach ({@link #floorOf}; {@code -∞}
     * when none is known). Candidates are {@link #key}s, one {@code long} comparison per page; on
     * return {@code keys[i]} is the key of page {@code best[i]}, {@code i < k}.
     */
    static void selectBest(float[] scores, int offset, int[] best, long[] keys, float floor, int n, int k) {
        selectBest(scores, offset, best, keys, floor, null, 0, 0, 1, 1, n, k);
    }

    /**
     * As {@link #selectBest(float[], int, int[], long[], float, int, int)}, passing over whole groups
     * of pages whose maximum is below the threshold: group {@code g < groups} (its maximum at
     * {@code maxima[maximaOffset + g]}) holds the pages {@code ((g / lanes) * run + v) * lanes + g %
     * lanes} for {@code v < run}, the layout of {@link PageBounds#upperBounds}'s group maxima; pages
     * past the groups' are all looked at.
     */
    static void selectBest(float[] scores, int offset, int[] best, long[] keys, float floor, float[] maxima,
                           int maximaOffset, int groups, int run, int lanes, int n, int k) {
        if (k == 0) {
            return;
        }
        if (n <= k) {
            for (int p = 0; p < n; p++) {
                best[p] = p;
                keys[p] = key(scores[offset + p], p);
            }
            return;
        }
        long[] buf = keys;
        if (buf.length <= k) {
            throw new IllegalArgumentException("scratch of " + buf.length + " keys, needs more than k = " + k);
        }
        // room for candidates: at least 4k (one reduction per ~3k entrants), within the scratch
        int cap = (int) Math.min(buf.length, Math.max(4L * k, 64L));
        long thr = floor == Float.NEGATIVE_INFINITY ? Long.MIN_VALUE : ((long) sortable(floor) << 32) - 1;
        int count = 0;
        for (int g = 0; g < groups; g++) {
            if (maxima[maximaOffset + g] < floor) {
                continue; // no page of the group reaches the threshold
            }
            int first = (g / lanes) * run * lanes + g % lanes;
            for (int v = 0; v < run; v++) {
                int p = first + v * lanes;
                float s = scores[offset + p];
                if (s >= floor) {
                    long key = key(s, p);
                    if (key > thr) {
                        buf[count++] = key;
                        if (count == cap) {
                            thr = reduce(buf, count, k);
                            count = k;
                            floor = score(thr);
                        }
                    }
                }
            }
        }
        for (int p = groups / lanes * run * lanes; p < n; p++) {
            float s = scores[offset + p];
            if (s >= floor) { // rare once the threshold is up
                long key = key(s, p);
                if (key > thr) {
                    buf[count++] = key;
                    if (count == cap) {
                        thr = reduce(buf, count, k);
                        count = k;
                        floor = score(thr);
                    }
                }
            }
        }
        if (count > k) {
            selectTop(buf, count, k);
        }
        for (int i = 0; i < k; i++) {
            best[i] = page(buf[i]);
        }
    }

    /**
     * A score that at least {@code k} pages reach, from the maxima of disjoint groups of them: the
     * {@code k}-th largest maximum (the score of {@code k} distinct pages), so that a scan starts with
     * a threshold near the {@code k}-th best instead of below nearly every page. About {@code 3k}
     * groups leave about twice {@code k} pages at or above it in practice.
     *
     * @param maxima the group maxima at {@code [offset, offset + groups)}, never NaN
     * @param offset where they start
     * @param groups how many
     * @param keys   scratch, at least {@code groups} long
     * @param k      pages that must reach the result
     * @return the floor, or {@code -∞} when {@code groups < k} (or {@code k == 0})
     */
    static float floorOf(float[] maxima, int offset, int groups, long[] keys, int k) {
        if (k == 0 || groups < k || keys.length < groups) {
            return Float.NEGATIVE_INFINITY;
        }
        for (int g = 0; g < groups; g++) {
            keys[g] = key(maxima[offset + g], g);
        }
        selectTopKeys(keys, groups, k);
        float floor = Float.POSITIVE_INFINITY;
        for (int i = 0; i < k; i++) {
            floor = Math.min(floor, score(keys[i]));
        }
        return floor;
    }

    /**
     * Maxima of {@code groups} disjoint groups of pages {@code [0, n)}: page {@code p} in group
     * {@code p mod groups}, over the first whole multiple of {@code groups} pages.
     *
     * @param scores scores at {@code [offset, offset + n)}
     * @param offset where page 0's score is
     * @param n      pages
     * @param groups groups, in {@code [0, n]}
     * @param maxima receives the maxima at {@code [at, at + groups)}
     * @param at     where
     */
    static void groupMaxima(float[] scores, int offset, int n, int groups, float[] maxima, int at) {
        if (groups == 0) {
            return;
        }
        System.arraycopy(scores, offset, maxima, at, groups);
        for (int from = groups; from + groups <= n; from += groups) {
            for (int g = 0; g < groups; g++) {
                float s = scores[offset + from + g];
                float m = maxima[at + g];
                maxima[at + g] = s > m ? s : m; // never NaN; which zero is kept does not matter
            }
        }
    }

    /** The sortable bits of a score, as in {@link #key}. */
    private static int sortable(float score) {
        int bits = Float.floatToRawIntBits(score + 0f);
        return bits ^ ((bits >> 31) & 0x7fffffff);
    }

    /** Keeps the {@code k} best of {@code buf[0, count)} in {@code buf[0, k)}; returns the lowest of them. */
    private static long reduce(long[] buf, int count, int k) {
        selectTop(buf, count, k);
        long thr = Long.MAX_VALUE;
        for (int i = 0; i < k; i++) {
            thr = Math.min(thr, buf[i]);
        }
        return thr;
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

    /**
     * @return whether page {@code a} ranks before page {@code b}
     */
    static boolean better(float[] scores, int offset, int a, int b) {
        float sa = scores[offset + a];
        float sb = scores[offset + b];
        return sa > sb || (sa == sb && a < b);
    }
}

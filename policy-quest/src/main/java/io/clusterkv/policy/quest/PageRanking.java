package io.clusterkv.policy.quest;

/**
 * Partial selection of the best pages by score, in place and without allocation, instead of a sort
 * of every page.
 *
 * <p>"Better" is the higher score, ties going to the lower page index. Scores are never NaN
 * ({@link PageBounds#score} maps NaN to {@code -∞}), so this is a strict total order: the set of the
 * {@code k} best is unique and the result deterministic.
 *
 * <p>One pass over the pages against a threshold, the {@code k}-th best key seen so far: every page
 * is written to a candidate buffer and kept (the count advanced) only if its key beats the threshold,
 * so the scan has no data-dependent branch. When the buffer fills, a quickselect keeps its {@code k}
 * best and raises the threshold; a last quickselect leaves the {@code k} best. Quest keeps few pages
 * ({@code k = budget / page-size - 1}) out of many, so few pages enter; the cost is {@code O(n)}
 * expected (each reduction of a buffer of {@code c >= 4k} keys frees {@code c - k} slots), with no
 * per-entrant sift of a heap.
 */
final class PageRanking {

    private PageRanking() {
    }

    /**
     * Puts the {@code k} best of pages {@code [0, n)} in {@code best[0, k)}, in no particular order.
     * Allocates a candidate buffer; the policy uses the overload with scratch.
     *
     * @param scores score of page {@code p} at {@code scores[offset + p]}, never NaN
     * @param offset where page 0's score is
     * @param best   receives the pages, at least {@code k} long
     * @param n      pages to choose from
     * @param k      how many to keep, {@code 0 <= k <= n}
     */
    static void selectBest(float[] scores, int offset, int[] best, int n, int k) {
        selectBest(scores, offset, best, new long[Math.max(1, Math.min(n, Math.max(4 * k, 64)))], n, k);
    }

    /**
     * As {@link #selectBest(float[], int, int[], int, int)}, candidates in {@code heap} (more than
     * {@code k} long when {@code n > k}; {@code 4k} or more keeps reductions rare). Candidates are
     * {@link #key}s, one {@code long} comparison per page.
     */
    static void selectBest(float[] scores, int offset, int[] best, long[] heap, int n, int k) {
        if (k == 0) {
            return;
        }
        long[] buf = heap;
        if (n > k && buf.length <= k) {
            throw new IllegalArgumentException("scratch of " + buf.length + " keys, needs more than k = " + k);
        }
        // room for candidates: at least 4k (one reduction per ~3k entrants), within the scratch
        int cap = (int) Math.min(buf.length, Math.max(4L * k, 64L));
        long thr = Long.MAX_VALUE;
        for (int p = 0; p < k; p++) {
            long key = key(scores[offset + p], p);
            buf[p] = key;
            thr = Math.min(thr, key);
        }
        int count = k;
        int p = k;
        while (p < n) {
            // branch-free append of every page whose key beats the k-th best so far
            int end = Math.min(n, p + (cap - count));
            for (; p < end; p++) {
                long key = key(scores[offset + p], p);
                buf[count] = key;
                count += key > thr ? 1 : 0;
            }
            if (count == cap && p < n) {
                selectTop(buf, count, k);
                count = k;
                thr = Long.MAX_VALUE;
                for (int i = 0; i < k; i++) {
                    thr = Math.min(thr, buf[i]);
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
     * Moves the {@code k} largest of the distinct keys {@code a[0, n)} into {@code a[0, k)}, in no
     * particular order ({@code 0 < k < n}): quickselect, median-of-three pivots.
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
            // partition descending: [lo, i) > pivot, [j, hi] < pivot after the loop, pivot between
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] > pivot) {
                    i++;
                }
                while (a[j] < pivot) {
                    j--;
                }
                if (i <= j) {
                    long t = a[i];
                    a[i] = a[j];
                    a[j] = t;
                    i++;
                    j--;
                }
            }
            // now [lo, j] >= pivot... >= [i, hi], and j < i
            if (k - 1 <= j) {
                hi = j;
            } else if (k - 1 >= i) {
                lo = i;
            } else {
                return;
            }
        }
    }

    /**
     * A long ordered as the ranking is: the score's bits made monotone (after {@code + 0f}, so both
     * zeros are one score) above the complement of the page index (lower pages rank first on ties).
     */
    static long key(float score, int page) {
        int bits = Float.floatToRawIntBits(score + 0f);
        int sortable = bits ^ ((bits >> 31) & 0x7fffffff);
        return ((long) sortable << 32) | (~page & 0xffffffffL);
    }

    private static int page(long key) {
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

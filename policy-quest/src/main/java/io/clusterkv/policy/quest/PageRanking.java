package io.clusterkv.policy.quest;

/**
 * Partial selection of the best pages by score, in place and without allocation, instead of a sort
 * of every page.
 *
 * <p>"Better" is the higher score, ties going to the lower page index. Scores are never NaN
 * ({@link PageBounds#score} maps NaN to {@code -∞}), so this is a strict total order: the set of the
 * {@code k} best is unique and the result deterministic.
 *
 * <p>A heap of the {@code k} best so far, its worst at the root, takes one pass over the pages: a page
 * enters only if it beats the root. Quest keeps few pages ({@code k = budget / page-size - 1}) out of
 * many, so nearly every page is rejected by one predictable comparison; the cost is
 * {@code O(n + m log k)} for {@code m} entries, {@code O(n log k)} at worst, never a full sort.
 */
final class PageRanking {

    private PageRanking() {
    }

    /**
     * Puts the {@code k} best of pages {@code [0, n)} in {@code best[0, k)}, in no particular order.
     * Allocates a heap of {@code k} longs; the policy uses the overload with scratch.
     *
     * @param scores score of page {@code p} at {@code scores[offset + p]}, never NaN
     * @param offset where page 0's score is
     * @param best   receives the pages, at least {@code k} long
     * @param n      pages to choose from
     * @param k      how many to keep, {@code 0 <= k <= n}
     */
    static void selectBest(float[] scores, int offset, int[] best, int n, int k) {
        selectBest(scores, offset, best, new long[Math.max(k, 1)], n, k);
    }

    /**
     * As {@link #selectBest(float[], int, int[], int, int)}, the heap in {@code heap} (at least
     * {@code k} long). Heap entries are {@link #key}s, one {@code long} comparison per step, which the
     * JIT turns into conditional moves rather than unpredictable branches.
     */
    static void selectBest(float[] scores, int offset, int[] best, long[] heap, int n, int k) {
        if (k == 0) {
            return;
        }
        for (int p = 0; p < k; p++) {
            heap[p] = key(scores[offset + p], p);
        }
        for (int i = (k >>> 1) - 1; i >= 0; i--) {
            siftDown(heap, k, i);
        }
        float worst = score(heap[0]);
        for (int p = k; p < n; p++) {
            float s = scores[offset + p];
            // every kept page has a lower index than p, so a tie with the root keeps the root
            if (s > worst) {
                heap[0] = key(s, p);
                siftDown(heap, k, 0);
                worst = score(heap[0]);
            }
        }
        for (int i = 0; i < k; i++) {
            best[i] = page(heap[i]);
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

    private static float score(long key) {
        int sortable = (int) (key >> 32);
        return Float.intBitsToFloat(sortable ^ ((sortable >> 31) & 0x7fffffff));
    }

    private static int page(long key) {
        return ~(int) key;
    }

    /** Restores the min-heap of keys below {@code i}: the worst entry at the root. */
    private static void siftDown(long[] heap, int size, int i) {
        long x = heap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            long c = heap[child];
            int right = child + 1;
            if (right < size) {
                long r = heap[right];
                boolean takeRight = r < c;
                c = takeRight ? r : c;
                child = takeRight ? right : child;
            }
            if (x <= c) {
                break;
            }
            heap[i] = c;
            i = child;
        }
        heap[i] = x;
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

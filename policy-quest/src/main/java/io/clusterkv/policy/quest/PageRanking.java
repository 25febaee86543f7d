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
     *
     * @param scores score of page {@code p} at {@code scores[offset + p]}, never NaN
     * @param offset where page 0's score is
     * @param best   receives the pages, at least {@code k} long
     * @param n      pages to choose from
     * @param k      how many to keep, {@code 0 <= k <= n}
     */
    static void selectBest(float[] scores, int offset, int[] best, int n, int k) {
        if (k == 0) {
            return;
        }
        for (int p = 0; p < k; p++) {
            best[p] = p;
        }
        for (int i = (k >>> 1) - 1; i >= 0; i--) {
            siftDown(scores, offset, best, k, i);
        }
        float worst = scores[offset + best[0]];
        for (int p = k; p < n; p++) {
            // every kept page has a lower index than p, so a tie with the root keeps the root
            if (scores[offset + p] > worst) {
                best[0] = p;
                siftDown(scores, offset, best, k, 0);
                worst = scores[offset + best[0]];
            }
        }
    }

    /** Restores the heap below {@code i}: every page is worse than, or is, each of its children. */
    private static void siftDown(float[] scores, int offset, int[] heap, int size, int i) {
        int page = heap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && better(scores, offset, heap[child], heap[child + 1])) {
                child++; // the worse child
            }
            if (!better(scores, offset, page, heap[child])) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = page;
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

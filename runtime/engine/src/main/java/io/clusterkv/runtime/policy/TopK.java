package io.clusterkv.runtime.policy;

/**
 * In-place selection of the k best of n scored positions, in expected O(n), without allocation.
 * "Best" is the higher score, ties going to the lower position, so the result is deterministic.
 */
final class TopK {

    private TopK() {
    }

    /**
     * Reorders {@code order[0, n)} so that its first {@code k} entries are the k best positions
     * (in no particular order).
     *
     * @param scores score of each position, {@code scores[position]}
     * @param order  positions to choose from
     * @param n      how many entries of {@code order} to consider
     * @param k      how many to keep, {@code 0 <= k <= n}
     */
    static void select(float[] scores, int[] order, int n, int k) {
        int lo = 0;
        int hi = n - 1;
        long seed = 0x9E3779B97F4A7C15L;
        while (lo < hi && k > lo && k <= hi) {
            seed = seed * 6364136223846793005L + 1442695040888963407L;
            int pivotIndex = lo + (int) Long.remainderUnsigned(seed >>> 16, hi - lo + 1);
            int pivot = order[pivotIndex];
            // three-way partition: better than pivot | equal (only the pivot, as ties are broken by position) | worse
            swap(order, pivotIndex, hi);
            int store = lo;
            for (int i = lo; i < hi; i++) {
                if (better(scores, order[i], pivot)) {
                    swap(order, i, store++);
                }
            }
            swap(order, store, hi);
            if (store == k || store == k - 1) {
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
     * Sorts {@code a[0, n)} ascending in place (heapsort). Unlike
     * {@link java.util.Arrays#sort(int[], int, int)}, which allocates a buffer to merge runs (and the
     * k best of {@link #select} often hold some), it allocates nothing.
     *
     * @param a the values
     * @param n how many, from the first
     */
    static void sortAscending(int[] a, int n) {
        for (int i = n / 2 - 1; i >= 0; i--) {
            siftDown(a, i, n);
        }
        for (int end = n - 1; end > 0; end--) {
            swap(a, 0, end);
            siftDown(a, 0, end);
        }
    }

    /** Max-heap sift-down of {@code a[i]} within {@code a[0, n)}. */
    private static void siftDown(int[] a, int i, int n) {
        int v = a[i];
        for (int child = 2 * i + 1; child < n; child = 2 * i + 1) {
            if (child + 1 < n && a[child + 1] > a[child]) {
                child++;
            }
            if (v >= a[child]) {
                break;
            }
            a[i] = a[child];
            i = child;
        }
        a[i] = v;
    }

    private static boolean better(float[] scores, int a, int b) {
        float sa = scores[a];
        float sb = scores[b];
        return sa > sb || (sa == sb && a < b);
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

package io.clusterkv.spi;

/**
 * An in-place ascending sort of a prefix of a {@code long[]} that allocates nothing, for rankings on a
 * policy's hot path: a policy packs a score and a unit index into one {@code long} per unit (score bits
 * made monotone above the index) and sorts the packed keys. {@link java.util.Arrays#sort(long[], int, int)}
 * may allocate a merge buffer for some inputs; this does not. Insertion sort for up to 24 keys, heapsort
 * above, so {@code O(n log n)} whatever the order.
 *
 * @since 0.1
 */
public final class LongSort {

    private LongSort() {
    }

    /**
     * Sorts {@code a[0, n)} ascending in place.
     *
     * @param a the keys
     * @param n how many of them, from the start, to sort
     * @throws IndexOutOfBoundsException if {@code n} is negative or larger than {@code a.length}
     */
    public static void sort(long[] a, int n) {
        java.util.Objects.checkFromIndexSize(0, n, a.length);
        if (n <= 24) {
            for (int i = 1; i < n; i++) {
                long v = a[i];
                int j = i - 1;
                while (j >= 0 && a[j] > v) {
                    a[j + 1] = a[j];
                    j--;
                }
                a[j + 1] = v;
            }
            return;
        }
        for (int i = (n >>> 1) - 1; i >= 0; i--) {
            siftDown(a, i, n);
        }
        for (int end = n - 1; end > 0; end--) {
            long top = a[0];
            a[0] = a[end];
            a[end] = top;
            siftDown(a, 0, end);
        }
    }

    /** Max-heap sift-down of {@code a[i]} within {@code a[0, n)}. */
    private static void siftDown(long[] a, int i, int n) {
        long v = a[i];
        int half = n >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            long cv = a[child];
            if (child + 1 < n && a[child + 1] > cv) {
                cv = a[++child];
            }
            if (v >= cv) {
                break;
            }
            a[i] = cv;
            i = child;
        }
        a[i] = v;
    }
}

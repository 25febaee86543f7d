package io.clusterkv.spi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link LongSort} against {@link Arrays#sort(long[], int, int)}. */
class LongSortTest {

    @Test
    void sortsThePrefixAsArraysSortDoesAndLeavesTheRest() {
        SplittableRandom r = new SplittableRandom(3);
        for (int n : new int[] {0, 1, 2, 24, 25, 100, 1000}) {
            for (int trial = 0; trial < 20; trial++) {
                long[] a = new long[n + 5];
                for (int i = 0; i < a.length; i++) {
                    a[i] = trial % 3 == 0 ? r.nextLong(8) : r.nextLong(); // many ties, or none
                }
                long[] expected = a.clone();
                Arrays.sort(expected, 0, n);
                LongSort.sort(a, n);
                assertArrayEquals(expected, a, "n = " + n);
            }
        }
    }

    @Test
    void aCountOutsideTheArrayIsRefused() {
        assertThrows(IndexOutOfBoundsException.class, () -> LongSort.sort(new long[3], 4));
        assertThrows(IndexOutOfBoundsException.class, () -> LongSort.sort(new long[3], -1));
    }
}

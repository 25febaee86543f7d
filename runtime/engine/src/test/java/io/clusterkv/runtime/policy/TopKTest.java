package io.clusterkv.runtime.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TopKTest {

    /** The oracle's sort of its k best, which must not allocate, against Arrays.sort: runs, duplicates, every length to 300. */
    @Test
    void sortAscendingSortsLikeArraysSort() {
        SplittableRandom random = new SplittableRandom(7);
        for (int n = 0; n <= 300; n++) {
            int[] a = new int[n + 3]; // sorts a prefix
            for (int i = 0; i < a.length; i++) {
                a[i] = switch (n % 3) {
                    case 0 -> random.nextInt(1000);     // distinct-ish
                    case 1 -> random.nextInt(8);        // many duplicates
                    default -> i % 17 + random.nextInt(2) * 40; // ascending runs
                };
            }
            int[] expected = a.clone();
            Arrays.sort(expected, 0, n);
            TopK.sortAscending(a, n);
            assertArrayEquals(expected, a, "n=" + n);
        }
    }
}

package io.clusterkv.policy.quest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The threshold-and-quickselect ranking against a full sort, on orders that stress it. */
class PageRankingTest {

    @Test
    void keepsTheKBestLikeAFullSort() {
        SplittableRandom rnd = new SplittableRandom(42);
        for (int round = 0; round < 3000; round++) {
            int n = 1 + rnd.nextInt(round % 10 == 0 ? 3000 : 300);
            int k = rnd.nextInt(n + 1);
            int shape = rnd.nextInt(6);
            float[] scores = new float[n + 3];
            int offset = rnd.nextInt(4);
            for (int p = 0; p < n; p++) {
                scores[offset + p] = switch (shape) {
                    case 0 -> (float) rnd.nextGaussian();
                    case 1 -> p;                        // ascending: every page enters
                    case 2 -> -p;                       // descending: none enters
                    case 3 -> rnd.nextInt(3);           // heavy ties
                    case 4 -> rnd.nextBoolean() ? 0f : -0f;
                    default -> rnd.nextInt(10) == 0 ? Float.NEGATIVE_INFINITY : (float) rnd.nextInt(1000);
                };
            }
            Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
            Arrays.sort(order, Comparator.<Integer>comparingDouble(p -> -(scores[offset + p] + 0f))
                    .thenComparingInt(p -> p));
            int[] expected = new int[k];
            for (int i = 0; i < k; i++) {
                expected[i] = order[i];
            }
            Arrays.sort(expected);
            int[] best = new int[k];
            long[] scratch = new long[Math.max(1, Math.min(n, k + 1 + rnd.nextInt(4 * k + 64)))];
            int groups = rnd.nextInt(n + 1); // any number of groups: fewer than k gives no first threshold
            float[] maxima = new float[groups + 2];
            PageRanking.groupMaxima(scores, offset, n, groups, maxima, 2);
            float floor = PageRanking.floorOf(maxima, 2, groups, new long[groups], k);
            PageRanking.selectBest(scores, offset, best, scratch, floor, n, k);
            for (int i = 0; i < k; i++) {
                assertEquals(PageRanking.key(scores[offset + best[i]], best[i]), scratch[i], "key of best[" + i + "]");
            }
            int[] sorted = Arrays.copyOf(best, k);
            Arrays.sort(sorted);
            assertArrayEquals(expected, sorted, "round " + round + " shape " + shape + " n " + n + " k " + k);
            // the same with whole groups of pages passed over: runs of `run` vectors of `lanes` pages
            int lanes = 1 + rnd.nextInt(16);
            int run = 1 + rnd.nextInt(4);
            int vgroups = n / lanes / run * lanes;
            float[] vmaxima = new float[vgroups];
            Arrays.fill(vmaxima, Float.NEGATIVE_INFINITY);
            for (int g = 0; g < vgroups; g++) {
                for (int v = 0; v < run; v++) {
                    vmaxima[g] = Math.max(vmaxima[g], scores[offset + ((g / lanes) * run + v) * lanes + g % lanes]);
                }
            }
            float vfloor = PageRanking.floorOf(vmaxima, 0, vgroups, new long[vgroups], k);
            PageRanking.selectBest(scores, offset, best, scratch, vfloor, vmaxima, 0, vgroups, run, lanes, n, k);
            for (int i = 0; i < k; i++) {
                assertEquals(PageRanking.key(scores[offset + best[i]], best[i]), scratch[i], "key of best[" + i + "]");
            }
            Arrays.sort(best);
            assertArrayEquals(expected, best, "round " + round + " shape " + shape + " n " + n + " k " + k);
            int[] best2 = new int[k];
            PageRanking.selectBest(scores, offset, best2, n, k);
            Arrays.sort(best2);
            assertArrayEquals(expected, best2, "allocating overload, round " + round);
        }
    }
}

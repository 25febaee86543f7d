package io.clusterkv.policy.quest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The counting ranking against a full sort, on orders that stress its bisection. */
class PageRankingTest {

    /** Scores of a given shape at {@code [offset, offset + n)}, garbage (never read as a page) around them. */
    private static float[] scores(SplittableRandom rnd, int shape, int offset, int n) {
        float[] scores = new float[offset + n + 17];
        Arrays.fill(scores, Float.NaN); // outside the pages: must never be read as one
        for (int p = 0; p < n; p++) {
            scores[offset + p] = switch (shape) {
                case 0 -> (float) rnd.nextGaussian();
                case 1 -> p;                                     // ascending
                case 2 -> -p;                                    // descending
                case 3 -> rnd.nextInt(3);                        // heavy ties
                case 4 -> rnd.nextBoolean() ? 0f : -0f;          // both zeros are one score
                case 5 -> rnd.nextInt(10) == 0 ? Float.NEGATIVE_INFINITY : (float) rnd.nextInt(1000);
                case 6 -> rnd.nextInt(8) == 0 ? Float.POSITIVE_INFINITY : (float) rnd.nextGaussian(); // wild pages
                case 7 -> Float.MIN_VALUE * rnd.nextInt(5);      // subnormal neighbours: bisection on the bits
                case 8 -> (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-30, 30))); // magnitudes far apart
                case 9 -> rnd.nextInt(50) == 0 ? 1e30f : 1f + rnd.nextInt(4) * Math.ulp(1f); // adjacent floats
                default -> Float.MAX_VALUE * (rnd.nextBoolean() ? 1 : -1);
            };
        }
        return scores;
    }

    private static int[] expectedBest(float[] scores, int offset, int n, int k) {
        return IntStream.range(0, n).boxed()
                .sorted(Comparator.<Integer>comparingDouble(p -> -(scores[offset + p] + 0f)).thenComparingInt(p -> p))
                .limit(k).mapToInt(Integer::intValue).sorted().toArray();
    }

    @Test
    void keepsTheKBestLikeAFullSort() {
        SplittableRandom rnd = new SplittableRandom(42);
        for (int round = 0; round < 3000; round++) {
            int n = 1 + rnd.nextInt(round % 10 == 0 ? 3000 : 300);
            int k = rnd.nextInt(n + 1);
            int shape = rnd.nextInt(11);
            int offset = rnd.nextInt(20);
            float[] scores = scores(rnd, shape, offset, n);
            int[] best = new int[k];
            long[] keys = new long[n];
            PageRanking.selectBest(scores, offset, best, keys, n, k);
            for (int i = 0; i < k; i++) {
                assertEquals(PageRanking.key(scores[offset + best[i]], best[i]), keys[i], "key of best[" + i + "]");
            }
            Arrays.sort(best);
            assertArrayEquals(expectedBest(scores, offset, n, k), best,
                    "round " + round + " shape " + shape + " n " + n + " k " + k);
        }
    }

    @Test
    void thresholdIsReachedByAtLeastKPagesAndFewWhereScoresAllowIt() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int round = 0; round < 2000; round++) {
            int n = 1 + rnd.nextInt(2500);
            int k = 1 + rnd.nextInt(n);
            int shape = rnd.nextInt(11);
            int offset = rnd.nextInt(20);
            float[] scores = scores(rnd, shape, offset, n);
            int enough = 2 * k + 32;
            float t = PageRanking.threshold(scores, offset, n, k, enough);
            int reach = 0;
            int above = 0; // pages strictly above t: all of them are among the k best
            for (int p = 0; p < n; p++) {
                reach += scores[offset + p] >= t ? 1 : 0;
                above += scores[offset + p] > t ? 1 : 0;
            }
            String at = "round " + round + " shape " + shape + " n " + n + " k " + k + " t " + t;
            assertTrue(reach >= k, at + ": " + reach + " pages reach the threshold");
            assertEquals(reach, PageRanking.countAtLeast(scores, offset, n, t), at);
            // more than enough only through ties at t (no float between t and the next score up keeps k)
            assertTrue(reach <= enough || above < k, at + ": " + reach + " reach it, " + above + " above it");
        }
    }

    @Test
    void collectsThePagesAtOrAboveAThresholdBelowAKey() {
        SplittableRandom rnd = new SplittableRandom(9);
        for (int round = 0; round < 1000; round++) {
            int n = 1 + rnd.nextInt(700);
            int offset = rnd.nextInt(20);
            float[] scores = scores(rnd, rnd.nextInt(11), offset, n);
            float t = scores[offset + rnd.nextInt(n)];
            long below = rnd.nextInt(4) == 0 ? Long.MAX_VALUE
                    : PageRanking.key(scores[offset + rnd.nextInt(n)], rnd.nextInt(n));
            long[] out = new long[n + 5];
            int at = rnd.nextInt(5);
            int end = PageRanking.collectAtLeast(scores, offset, n, t, below, out, at);
            long[] expected = IntStream.range(0, n).filter(p -> scores[offset + p] >= t)
                    .mapToLong(p -> PageRanking.key(scores[offset + p], p)).filter(key -> key < below).toArray();
            assertArrayEquals(expected, Arrays.copyOfRange(out, at, end), "round " + round);
        }
    }
}

package io.clusterkv.policy.quest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;

/**
 * The counting ranking against a full sort, on generated orders that stress its bisection; a failure
 * shrinks to the fewest pages and the simplest scores.
 */
class PageRankingTest {

    /**
     * Scores of one shape at {@code [offset, offset + n)}, garbage (NaN, never read as a page) around
     * them; {@code shape} names the kind for the failure report.
     */
    record Scores(int shape, int offset, int n, float[] scores) {
        @Override
        public String toString() {
            return "shape " + shape + " offset " + offset + " n " + n + ": "
                    + Arrays.toString(Arrays.copyOfRange(scores, offset, offset + n));
        }
    }

    /** Scores in [-4, 4] with 6 decimals (integers scaled: jqwik's decimal floats cost 10 times more). */
    private static Arbitrary<Float> gaussian() {
        return Arbitraries.integers().between(-4_000_000, 4_000_000).map(i -> i * 1e-6f);
    }

    /** The kinds of score the ranking meets; each stresses its bisection differently. */
    private static Arbitrary<Float> page(int shape) {
        return switch (shape) {
            case 0 -> gaussian();
            case 3 -> Arbitraries.integers().between(0, 2).map(i -> (float) i);                 // heavy ties
            case 4 -> Arbitraries.of(0f, -0f);                                                  // both zeros are one score
            case 5 -> Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(Float.NEGATIVE_INFINITY)),
                    Tuple.of(9, Arbitraries.integers().between(0, 999).map(i -> (float) i)));
            case 6 -> Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(Float.POSITIVE_INFINITY)),
                    Tuple.of(7, gaussian()));                                                   // wild pages
            case 7 -> Arbitraries.integers().between(0, 4).map(i -> Float.MIN_VALUE * i);      // subnormal neighbours: bisection on the bits
            case 8 -> Combinators.combine(gaussian(), Arbitraries.integers().between(-30, 29))
                    .as((g, e) -> (float) (g * Math.pow(10, e)));                              // magnitudes far apart
            case 9 -> Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(1e30f)),
                    Tuple.of(49, Arbitraries.integers().between(0, 3).map(i -> 1f + i * Math.ulp(1f)))); // adjacent floats
            default -> Arbitraries.of(Float.MAX_VALUE, -Float.MAX_VALUE);
        };
    }

    /** Shapes 0-10 of 1 to {@code maxPages} pages; shapes 1 and 2 ascend and descend. */
    private static Arbitrary<Scores> scores(int maxPages) {
        Arbitrary<Integer> pages = Arbitraries.integers().between(1, maxPages).withDistribution(RandomDistribution.biased());
        return Combinators.combine(Arbitraries.integers().between(0, 10), Arbitraries.integers().between(0, 19), pages)
                .flatAs((shape, offset, n) -> {
                    Arbitrary<float[]> pageScores = switch (shape) {
                        case 1 -> Arbitraries.just(IntStream.range(0, n).mapToObj(p -> (float) p).toList())
                                .map(PageRankingTest::floats);
                        case 2 -> Arbitraries.just(IntStream.range(0, n).mapToObj(p -> (float) -p).toList())
                                .map(PageRankingTest::floats);
                        default -> page(shape).list().ofSize(n).map(PageRankingTest::floats);
                    };
                    return pageScores.map(ps -> {
                        float[] all = new float[offset + n + 17];
                        Arrays.fill(all, Float.NaN); // outside the pages: must never be read as one
                        System.arraycopy(ps, 0, all, offset, n);
                        return new Scores(shape, offset, n, all);
                    });
                });
    }

    private static float[] floats(List<Float> list) {
        float[] a = new float[list.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = list.get(i);
        }
        return a;
    }

    @Provide
    Arbitrary<Scores> upTo3000() {
        return scores(3000);
    }

    @Provide
    Arbitrary<Scores> upTo2500() {
        return scores(2500);
    }

    @Provide
    Arbitrary<Scores> upTo700() {
        return scores(700);
    }

    private static int[] expectedBest(float[] scores, int offset, int n, int k) {
        return IntStream.range(0, n).boxed()
                .sorted(Comparator.<Integer>comparingDouble(p -> -(scores[offset + p] + 0f)).thenComparingInt(p -> p))
                .limit(k).mapToInt(Integer::intValue).sorted().toArray();
    }

    @Property(tries = 200)
    void keepsTheKBestLikeAFullSort(@ForAll("upTo3000") Scores c, @ForAll @IntRange(max = 3000) int kWish) {
        int n = c.n();
        int offset = c.offset();
        float[] scores = c.scores();
        int k = kWish % (n + 1);
        int[] best = new int[k];
        long[] keys = new long[n];
        PageRanking.selectBest(scores, offset, best, keys, n, k);
        for (int i = 0; i < k; i++) {
            assertEquals(PageRanking.key(scores[offset + best[i]], best[i]), keys[i], "key of best[" + i + "]");
        }
        Arrays.sort(best);
        assertArrayEquals(expectedBest(scores, offset, n, k), best, "k " + k);
    }

    @Property(tries = 200)
    void thresholdIsReachedByAtLeastKPagesAndFewWhereScoresAllowIt(@ForAll("upTo2500") Scores c,
            @ForAll @IntRange(max = 2500) int kWish) {
        int n = c.n();
        int offset = c.offset();
        float[] scores = c.scores();
        int k = 1 + kWish % n;
        int enough = 2 * k + 32;
        float t = PageRanking.threshold(scores, offset, n, k, enough);
        int reach = 0;
        int above = 0; // pages strictly above t: all of them are among the k best
        for (int p = 0; p < n; p++) {
            reach += scores[offset + p] >= t ? 1 : 0;
            above += scores[offset + p] > t ? 1 : 0;
        }
        String at = "k " + k + " t " + t;
        assertTrue(reach >= k, at + ": " + reach + " pages reach the threshold");
        assertEquals(reach, PageRanking.countAtLeast(scores, offset, n, t), at);
        // more than enough only through ties at t (no float between t and the next score up keeps k)
        assertTrue(reach <= enough || above < k, at + ": " + reach + " reach it, " + above + " above it");
    }

    @Property(tries = 150)
    void collectsThePagesAtOrAboveAThresholdBelowAKey(@ForAll("upTo700") Scores c, @ForAll @IntRange(max = 699) int tPage,
            @ForAll @IntRange(max = 699) int belowPage, @ForAll @IntRange(max = 699) int belowPosition,
            @ForAll boolean unbounded, @ForAll @IntRange(max = 4) int at) {
        int n = c.n();
        int offset = c.offset();
        float[] scores = c.scores();
        float t = scores[offset + tPage % n];
        long below = unbounded ? Long.MAX_VALUE : PageRanking.key(scores[offset + belowPage % n], belowPosition % n);
        long[] out = new long[n + 5];
        int end = PageRanking.collectAtLeast(scores, offset, n, t, below, out, at);
        long[] expected = IntStream.range(0, n).filter(p -> scores[offset + p] >= t)
                .mapToLong(p -> PageRanking.key(scores[offset + p], p)).filter(key -> key < below).toArray();
        assertArrayEquals(expected, Arrays.copyOfRange(out, at, end), "t " + t + " below " + below);
    }
}

package io.clusterkv.policy.quest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.TreeSet;
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
 * The policy ranks pages by rough upper bounds and rescores only those that may be among the best;
 * its choice must be the exhaustive ranking's, page for page. The reference here recomputes every
 * page's bounds from the raw keys, scores every page one channel at a time
 * ({@link PageBoundsTest#referenceScore}) and sorts all of them (score descending, lower page first).
 */
class PrunedRankingTest {

    /** Inputs that stress the pruning. */
    enum Shape {
        /** Gaussian keys and queries of both signs. */
        GAUSSIAN,
        /** Small integers: products and sums exact, so scores tie often. */
        INTEGER_TIES,
        /** Every key the same: every page ties, the lowest pages win. */
        ALL_EQUAL,
        /** Negative queries only: every score comes from the minima. */
        NEGATIVE_QUERIES,
        /** A zero query: every score is zero. */
        ZERO_QUERY,
        /** Keys that differ only below the rough copy's step: rough bounds tie, exact scores do not. */
        BELOW_ROUGH_STEP,
        /** Channels but the first tiny in keys and queries: scaled query parts underflow, the rough copy is not used. */
        TINY_QUERY_PARTS,
        /** NaN, infinities, the largest floats (rounded out to infinity), subnormals, signed zeros. */
        ADVERSARIAL,
        /** Topic-like clusters with a few prominent pages, as the synthetic workload has. */
        CLUSTERED
    }

    /** The size of a case: page size, head dim, heads, budget and context; a failure shrinks to the smallest. */
    record Size(int pageSize, int hd, int heads, int budget, int n) {
    }

    /** Budgets of 2 to 21 pages, a third of the time up to 201; a context of up to 12 budgets more. */
    @Provide
    Arbitrary<Size> sizes() {
        Arbitrary<Integer> pageSizes = Arbitraries.of(1, 3, 16);
        Arbitrary<Integer> headDims = Arbitraries.of(1, 5, 16, 33, 128);
        Arbitrary<Integer> heads = Arbitraries.integers().between(1, 6);
        Arbitrary<Integer> budgetPages = Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.integers().between(2, 21)),
                Tuple.of(1, Arbitraries.integers().between(2, 201).withDistribution(RandomDistribution.uniform())));
        return Combinators.combine(pageSizes, headDims, heads, budgetPages).flatAs((pageSize, hd, h, pages) -> {
            int budget = pageSize * pages;
            return Arbitraries.integers().between(0, budget * 12 - 1).withDistribution(RandomDistribution.uniform())
                    .map(extra -> new Size(pageSize, hd, h, budget, budget + 1 + extra));
        });
    }

    @Property(tries = 200)
    void prunedChoiceIsTheExhaustiveRanking(@ForAll Shape shape, @ForAll("sizes") Size size,
            @ForAll @IntRange(max = 1) int promptShort, @ForAll long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int pageSize = size.pageSize();
        int hd = size.hd();
        int heads = size.heads();
        int budget = size.budget();
        int n = size.n();
        float[] keys = keys(shape, rnd, n, hd);
        QuestPolicy policy = new QuestPolicy(pageSize, hd, heads, budget);
        int prompt = Math.max(1, n - 3 * pageSize - promptShort);
        policy.onPrompt(KeyView.of(keys, prompt, hd));
        SelectionBuffer sel = new SelectionBuffer(heads, budget);
        // several steps on one policy: scratch left by one step must not leak into the next
        for (int context = prompt; context <= n; context += 1 + rnd.nextInt(pageSize + 1)) {
            if (context > prompt) {
                policy.onAppend(context - 1, KeyView.of(keys, context, hd));
            }
            float[] q = queries(shape, rnd, heads, hd);
            sel.reset(budget, context);
            policy.select(Queries.wrap(q, heads, hd), KeyView.of(keys, context, hd), budget, sel);
            if (context <= budget) {
                continue;
            }
            for (int h = 0; h < heads; h++) {
                TreeSet<Integer> got = new TreeSet<>();
                for (int p : sel.head(h).sortedPositions()) {
                    got.add(p / pageSize);
                }
                assertEquals(expected(keys, context, hd, pageSize, q, h, budget / pageSize - 1), got,
                        "context " + context + " head " + h);
            }
        }
    }

    /** The newest page and the {@code k} best others by the exhaustive ranking. */
    private static TreeSet<Integer> expected(float[] keys, int n, int hd, int pageSize, float[] q, int h, int k) {
        int newest = (n - 1) / pageSize;
        float[] qh = Arrays.copyOfRange(q, h * hd, (h + 1) * hd);
        long[] ranked = new long[newest];
        float[] mins = new float[hd];
        float[] maxs = new float[hd];
        for (int p = 0; p < newest; p++) {
            Arrays.fill(mins, Float.POSITIVE_INFINITY);
            Arrays.fill(maxs, Float.NEGATIVE_INFINITY);
            for (int pos = p * pageSize; pos < (p + 1) * pageSize; pos++) {
                for (int c = 0; c < hd; c++) {
                    mins[c] = Math.min(mins[c], keys[pos * hd + c]);
                    maxs[c] = Math.max(maxs[c], keys[pos * hd + c]);
                }
            }
            float score = PageBoundsTest.referenceScore(mins, maxs, qh, hd);
            ranked[p] = ((long) sortable(score) << 32) | (newest - 1 - p); // lower page ranks first on ties
        }
        Arrays.sort(ranked);
        TreeSet<Integer> pages = new TreeSet<>();
        for (int i = 0; i < k; i++) {
            pages.add(newest - 1 - (int) ranked[newest - 1 - i]);
        }
        pages.add(newest);
        return pages;
    }

    /** An int ordered as the floats are, the two zeros equal. */
    private static int sortable(float score) {
        int bits = Float.floatToIntBits(score == 0f ? 0f : score);
        return bits >= 0 ? bits : bits ^ 0x7fffffff;
    }

    private static float[] keys(Shape shape, SplittableRandom rnd, int n, int hd) {
        float[] keys = new float[n * hd];
        switch (shape) {
            case INTEGER_TIES -> fill(keys, () -> rnd.nextInt(-3, 4));
            case ALL_EQUAL -> {
                float[] one = new float[hd];
                fill(one, () -> (float) rnd.nextGaussian());
                for (int p = 0; p < n; p++) {
                    System.arraycopy(one, 0, keys, p * hd, hd);
                }
            }
            case BELOW_ROUGH_STEP -> fill(keys, () -> (rnd.nextBoolean() ? 1f : -1f) // steps of 2^-14 near 1
                    * Float.intBitsToFloat(0x3f800000 + rnd.nextInt(0x200)));
            case TINY_QUERY_PARTS -> {
                fill(keys, () -> (float) rnd.nextGaussian());
                for (int i = 0; i < keys.length; i++) {
                    keys[i] = i % hd == 0 ? keys[i] : Math.scalb(keys[i], -100);
                }
            }
            case ADVERSARIAL -> keys = PageBoundsTest.adversarialKeys(rnd, n, hd);
            case CLUSTERED -> {
                float[][] centres = new float[6][hd];
                for (float[] c : centres) {
                    fill(c, () -> (float) rnd.nextGaussian());
                }
                float[] centre = centres[0];
                for (int p = 0; p < n; p++) {
                    if (rnd.nextInt(40) == 0) {
                        centre = centres[rnd.nextInt(centres.length)];
                    }
                    float gain = rnd.nextInt(50) == 0 ? 4f : 1f;
                    for (int c = 0; c < hd; c++) {
                        keys[p * hd + c] = gain * (centre[c] + 0.5f * (float) rnd.nextGaussian());
                    }
                }
            }
            default -> fill(keys, () -> (float) rnd.nextGaussian());
        }
        return keys;
    }

    private static float[] queries(Shape shape, SplittableRandom rnd, int heads, int hd) {
        float[] q = new float[heads * hd];
        switch (shape) {
            case INTEGER_TIES -> fill(q, () -> rnd.nextInt(-3, 4));
            case NEGATIVE_QUERIES -> fill(q, () -> -Math.abs((float) rnd.nextGaussian()));
            case ZERO_QUERY -> Arrays.fill(q, rnd.nextBoolean() ? 0f : -0f);
            case TINY_QUERY_PARTS -> {
                fill(q, () -> (float) rnd.nextGaussian());
                for (int i = 0; i < q.length; i++) {
                    q[i] = i % hd == 0 ? q[i] : Math.scalb(q[i], -80); // times 2^-60: below the normal floats
                }
            }
            default -> fill(q, () -> (float) rnd.nextGaussian());
        }
        return q;
    }

    private interface FloatSource {
        float next();
    }

    private static void fill(float[] a, FloatSource source) {
        for (int i = 0; i < a.length; i++) {
            a[i] = source.next();
        }
    }
}

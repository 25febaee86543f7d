package io.clusterkv.policy.quest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.KeyView;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Page metadata and the score kernel, against quantities computed here independently: min/max from
 * the raw keys, {@code q · k} and the paper's bound in double.
 */
class PageBoundsTest {

    /** Head dims around and between vector lengths (4, 8, 16 lanes), so tails are exercised. */
    private static final int[] HEAD_DIMS = {1, 3, 7, 8, 16, 17, 31, 64, 100, 128};
    private static final int[] PAGE_SIZES = {1, 2, 5, 16, 17, 64};

    /** Keys of a random scale with negative values, exact zeros of both signs, and outliers. */
    static float[] randomKeys(SplittableRandom rnd, int n, int hd) {
        float[] keys = new float[n * hd];
        float scale = (float) Math.pow(10, rnd.nextInt(-2, 3));
        for (int i = 0; i < keys.length; i++) {
            int kind = rnd.nextInt(40);
            keys[i] = switch (kind) {
                case 0 -> 0f;
                case 1 -> -0f;
                case 2 -> scale * 50f * (float) (rnd.nextDouble() - 0.5);
                default -> scale * (float) (rnd.nextDouble() * 2 - 1) + (rnd.nextBoolean() ? -0.25f * scale : 0f);
            };
        }
        return keys;
    }

    static float[] randomQueries(SplittableRandom rnd, int heads, int hd) {
        float[] q = new float[heads * hd];
        for (int i = 0; i < q.length; i++) {
            q[i] = rnd.nextInt(30) == 0 ? 0f : (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-1, 2)));
        }
        return q;
    }

    /** Feeds {@code keys} to a fresh index: a prompt of {@code prompt} positions, then one append at a time. */
    static PageBounds incremental(float[] keys, int n, int hd, int pageSize, int prompt) {
        PageBounds b = new PageBounds(pageSize, hd, 1);
        b.extendTo(KeyView.of(keys, prompt, hd));
        for (int size = prompt + 1; size <= n; size++) {
            b.extendTo(KeyView.of(keys, size, hd));
        }
        return b;
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6})
    void incrementalBoundsEqualBoundsRecomputedFromScratch(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int round = 0; round < 12; round++) {
            int hd = HEAD_DIMS[rnd.nextInt(HEAD_DIMS.length)];
            int pageSize = PAGE_SIZES[rnd.nextInt(PAGE_SIZES.length)];
            int n = 1 + rnd.nextInt(pageSize * 9); // last page usually partial
            float[] keys = randomKeys(rnd, n, hd);
            PageBounds b = incremental(keys, n, hd, pageSize, rnd.nextInt(n + 1));
            PageBounds bulk = new PageBounds(pageSize, hd, 1);
            bulk.extendTo(KeyView.of(keys, n, hd));
            int pages = (n + pageSize - 1) / pageSize;
            assertEquals(pages, b.pages());
            assertEquals(n, b.positions());
            for (int p = 0; p < pages; p++) {
                for (int c = 0; c < hd; c++) {
                    float mn = Float.POSITIVE_INFINITY;
                    float mx = Float.NEGATIVE_INFINITY;
                    for (int pos = p * pageSize; pos < Math.min(n, (p + 1) * pageSize); pos++) {
                        mn = Math.min(mn, keys[pos * hd + c]);
                        mx = Math.max(mx, keys[pos * hd + c]);
                    }
                    String at = "seed " + seed + " hd " + hd + " page size " + pageSize + " page " + p
                            + " channel " + c;
                    assertBits(mn, b.min(p, c), "min " + at);
                    assertBits(mx, b.max(p, c), "max " + at);
                    assertBits(mn, bulk.min(p, c), "bulk min " + at);
                    assertBits(mx, bulk.max(p, c), "bulk max " + at);
                }
            }
        }
    }

    /** Exact equality, telling -0 from 0. */
    private static void assertBits(float expected, float actual, String message) {
        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual),
                message + ": expected " + expected + " but was " + actual);
    }

    @ParameterizedTest
    @ValueSource(longs = {11, 12, 13, 14, 15, 16, 17, 18})
    void scoreBoundsEveryKeyOfItsPageAndIsThePapersFormula(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int round = 0; round < 10; round++) {
            int hd = HEAD_DIMS[rnd.nextInt(HEAD_DIMS.length)];
            int pageSize = PAGE_SIZES[rnd.nextInt(PAGE_SIZES.length)];
            int heads = 1 + rnd.nextInt(4);
            int n = 1 + rnd.nextInt(pageSize * 12);
            float[] keys = randomKeys(rnd, n, hd);
            float[] q = randomQueries(rnd, heads, hd);
            PageBounds b = incremental(keys, n, hd, pageSize, rnd.nextInt(n + 1));
            int pages = b.pages();
            int stride = pages + rnd.nextInt(3);
            float[] scores = new float[heads * stride];
            float[] qPos = new float[heads * hd];
            float[] qNeg = new float[heads * hd];
            PageBounds.splitQuery(q, heads * hd, qPos, qNeg);
            b.score(qPos, qNeg, heads, pages, scores, stride);
            for (int h = 0; h < heads; h++) {
                for (int p = 0; p < pages; p++) {
                    int from = p * pageSize;
                    int to = Math.min(n, from + pageSize);
                    double bestDot = Double.NEGATIVE_INFINITY;
                    for (int pos = from; pos < to; pos++) {
                        double dot = 0;
                        for (int c = 0; c < hd; c++) {
                            dot += (double) q[h * hd + c] * keys[pos * hd + c];
                        }
                        bestDot = Math.max(bestDot, dot);
                    }
                    double paper = 0;
                    double magnitude = 0;
                    for (int c = 0; c < hd; c++) {
                        double mn = Double.POSITIVE_INFINITY;
                        double mx = Double.NEGATIVE_INFINITY;
                        for (int pos = from; pos < to; pos++) {
                            mn = Math.min(mn, keys[pos * hd + c]);
                            mx = Math.max(mx, keys[pos * hd + c]);
                        }
                        double qc = q[h * hd + c];
                        paper += Math.max(qc * mn, qc * mx);
                        magnitude += Math.abs(qc) * Math.max(Math.abs(mn), Math.abs(mx));
                    }
                    // float products and sums: each rounding is within 2^-24 of what it rounds
                    double tol = (hd + 2) * 0x1p-23 * magnitude + Float.MIN_NORMAL;
                    float got = scores[h * stride + p];
                    String at = "seed " + seed + " hd " + hd + " page size " + pageSize + " head " + h + " page " + p;
                    assertTrue(got >= bestDot - tol, at + ": score " + got + " below max q.k " + bestDot);
                    assertEquals(paper, got, tol, at + ": score differs from sum max(q m, q M)");
                    assertTrue(paper >= bestDot - 1e-9 * magnitude, at + ": the paper's bound itself");
                }
            }
        }
    }

    @Test
    void singleKeyPageScoresItsDotProduct() {
        float[] key = {1.5f, -2f, 0.25f, 3f, -1f};
        float[] q = {2f, 1f, -4f, 0.5f, -1f};
        PageBounds b = new PageBounds(1, 5, 1);
        b.extendTo(KeyView.of(key, 1, 5));
        float[] qPos = new float[5];
        float[] qNeg = new float[5];
        PageBounds.splitQuery(q, 5, qPos, qNeg);
        float[] s = new float[1];
        b.score(qPos, qNeg, 1, 1, s, 1);
        assertEquals(3f - 2f - 1f + 1.5f + 1f, s[0]);
    }

    @Test
    void nanScoreRanksLast() {
        float[] keys = {Float.NaN, 1f};
        PageBounds b = new PageBounds(1, 1, 1);
        b.extendTo(KeyView.of(keys, 2, 1));
        float[] s = new float[2];
        b.score(new float[] {1f}, new float[] {0f}, 1, 2, s, 2);
        assertEquals(Float.NEGATIVE_INFINITY, s[0]);
        assertEquals(1f, s[1]);
    }

    @Test
    void growsByDoublingAndRejectsShrinkingViews() {
        float[] keys = randomKeys(new SplittableRandom(9), 100, 4);
        PageBounds b = new PageBounds(4, 4, 1);
        for (int size = 1; size <= 100; size++) {
            b.extendTo(KeyView.of(keys, size, 4));
        }
        assertEquals(25, b.pages());
        assertEquals(32, b.pageCapacity());
        assertThrows(IllegalStateException.class, () -> b.extendTo(KeyView.of(keys, 99, 4)));
        assertThrows(IllegalArgumentException.class, () -> b.extendTo(KeyView.of(new float[101 * 8], 101, 8)));
    }
}

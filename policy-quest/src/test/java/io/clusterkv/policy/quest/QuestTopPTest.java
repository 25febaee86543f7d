package io.clusterkv.policy.quest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyConfigException;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The adaptive budget ({@code top-p}) against a naive reference computed here: the budget's best pages
 * by the paper's bound (in double from the raw keys; ties: lower page), kept best first while their
 * shares of a softmax of {@code bound / sqrt(d)} over the pages before the newest stay below {@code p};
 * the newest page always.
 */
class QuestTopPTest {

    private static SelectionBuffer select(int pageSize, int hd, int heads, int budget, double topP, float[] keys,
            float[] q) {
        int n = keys.length / hd;
        QuestPolicy policy = new QuestPolicy(pageSize, hd, heads, budget, topP);
        policy.onPrompt(KeyView.of(keys, n, hd));
        SelectionBuffer out = new SelectionBuffer(heads, budget);
        out.reset(budget, n);
        policy.select(Queries.wrap(q, heads, hd), KeyView.of(keys, n, hd), budget, out);
        return out;
    }

    private static double bound(float[] keys, int hd, int pageSize, float[] q, int h, int page) {
        double s = 0;
        for (int c = 0; c < hd; c++) {
            double mn = Double.POSITIVE_INFINITY;
            double mx = Double.NEGATIVE_INFINITY;
            for (int p = page * pageSize; p < (page + 1) * pageSize; p++) {
                mn = Math.min(mn, keys[p * hd + c]);
                mx = Math.max(mx, keys[p * hd + c]);
            }
            s += Math.max(q[h * hd + c] * mn, q[h * hd + c] * mx);
        }
        return s;
    }

    /** The positions head {@code h} attends, by the naive reference. */
    private static int[] reference(int pageSize, int hd, int budget, double p, float[] keys, float[] q, int h) {
        int n = keys.length / hd;
        int newest = (n - 1) / pageSize;
        int k = budget / pageSize - 1;
        double[] score = new double[newest];
        double max = Double.NEGATIVE_INFINITY;
        for (int page = 0; page < newest; page++) {
            score[page] = bound(keys, hd, pageSize, q, h, page);
            max = Math.max(max, score[page]);
        }
        double scale = 1 / Math.sqrt(hd);
        double total = 0;
        for (int page = 0; page < newest; page++) {
            total += Math.exp((score[page] - max) * scale);
        }
        Integer[] ranked = IntStream.range(0, newest).boxed().toArray(Integer[]::new);
        Arrays.sort(ranked, Comparator.<Integer>comparingDouble(page -> -score[page]).thenComparingInt(page -> page));
        List<Integer> kept = new ArrayList<>();
        double covered = 0;
        for (int i = 0; i < k && (p == 0 || covered < p); i++) {
            kept.add(ranked[i]);
            covered += Math.exp((score[ranked[i]] - max) * scale) / total;
        }
        kept.add(newest);
        return kept.stream().sorted().flatMapToInt(page -> IntStream.range(page * pageSize, Math.min(n, (page + 1) * pageSize)))
                .toArray();
    }

    /** {@code pages} pages of 4 positions, head dim 4; page {@code j}'s keys all equal {@code firstChannel[j]} in channel 0. */
    private static float[] pages(float... firstChannel) {
        float[] keys = new float[firstChannel.length * 4 * 4];
        for (int page = 0; page < firstChannel.length; page++) {
            for (int p = page * 4; p < (page + 1) * 4; p++) {
                keys[p * 4] = firstChannel[page];
            }
        }
        return keys;
    }

    @Test
    void oneDominantPageIsKeptAloneWithTheNewest() {
        float[] keys = pages(0, 0, 40, 0, 0, 0, 0, 0, 0, 0); // page 2 scores 40, logit 20: its share is ~1
        float[] q = {1, 0, 0, 0};
        int budget = 20; // 5 pages: the newest and 4 chosen
        int[] expected = IntStream.concat(IntStream.range(8, 12), IntStream.range(36, 40)).toArray();
        assertArrayEquals(expected, select(4, 4, 1, budget, 0.9, keys, q).head(0).sortedPositions());
        assertArrayEquals(expected, reference(4, 4, budget, 0.9, keys, q, 0));
        assertEquals(budget, select(4, 4, 1, budget, 0, keys, q).head(0).size(), "top-p off fills the budget");
        // a subnormal query part the rough copy cannot scale: every rough bound is +inf, the exact ones are used
        float[] odd = {1, 1e-40f, 0, 0};
        QuestPolicy probe = new QuestPolicy(4, 4, 1, budget, 0.9);
        probe.onPrompt(KeyView.of(keys, 40, 4));
        float[] table = new float[2 * 4];
        PageBounds.splitQuery(odd, 1, 4, table, new double[2]);
        assertTrue(!probe.bounds().upperBounds(table, 1, 9, new float[PageBounds.padded(9)], PageBounds.padded(9)),
                "the rough copy gives up on this query");
        assertArrayEquals(expected, select(4, 4, 1, budget, 0.9, keys, odd).head(0).sortedPositions());
    }

    @Test
    void flatScoresFillTheBudgetAndAShareOfThemFewerPages() {
        float[] keys = pages(0, 0, 0, 0, 0, 0, 0, 0, 0, 0); // 9 pages before the newest, each 1/9 of the mass
        float[] q = {1, 2, 3, 4};
        int budget = 20;
        int[] fixed = select(4, 4, 1, budget, 0, keys, q).head(0).sortedPositions();
        int[] adaptive = select(4, 4, 1, budget, 0.95, keys, q).head(0).sortedPositions();
        assertArrayEquals(fixed, adaptive, "0.95 of the mass needs 9 pages: the budget's 4 cap it");
        assertArrayEquals(reference(4, 4, budget, 0.95, keys, q, 0), adaptive);
        int[] third = select(4, 4, 1, budget, 0.3, keys, q).head(0).sortedPositions();
        assertEquals(4 * 4, third.length, "3 pages of 1/9 reach 0.3, and the newest");
        assertArrayEquals(reference(4, 4, budget, 0.3, keys, q, 0), third);
    }

    @Property(tries = 300)
    void matchesTheNaiveReference(@ForAll @IntRange(min = 0, max = 4) int pageSizeIndex,
            @ForAll @IntRange(min = 0, max = 3) int hdIndex, @ForAll @IntRange(min = 1, max = 4) int heads,
            @ForAll @IntRange(min = 2, max = 6) int budgetPages, @ForAll @IntRange(min = 1, max = 100) int percent,
            @ForAll long seed) {
        int pageSize = new int[] {1, 2, 3, 4, 16}[pageSizeIndex];
        int hd = new int[] {1, 2, 4, 8}[hdIndex];
        SplittableRandom rnd = new SplittableRandom(seed);
        int budget = budgetPages * pageSize + rnd.nextInt(pageSize);
        int n = budget + 1 + rnd.nextInt(budget * 7);
        float[] keys = new float[n * hd];
        float[] q = new float[heads * hd];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = rnd.nextInt(-3, 4); // small integers: bounds exact in float, ties frequent
        }
        for (int i = 0; i < q.length; i++) {
            q[i] = rnd.nextInt(-3, 4);
        }
        double p = percent / 100.0;
        SelectionBuffer out = select(pageSize, hd, heads, budget, p, keys, q);
        for (int h = 0; h < heads; h++) {
            int[] got = out.head(h).sortedPositions();
            assertArrayEquals(reference(pageSize, hd, budget, p, keys, q, h), got,
                    "page size " + pageSize + ", hd " + hd + ", budget " + budget + ", n " + n + ", p " + p + ", head " + h);
            assertTrue(got.length <= budget);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"-0.1", "1.01", "NaN", "most"})
    void badTopPNamesKeyAndValue(String value) {
        RecallPolicyProvider provider = new QuestPolicy.Provider();
        var ctx = new PolicyContext(new ShardGeometry(0, 0, 2, 32), 64,
                PolicyConfig.of(provider.name(), provider.configKeys(), Map.of("top-p", value)), 1L);
        PolicyConfigException e = assertThrows(PolicyConfigException.class, () -> provider.create(ctx));
        assertEquals("clusterkv.policy.quest.top-p", e.key());
        assertEquals(value, e.value());
        assertTrue(e.getMessage().contains("clusterkv.policy.quest.top-p") && e.getMessage().contains(value), e.getMessage());
    }
}

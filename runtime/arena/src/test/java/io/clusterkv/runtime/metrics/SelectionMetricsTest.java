package io.clusterkv.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

class SelectionMetricsTest {

    private static final int[] NONE = new int[0];
    private static final int NO_WINDOW = HeadSelectionBuffer.NO_WINDOW;

    /**
     * Four positions, headDim 2, q = (1, 0), scale 1, keys (ln w, 0) so the exact weights are
     * w / 10 = (0.1, 0.2, 0.3, 0.4). Values v0 = (1, 0), v1 = (0, 1), v2 = (1, 1), v3 = (0, 0):
     * o = 0.1·v0 + 0.2·v1 + 0.3·v2 = (0.4, 0.5).
     */
    private static final float[] Q = {1f, 0f};
    private static final float[] K = {(float) Math.log(1), 0, (float) Math.log(2), 0, (float) Math.log(3), 0,
            (float) Math.log(4), 0};
    private static final float[] V = {1, 0, 0, 1, 1, 1, 0, 0};

    private static SelectionMetrics handCase() {
        return new SelectionMetrics().prepare(Q, 0, K, V, 4, 2, 1.0);
    }

    /** Soft-capped at 1: logits tanh(ln w), so the weights are proportional to e^tanh(ln w), not to w. */
    @Test
    void softCappedLogitsWeighAsTheCappedAttention() {
        try (KvShard shard = new KvShard(2, KvFormat.F32, 64)) {
            for (int p = 0; p < 4; p++) {
                shard.append(K, 2 * p, V, 2 * p);
            }
            SelectionMetrics m = new SelectionMetrics().prepare(Q, 0, shard.snapshot(), 1.0, 1.0);
            double sum = 0;
            for (int w = 1; w <= 4; w++) {
                sum += Math.exp(Math.tanh(Math.log(w)));
            }
            for (int p = 0; p < 4; p++) {
                assertEquals(Math.tanh(Math.log(p + 1)), m.logit(p), 1e-6);
                assertEquals(Math.exp(Math.tanh(Math.log(p + 1))) / sum, m.weight(p), 1e-6);
            }
            assertEquals(0.4, new SelectionMetrics().prepare(Q, 0, shard.snapshot(), 1.0, 0).weight(3), 1e-6,
                    "cap 0: none");
            assertThrows(IllegalArgumentException.class, () -> new SelectionMetrics().prepare(Q, 0, shard.snapshot(), 1.0,
                    -1));
        }
    }

    @Test
    void handComputedFourPositions() {
        SelectionMetrics m = handCase();
        assertEquals(0.1, m.weight(0), 1e-6);
        assertEquals(0.4, m.weight(3), 1e-6);

        // S = {1, 3}: mass 0.2 + 0.4; o_S = (2·v1 + 4·v3) / 6 = (0, 1/3)
        SelectionQuality q = m.evaluate(new int[] {1, 3}, 2, NO_WINDOW, 2);
        assertEquals(0.6, q.attentionMass(), 1e-6);
        assertEquals(0.5, q.top10Recall(), 0.0, "n < 10: over the 4 positions, 2 of them selected");
        assertEquals(0.5, q.topBudgetRecall(), 0.0, "Top2 = {3, 2}, only 3 selected");
        double expectedError = Math.hypot(0.4, 0.5 - 1.0 / 3) / Math.hypot(0.4, 0.5);
        assertEquals(expectedError, q.outputError(), 1e-6);
        assertEquals(2, q.attended());

        // Top1 = {3}
        assertEquals(1.0, m.evaluate(new int[] {1, 3}, 2, NO_WINDOW, 1).topBudgetRecall(), 0.0);
        // S = {2}: o_S = v2 = (1, 1)
        SelectionQuality two = m.evaluate(new int[] {2}, 1, NO_WINDOW, 2);
        assertEquals(0.3, two.attentionMass(), 1e-6);
        assertEquals(Math.hypot(0.6, 0.5) / Math.hypot(0.4, 0.5), two.outputError(), 1e-6);
        assertEquals(0.5, two.topBudgetRecall(), 0.0);
        assertEquals(0.25, two.top10Recall(), 0.0);
    }

    @Test
    void windowOnlySelectionCounts() {
        SelectionMetrics m = handCase();
        SelectionQuality q = m.evaluate(NONE, 0, 2, 2); // window {2, 3}
        assertEquals(0.7, q.attentionMass(), 1e-6);
        assertEquals(1.0, q.topBudgetRecall(), 0.0);
        assertEquals(0.5, q.top10Recall(), 0.0);
        assertEquals(2, q.attended());
        // o_S = (3·v2 + 4·v3) / 7 = (3/7, 3/7)
        assertEquals(Math.hypot(0.4 - 3.0 / 7, 0.5 - 3.0 / 7) / Math.hypot(0.4, 0.5), q.outputError(), 1e-6);
    }

    @Test
    void explicitPositionsInsideTheWindowAndDuplicatesCountOnce() {
        SelectionMetrics m = handCase();
        SelectionQuality q = m.evaluate(new int[] {0, 3, 0, 2}, 4, 2, 4);
        assertEquals(3, q.attended());
        assertEquals(0.8, q.attentionMass(), 1e-6);
        assertEquals(0.75, q.top10Recall(), 0.0);
    }

    @Test
    void fullSelectionIsExact() {
        SelectionMetrics m = handCase();
        SelectionQuality viaWindow = m.evaluate(NONE, 0, 0, 1);
        SelectionQuality viaPositions = m.evaluate(new int[] {3, 1, 0, 2}, 4, NO_WINDOW, 4);
        for (SelectionQuality q : List.of(viaWindow, viaPositions)) {
            assertEquals(new SelectionQuality(1, 1, 1, 0, 4), q);
        }
    }

    @Test
    void emptySelectionHasNoMassAndUnitError() {
        SelectionMetrics m = handCase();
        SelectionQuality q = m.evaluate(NONE, 0, NO_WINDOW, 2);
        assertEquals(new SelectionQuality(0, 0, 0, 1, 0), q);
        SelectionQuality emptyWindow = m.evaluate(NONE, 0, 4, 2);
        assertEquals(0, emptyWindow.attended());
        assertEquals(0.0, emptyWindow.attentionMass(), 0.0);
    }

    @Test
    void tiesGoToTheLowerPosition() {
        float[] keys = new float[6 * 2];
        float[] values = new float[6 * 2];
        for (int p = 0; p < 6; p++) {
            keys[p * 2] = 1f; // every logit equal
            values[p * 2 + 1] = p;
        }
        SelectionMetrics m = new SelectionMetrics().prepare(Q, 0, keys, values, 6, 2, 0.5);
        assertEquals(1.0, m.evaluate(new int[] {0, 1}, 2, NO_WINDOW, 2).topBudgetRecall(), 0.0);
        assertEquals(0.0, m.evaluate(new int[] {4, 5}, 2, NO_WINDOW, 2).topBudgetRecall(), 0.0);
        assertEquals(0.5, m.evaluate(new int[] {1, 5}, 2, NO_WINDOW, 2).topBudgetRecall(), 0.0);
        assertEquals(2.0 / 6, m.evaluate(new int[] {4, 5}, 2, NO_WINDOW, 2).attentionMass(), 1e-12);
    }

    @Test
    void tenBestOfManyAndBudgetCappedAtN() {
        int n = 30;
        float[] keys = new float[n];
        float[] values = new float[n];
        for (int p = 0; p < n; p++) {
            keys[p] = p; // logit grows with the position: Top10 = {20..29}
            values[p] = 1;
        }
        SelectionMetrics m = new SelectionMetrics().prepare(new float[] {0.1f}, 0, keys, values, n, 1, 1.0);
        SelectionQuality q = m.evaluate(new int[] {29, 25, 19, 0}, 4, NO_WINDOW, 100);
        assertEquals(0.2, q.top10Recall(), 0.0);
        assertEquals(4.0 / 30, q.topBudgetRecall(), 1e-15, "B = min(100, n) = 30");
        assertEquals(0.0, q.outputError(), 1e-12, "constant values: any non-empty selection is exact");
    }

    /** A view of {@code n} positions of dim {@code d} and one selection from it. */
    record Case(int n, int d, int qOff, boolean wide, boolean ties, int[] positions, int windowStart, int budget) {
        @Override
        public String toString() {
            return "n=" + n + " d=" + d + " qOff=" + qOff + (wide ? " keys x4" : "") + (ties ? " ties" : "")
                    + " positions " + java.util.Arrays.toString(positions) + " windowStart " + windowStart
                    + " budget " + budget;
        }
    }

    /**
     * Up to 500 positions (mostly under 40), keys of two scales, ties planted now and then; a selection
     * of up to n + 2 positions (repeats allowed), a window a third of the time, any budget. A failure
     * shrinks to the smallest view and selection.
     */
    @Provide
    Arbitrary<Case> cases() {
        Arbitrary<Integer> sizes = Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.integers().between(1, 40)),
                Tuple.of(2, Arbitraries.integers().between(1, 500)));
        return Combinators.combine(sizes, Arbitraries.integers().between(1, 24), Arbitraries.integers().between(0, 3),
                Arbitraries.of(true, false)).flatAs((n, d, qOff, wide) -> {
                    Arbitrary<int[]> positions = Arbitraries.integers().between(0, n - 1).array(int[].class)
                            .ofMaxSize(n + 2);
                    Arbitrary<Integer> window = Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.just(NO_WINDOW)),
                            Tuple.of(2, Arbitraries.integers().between(0, n)));
                    return Combinators.combine(Arbitraries.integers().between(0, 4), positions, window,
                            Arbitraries.integers().between(1, n + 5))
                            .as((ties, ps, w, budget) -> new Case(n, d, qOff, wide, ties == 0, ps, w, budget));
                });
    }

    /** Reused across tries (jqwik: one instance per property): buffers grow and shrink in use. */
    private final SelectionMetrics reused = new SelectionMetrics();

    @Property(tries = 200)
    void bruteForceOnRandomData(@ForAll("cases") Case c, @ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = c.n();
        int d = c.d();
        int qOff = c.qOff();
        float[] q = randomFloats(r, d + 3, 1.0);
        float[] keys = randomFloats(r, n * d, c.wide() ? 4.0 : 1.0);
        if (c.ties()) { // plant ties
            for (int p = 1; p < n; p += 3) {
                System.arraycopy(keys, 0, keys, p * d, d);
            }
        }
        float[] values = randomFloats(r, n * d, 1.0);
        double scale = 1 / Math.sqrt(d);
        reused.prepare(q, qOff, keys, values, n, d, scale);
        int[] positions = c.positions();
        int count = positions.length;
        SelectionQuality got = reused.evaluate(positions, count, c.windowStart(), c.budget());
        SelectionQuality want = naive(q, qOff, keys, values, n, d, scale, positions, count, c.windowStart(), c.budget());
        assertEquals(want.top10Recall(), got.top10Recall(), 0.0);
        assertEquals(want.topBudgetRecall(), got.topBudgetRecall(), 0.0);
        assertEquals(want.attentionMass(), got.attentionMass(), 1e-12);
        assertEquals(want.outputError(), got.outputError(), 1e-9 * Math.max(1, want.outputError()));
        assertEquals(want.attended(), got.attended());
    }

    /** Independent, slow reference: sort by (logit desc, position asc), sets, softmax over everything. */
    private static SelectionQuality naive(float[] q, int qOff, float[] keys, float[] values, int n, int d, double scale,
            int[] positions, int count, int windowStart, int budget) {
        double[] logit = new double[n];
        for (int p = 0; p < n; p++) {
            double s = 0;
            for (int c = 0; c < d; c++) {
                s += (double) q[qOff + c] * keys[p * d + c];
            }
            logit[p] = s * scale;
        }
        List<Integer> ranked = new ArrayList<>();
        for (int p = 0; p < n; p++) {
            ranked.add(p);
        }
        ranked.sort(Comparator.<Integer>comparingDouble(p -> -logit[p]).thenComparingInt(p -> p));
        Set<Integer> s = new HashSet<>();
        for (int i = 0; i < count; i++) {
            s.add(positions[i]);
        }
        if (windowStart != NO_WINDOW) {
            for (int p = windowStart; p < n; p++) {
                s.add(p);
            }
        }
        int k10 = Math.min(10, n);
        int kb = Math.min(budget, n);
        long hits10 = ranked.subList(0, k10).stream().filter(s::contains).count();
        long hitsB = ranked.subList(0, kb).stream().filter(s::contains).count();
        double max = Double.NEGATIVE_INFINITY;
        for (double l : logit) {
            max = Math.max(max, l);
        }
        double z = 0;
        double[] w = new double[n];
        for (int p = 0; p < n; p++) {
            w[p] = Math.exp(logit[p] - max);
            z += w[p];
        }
        double mass = 0;
        double massS = 0;
        double[] o = new double[d];
        double[] os = new double[d];
        for (int p = 0; p < n; p++) {
            double a = w[p] / z;
            for (int c = 0; c < d; c++) {
                o[c] += a * values[p * d + c];
            }
            if (s.contains(p)) {
                mass += a;
                massS += w[p];
                for (int c = 0; c < d; c++) {
                    os[c] += w[p] * values[p * d + c];
                }
            }
        }
        double err;
        if (s.isEmpty()) {
            err = 1;
        } else {
            double diff = 0;
            double norm = 0;
            for (int c = 0; c < d; c++) {
                double x = os[c] / massS - o[c];
                diff += x * x;
                norm += o[c] * o[c];
            }
            err = s.size() == n ? 0 : Math.sqrt(diff) / Math.sqrt(norm);
        }
        return new SelectionQuality((double) hits10 / k10, (double) hitsB / kb, Math.min(1, mass), err, s.size());
    }

    @Test
    void shardViewGivesTheSameResultsAsArrays() {
        SplittableRandom r = new SplittableRandom(11);
        int n = 300;
        int d = 16;
        float[] keys = randomFloats(r, n * d, 2.0);
        float[] values = randomFloats(r, n * d, 1.0);
        float[] q = randomFloats(r, 2 * d, 1.0);
        try (KvShard shard = new KvShard(d, KvFormat.F32, 64)) {
            shard.appendAll(keys, values, n);
            SelectionBuffer selection = new SelectionBuffer(2, 32);
            selection.reset(32, n);
            HeadSelectionBuffer head = selection.head(1);
            head.addRange(0, 0, 5, 30);
            head.add(200);
            head.attendFrom(290);
            SelectionMetrics fromArrays = new SelectionMetrics();
            SelectionMetrics fromView = new SelectionMetrics();
            SelectionQuality a = fromArrays.prepare(q, d, keys, values, n, d, 0.25).evaluate(head);
            SelectionQuality b = fromView.prepare(q, d, shard.snapshot(), 0.25).evaluate(head);
            assertEquals(a, b);
            assertEquals(36, a.attended());
            assertTrue(a.attentionMass() > 0 && a.attentionMass() < 1);
        }
    }

    @Test
    void headSelectionBudgetAndContextAreChecked() {
        SelectionMetrics m = handCase();
        SelectionBuffer selection = new SelectionBuffer(1, 2);
        selection.reset(2, 4);
        selection.head(0).add(3);
        assertEquals(1.0, m.evaluate(selection.head(0)).topBudgetRecall() * 2, 0.0, "budget 2 from the selection");
        selection.reset(2, 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.evaluate(selection.head(0)));
        assertTrue(e.getMessage().contains("5") && e.getMessage().contains("4"), e.getMessage());
    }

    @Test
    void badInputsFailClearly() {
        SelectionMetrics fresh = new SelectionMetrics();
        assertThrows(IllegalStateException.class, () -> fresh.evaluate(NONE, 0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> fresh.prepare(Q, 0, K, V, 0, 2, 1.0));
        assertThrows(IllegalArgumentException.class, () -> fresh.prepare(Q, 0, K, V, 5, 2, 1.0));
        assertThrows(IllegalArgumentException.class, () -> fresh.prepare(Q, 0, K, V, 4, 2, 0.0));
        assertThrows(IllegalArgumentException.class, () -> fresh.prepare(Q, 0, K, V, 4, 2, Double.NaN));
        assertThrows(IndexOutOfBoundsException.class, () -> fresh.prepare(Q, 1, K, V, 4, 2, 1.0));
        float[] nanKeys = K.clone();
        nanKeys[4] = Float.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> fresh.prepare(Q, 0, nanKeys, V, 4, 2, 1.0));
        assertTrue(e.getMessage().contains("position 2"), e.getMessage());
        assertThrows(IllegalStateException.class, fresh::entropy, "a failed prepare leaves nothing prepared");

        SelectionMetrics m = handCase();
        assertThrows(IllegalArgumentException.class, () -> m.evaluate(NONE, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> m.evaluate(NONE, 0, 5, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> m.evaluate(new int[] {4}, 1, NO_WINDOW, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> m.evaluate(new int[] {1}, 2, NO_WINDOW, 1));
    }

    @Test
    void entropyOfTheHandCase() {
        double want = 0;
        for (double w : new double[] {0.1, 0.2, 0.3, 0.4}) {
            want -= w * Math.log(w);
        }
        assertEquals(want, handCase().entropy(), 1e-6);
    }

    static float[] randomFloats(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (r.nextGaussian() * scale);
        }
        return a;
    }
}

package io.clusterkv.runtime.synthetic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.metrics.SelectionMetrics;
import io.clusterkv.runtime.synthetic.SyntheticWorkload.PositionKind;
import io.clusterkv.spi.Queries;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SyntheticWorkloadTest {

    /** Defaults with fewer steps, to keep the statistics tests fast. */
    private static final WorkloadParams SMALL = WorkloadParams.defaults().withSteps(16);

    @Test
    void sameSeedGivesIdenticalArraysAndOtherSeedsDiffer() {
        SyntheticWorkload a = SyntheticWorkload.generate(SMALL);
        SyntheticWorkload b = SyntheticWorkload.generate(SMALL);
        SyntheticWorkload c = SyntheticWorkload.generate(SMALL.withSeed(43));
        assertArrayEquals(a.keys(), b.keys());
        assertArrayEquals(a.values(), b.values());
        assertArrayEquals(a.needlePositions(), b.needlePositions());
        for (int t = 0; t < a.steps(); t++) {
            assertArrayEquals(a.queryArray(t), b.queryArray(t));
        }
        assertFalse(Arrays.equals(a.keys(), c.keys()));
        assertFalse(Arrays.equals(a.values(), c.values()));
        assertFalse(Arrays.equals(a.queryArray(0), c.queryArray(0)));
        assertFalse(Arrays.equals(a.needlePositions(), c.needlePositions()));
    }

    @Test
    void moreStepsLeaveEarlierRowsAndQueriesUnchanged() {
        SyntheticWorkload shorter = SyntheticWorkload.generate(SMALL.withPromptLength(1000).withSteps(5));
        SyntheticWorkload longer = SyntheticWorkload.generate(SMALL.withPromptLength(1000).withSteps(20));
        int rows = shorter.length() * shorter.headDim();
        assertArrayEquals(shorter.keys(), Arrays.copyOf(longer.keys(), rows));
        assertArrayEquals(shorter.values(), Arrays.copyOf(longer.values(), rows));
        for (int t = 0; t < shorter.steps(); t++) {
            assertArrayEquals(shorter.queryArray(t), longer.queryArray(t));
        }
    }

    @Test
    void shapes() {
        WorkloadParams p = SMALL.withPromptLength(500).withSteps(7).withHeadDim(64).withQueryHeads(3);
        SyntheticWorkload w = SyntheticWorkload.generate(p);
        assertSame(p, w.params());
        assertEquals(507, w.length());
        assertEquals(507 * 64, w.keys().length);
        assertEquals(507 * 64, w.values().length);
        assertEquals(3 * 64, w.queryArray(6).length);
        Queries q = w.queries(2);
        assertEquals(3, q.heads());
        assertEquals(64, q.headDim());
        assertEquals(w.queryArray(2)[64 + 5], q.get(1, 5));
        assertEquals(502, w.position(2));
        assertEquals(503, w.contextSize(2));
        assertEquals(503, w.keyView(503).size());
        assertEquals(1 / 8.0, w.scale());
        assertEquals(2, w.targetTopics(6, 2).length);
        assertThrows(IndexOutOfBoundsException.class, () -> w.queries(7));
        assertThrows(IndexOutOfBoundsException.class, () -> w.targetNeedle(0, 3));
        assertThrows(IndexOutOfBoundsException.class, () -> w.keyView(508));
        assertThrows(IndexOutOfBoundsException.class, () -> w.kindOf(507));
        for (float x : w.keys()) {
            assertTrue(Float.isFinite(x));
        }
    }

    @Test
    void positionKindsTopicsAndNeedles() {
        SyntheticWorkload w = SyntheticWorkload.generate(SMALL);
        WorkloadParams p = w.params();
        int[] needles = w.needlePositions();
        assertEquals(p.needles(), needles.length);
        for (int j = 0; j < needles.length; j++) {
            assertTrue(needles[j] >= p.sinks() && needles[j] < p.promptLength(), "needle in the prompt, after the sinks");
            assertTrue(j == 0 || needles[j] > needles[j - 1], "ascending and distinct");
            assertEquals(PositionKind.NEEDLE, w.kindOf(needles[j]));
            assertEquals(-1, w.topicOf(needles[j]));
        }
        int topicPositions = 0;
        for (int pos = 0; pos < w.length(); pos++) {
            PositionKind kind = w.kindOf(pos);
            assertEquals(pos < p.sinks(), kind == PositionKind.SINK);
            if (kind == PositionKind.TOPIC) {
                topicPositions++;
                assertTrue(w.topicOf(pos) >= 0 && w.topicOf(pos) < p.topics());
            }
        }
        assertEquals(w.length() - p.sinks() - p.needles(), topicPositions);
    }

    @Test
    void topicSegmentsHaveTheirMeanLength() {
        for (double mean : new double[] {8, 64}) {
            SyntheticWorkload w = SyntheticWorkload.generate(SMALL.withPromptLength(8192).withMeanSegmentLength(mean)
                    .withNeedles(0));
            int switches = 0;
            for (int pos = w.params().sinks() + 1; pos < w.length(); pos++) {
                if (w.topicOf(pos) != w.topicOf(pos - 1)) {
                    switches++;
                }
            }
            double observed = (double) (w.length() - w.params().sinks()) / (switches + 1);
            assertEquals(mean, observed, 0.3 * mean, "mean segment length");
        }
    }

    @Test
    void keyGeometry() {
        SyntheticWorkload w = SyntheticWorkload.generate(SMALL.withPromptLength(2000));
        int d = w.headDim();
        float[] k = w.keys();
        for (int s = 0; s < w.params().sinks(); s++) {
            assertEquals(w.params().sinkNorm() * Math.sqrt(d), norm(k, s, d), 1e-3, "sink key norm");
        }
        // cosine of two keys of one topic is about coherence², of two topics about 0
        double same = 0;
        double other = 0;
        int nSame = 0;
        int nOther = 0;
        for (int a = 10; a < 2000; a += 7) {
            for (int b = a + 3; b < 2000; b += 97) {
                if (w.kindOf(a) != PositionKind.TOPIC || w.kindOf(b) != PositionKind.TOPIC) {
                    continue;
                }
                double cos = dot(k, a, k, b, d) / (norm(k, a, d) * norm(k, b, d));
                if (w.topicOf(a) == w.topicOf(b)) {
                    same += cos;
                    nSame++;
                } else {
                    other += cos;
                    nOther++;
                }
            }
        }
        double c2 = w.params().topicCoherence() * w.params().topicCoherence();
        assertEquals(c2, same / nSame, 0.05);
        assertEquals(0.0, other / nOther, 0.02);
    }

    @Test
    void sinksTopicsRecencyAndConcentrationOfAttention() {
        SyntheticWorkload w = SyntheticWorkload.generate(SMALL);
        SelectionMetrics m = new SelectionMetrics();
        int queries = 0;
        double sinkMass = 0;
        double topicMass = 0;
        double top5 = 0;
        double maxWeight = 0;
        double entropy = 0;
        double recencyGap = 0;
        for (int t = 0; t < w.steps(); t++) {
            int n = w.contextSize(t);
            double[] weights = new double[n];
            for (int h = 0; h < w.queryHeads(); h++) {
                m.prepare(w.queryArray(t), h * w.headDim(), w.keys(), w.values(), n, w.headDim(), w.scale());
                int[] targets = w.targetTopics(t, h);
                double max = 0;
                for (int p = 0; p < n; p++) {
                    weights[p] = m.weight(p);
                    max = Math.max(max, weights[p]);
                    if (w.kindOf(p) == PositionKind.SINK) {
                        sinkMass += weights[p];
                    } else if (contains(targets, w.topicOf(p))) {
                        topicMass += weights[p];
                    }
                }
                Arrays.sort(weights);
                int k = (int) Math.ceil(0.05 * n);
                for (int i = n - k; i < n; i++) {
                    top5 += weights[i];
                }
                maxWeight += max;
                entropy += m.entropy();
                // recency: the previous position's logit against the median logit
                double[] logits = new double[n];
                for (int p = 0; p < n; p++) {
                    logits[p] = m.logit(p);
                }
                double previous = logits[n - 2];
                Arrays.sort(logits);
                recencyGap += previous - logits[n / 2];
                queries++;
            }
        }
        assertTrue(sinkMass / queries > 0.1, "sinks draw a large share: " + sinkMass / queries);
        assertTrue(topicMass / queries > 0.3, "targeted topics draw a large share: " + topicMass / queries);
        assertTrue(top5 / queries > 0.6, "top 5% of positions carry most of the mass: " + top5 / queries);
        assertTrue(maxWeight / queries < 0.5, "not one-hot: mean largest weight " + maxWeight / queries);
        double h = entropy / queries;
        assertTrue(h > 2 && h < 7, "entropy of a few nats: " + h);
        double expectedGap = w.params().recencyLogit() * Math.exp(-1 / w.params().recencyScale());
        assertTrue(recencyGap / queries > 0.7 * expectedGap, "recent positions are favoured: " + recencyGap / queries);
    }

    @Test
    void targetedNeedlesRankInTheTopTen() {
        for (long seed : new long[] {1, 2}) {
            SyntheticWorkload w = SyntheticWorkload.generate(SMALL.withSeed(seed).withSteps(24).withNeedleProbability(0.5));
            int d = w.headDim();
            int targeted = 0;
            for (int t = 0; t < w.steps(); t++) {
                float[] q = w.queryArray(t);
                int n = w.contextSize(t);
                for (int h = 0; h < w.queryHeads(); h++) {
                    int needle = w.targetNeedle(t, h);
                    if (needle < 0) {
                        continue;
                    }
                    targeted++;
                    double score = dotAt(q, h * d, w.keys(), needle * d, d);
                    int better = 0;
                    for (int p = 0; p < n; p++) {
                        if (dotAt(q, h * d, w.keys(), p * d, d) > score) {
                            better++;
                        }
                    }
                    assertTrue(better < 10, "seed " + seed + " step " + t + " head " + h + ": needle " + needle
                            + " ranks " + (better + 1));
                }
            }
            assertTrue(targeted >= 10, "enough needle queries to test: " + targeted);
        }
    }

    @Test
    void queryHeadsOfTheGroupChooseTheirOwnTargets() {
        SyntheticWorkload w = SyntheticWorkload.generate(SMALL.withQueryHeads(8));
        int differing = 0;
        for (int t = 0; t < w.steps(); t++) {
            for (int h = 1; h < w.queryHeads(); h++) {
                if (!Arrays.equals(w.targetTopics(t, 0), w.targetTopics(t, h))) {
                    differing++;
                }
                assertFalse(Arrays.equals(Arrays.copyOfRange(w.queryArray(t), 0, w.headDim()),
                        Arrays.copyOfRange(w.queryArray(t), h * w.headDim(), (h + 1) * w.headDim())));
            }
        }
        assertTrue(differing > w.steps() * (w.queryHeads() - 1) / 2, "heads mostly target different topics");
    }

    @Test
    void fillsAShardPromptThenStepByStep() {
        SyntheticWorkload w = SyntheticWorkload.generate(SMALL.withPromptLength(300).withSteps(3).withHeadDim(16)
                .withTopics(8).withNeedles(2));
        try (KvShard shard = new KvShard(16, KvFormat.F32, 64)) {
            assertThrows(IllegalStateException.class, () -> w.appendStep(shard, 0), "prompt not there yet");
            w.appendPrompt(shard);
            assertEquals(300, shard.size());
            assertThrows(IllegalStateException.class, () -> w.appendPrompt(shard));
            assertThrows(IllegalStateException.class, () -> w.appendStep(shard, 1), "steps go in order");
            for (int t = 0; t < w.steps(); t++) {
                assertEquals(w.position(t), w.appendStep(shard, t));
            }
            KvShard.View view = shard.snapshot();
            float[] keys = new float[w.length() * 16];
            float[] values = new float[w.length() * 16];
            view.copyKeys(0, w.length(), keys, 0);
            view.copyValues(0, w.length(), values, 0);
            assertArrayEquals(w.keys(), keys);
            assertArrayEquals(w.values(), values);
        }
        try (KvShard wrongDim = new KvShard(32, KvFormat.F32)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> w.appendPrompt(wrongDim));
            assertTrue(e.getMessage().contains("32") && e.getMessage().contains("16"), e.getMessage());
        }
    }

    @Test
    void longContextsSmallHeadsAndUnstructuredDirections() {
        // beyond 32k positions, headDim 64
        SyntheticWorkload longer = SyntheticWorkload.generate(SMALL.withPromptLength(40_000).withSteps(2).withHeadDim(64));
        assertEquals(40_002 * 64, longer.keys().length);
        assertNotEquals(0f, longer.keys()[longer.keys().length - 1]);
        // more semantic directions than headDim - 16: directions are independent random vectors
        SyntheticWorkload crowded = SyntheticWorkload.generate(SMALL.withHeadDim(32).withTopics(40).withSteps(4));
        SelectionMetrics m = new SelectionMetrics();
        double sinkMass = 0;
        for (int t = 0; t < crowded.steps(); t++) {
            m.prepare(crowded.queryArray(t), 0, crowded.keys(), crowded.values(), crowded.contextSize(t), 32,
                    crowded.scale());
            for (int s = 0; s < crowded.params().sinks(); s++) {
                sinkMass += m.weight(s);
            }
        }
        assertTrue(sinkMass / crowded.steps() > 0.05, "sinks still draw attention: " + sinkMass / crowded.steps());
        // no decode steps, no recency, no noise
        SyntheticWorkload quiet = SyntheticWorkload.generate(SMALL.withSteps(0).withRecencyLogit(0).withNoiseLogit(0));
        assertEquals(0, quiet.steps());
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    private static double dot(float[] a, int aRow, float[] b, int bRow, int d) {
        return dotAt(a, aRow * d, b, bRow * d, d);
    }

    private static double dotAt(float[] a, int aOff, float[] b, int bOff, int d) {
        double s = 0;
        for (int c = 0; c < d; c++) {
            s += (double) a[aOff + c] * b[bOff + c];
        }
        return s;
    }

    private static double norm(float[] a, int row, int d) {
        return Math.sqrt(dot(a, row, a, row, d));
    }
}

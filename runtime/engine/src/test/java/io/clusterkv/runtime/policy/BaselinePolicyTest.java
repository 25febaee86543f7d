package io.clusterkv.runtime.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.Comparator;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BaselinePolicyTest {

    private static final PolicyRegistry REGISTRY = PolicyRegistry.load();

    private static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextGaussian();
        }
        return a;
    }

    @Test
    void oracleSelectsTheExactTopBOfEachHead() {
        Random r = new Random(3);
        int n = 3000;
        int d = 24;
        int heads = 3;
        float[] k = random(r, n * d);
        float[] q = random(r, heads * d);
        KeyView keys = KeyView.of(k, n, d);
        RecallPolicy oracle = REGISTRY.create("oracle", new ShardGeometry(0, 0, heads, d), 100, Map.of(), 1);
        for (int budget : new int[] {1, 10, 257, 2999}) {
            SelectionBuffer sel = new SelectionBuffer(heads, budget);
            sel.reset(budget, n);
            oracle.select(Queries.wrap(q, heads, d), keys, budget, sel);
            for (int h = 0; h < heads; h++) {
                final int head = h;
                double[] score = new double[n];
                for (int p = 0; p < n; p++) {
                    for (int c = 0; c < d; c++) {
                        score[p] += (double) q[head * d + c] * k[p * d + c];
                    }
                }
                int[] expected = IntStream.range(0, n).boxed()
                        .sorted(Comparator.<Integer>comparingDouble(p -> -score[p]).thenComparing(p -> p))
                        .limit(budget).mapToInt(Integer::intValue).sorted().toArray();
                assertArrayEquals(expected, sel.head(h).sortedPositions(), "head " + h + " budget " + budget);
            }
        }
    }

    @Test
    void streamingKeepsSinksAndTheNewestWindow() {
        RecallPolicy streaming = REGISTRY.create("streaming", new ShardGeometry(0, 0, 1, 4), 10, Map.of("sink", "3"), 1);
        int n = 40;
        SelectionBuffer sel = new SelectionBuffer(1, 10);
        sel.reset(10, n);
        streaming.select(Queries.wrap(new float[4], 1, 4), KeyView.of(new float[n * 4], n, 4), 10, sel);
        assertArrayEquals(new int[] {0, 1, 2, 33, 34, 35, 36, 37, 38, 39}, sel.head(0).sortedPositions());
        sel.reset(2, n);
        streaming.select(Queries.wrap(new float[4], 1, 4), KeyView.of(new float[n * 4], n, 4), 2, sel);
        assertArrayEquals(new int[] {0, 39}, sel.head(0).sortedPositions(), "budget 2 keeps one sink and the newest");
    }

    @Test
    void fullAttendsEverythingThroughTheWindow() {
        RecallPolicy full = REGISTRY.create("full", new ShardGeometry(0, 0, 2, 4), 1, Map.of(), 1);
        SelectionBuffer sel = new SelectionBuffer(2, 1);
        sel.reset(1, 500);
        full.select(Queries.wrap(new float[8], 2, 4), KeyView.of(new float[2000], 500, 4), 1, sel);
        for (int h = 0; h < 2; h++) {
            HeadSelectionBuffer s = sel.head(h);
            assertTrue(s.attendsAll());
            assertEquals(500, s.attendedCount());
        }
    }
}

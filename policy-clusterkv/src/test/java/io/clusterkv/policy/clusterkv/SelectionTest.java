package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.conformance.GrowingKeyView;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.FloatRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Scale;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * Selection fills the budget exactly, sinks first, then clusters in the order of {@code q · centroid}
 * (computed here independently, in double precision, from the keys of each cluster's members), the
 * last one cut to a prefix; each query head ranks with its own query.
 */
class SelectionTest {

    private static final int D = 16;
    private static final int SINK = 16;
    private static final int HEADS = 4;

    private StepDriver promptOnly(int n, Map<String, String> config, int budget) {
        float[] keys = TestKeys.gaussian(n + 50, D, 21);
        ClusterKvPolicy policy = StepDriver.create(config, budget, HEADS, D, 5);
        StepDriver driver = new StepDriver(policy, new GrowingKeyView(keys, D, n), 0, false);
        driver.prompt();
        return driver;
    }

    /** q · (mean of the raw keys of cluster c's members), in double. */
    private static double score(StepDriver driver, float[] q, int head, int c) {
        ClusterIndex index = driver.policy.index();
        double[] mean = new double[D];
        int size = index.start(c + 1) - index.start(c);
        for (int i = index.start(c); i < index.start(c + 1); i++) {
            int p = index.members()[i];
            for (int k = 0; k < D; k++) {
                mean[k] += driver.keys.get(p, k) / (double) size;
            }
        }
        double s = 0;
        for (int k = 0; k < D; k++) {
            s += q[head * D + k] * mean[k];
        }
        return s;
    }

    /** The index the budget property selects from, built by its first try (jqwik: one instance per property). */
    private StepDriver thirtyClusters;

    @Property(tries = 50)
    void fillsBudgetExactlyInRankOrder(@ForAll @IntRange(min = SINK + 1, max = 400) int budget,
            @ForAll @Size(HEADS * D) List<@FloatRange(min = -3, max = 3) @Scale(6) Float> query) {
        if (thirtyClusters == null) {
            thirtyClusters = promptOnly(SINK + 900, Map.of("tokens-per-cluster", "30"), 150);
            assertEquals(30, thirtyClusters.policy.index().count());
        }
        float[] q = new float[HEADS * D];
        for (int i = 0; i < q.length; i++) {
            q[i] = query.get(i);
        }
        SelectionBuffer sel = new SelectionBuffer(HEADS, 8);
        thirtyClusters.select(q, HEADS, budget, sel);
        for (int h = 0; h < HEADS; h++) {
            checkHead(thirtyClusters, q, h, budget, sel.head(h));
        }
    }

    private void checkHead(StepDriver driver, float[] q, int h, int budget, HeadSelectionBuffer s) {
        ClusterIndex index = driver.policy.index();
        String at = "budget " + budget + " head " + h;
        assertEquals(budget, s.size(), at + ": budget filled exactly");
        assertEquals(HeadSelectionBuffer.NO_WINDOW, s.windowStart(), at + ": everything indexed, no window");
        assertEquals(ClusterKvPolicy.SINK_UNIT, s.unitId(0), at);
        for (int i = 0; i < SINK; i++) {
            assertEquals(i, s.position(i), at + ": sinks first");
        }
        Set<Integer> taken = new HashSet<>();
        double previous = Double.POSITIVE_INFINITY;
        for (int u = 1; u < s.unitCount(); u++) {
            int c = (int) s.unitId(u) - 1;
            taken.add(c);
            double score = score(driver, q, h, c);
            assertTrue(score <= previous + 1e-4, at + ": cluster " + c + " scores " + score + " after " + previous);
            previous = score;
            int size = index.start(c + 1) - index.start(c);
            int got = s.unitEnd(u) - s.unitStart(u);
            if (u < s.unitCount() - 1) {
                assertEquals(size, got, at + ": only the last cluster may be cut");
            } else {
                assertTrue(got >= 1 && got <= size, at);
            }
            for (int i = 0; i < got; i++) {
                assertEquals(index.members()[index.start(c) + i], s.position(s.unitStart(u) + i),
                        at + ": a cluster is a prefix of its fixed member order");
            }
        }
        for (int c = 0; c < index.count(); c++) {
            if (!taken.contains(c)) {
                assertTrue(score(driver, q, h, c) <= previous + 1e-4, at + ": skipped cluster " + c + " outranks a taken one");
            }
        }
    }

    @Test
    void eachQueryHeadRanksWithItsOwnQuery() {
        StepDriver driver = promptOnly(SINK + 600, Map.of("tokens-per-cluster", "40"), 100);
        float[] q = new float[HEADS * D];
        SplittableRandom rnd = new SplittableRandom(3);
        for (int k = 0; k < D; k++) {
            float v = (float) TestKeys.gaussian(rnd);
            q[k] = v;          // head 0: q
            q[D + k] = -v;     // head 1: -q ranks the clusters in reverse
            q[2 * D + k] = v;  // head 2: same as head 0
            q[3 * D + k] = (float) TestKeys.gaussian(rnd);
        }
        SelectionBuffer sel = new SelectionBuffer(HEADS, 100);
        driver.select(q, HEADS, 100, sel);
        assertNotEquals(sel.head(0).unitId(1), sel.head(1).unitId(1));
        assertEquals(sel.head(0).unitId(1), sel.head(2).unitId(1));
        assertEquals(java.util.Arrays.toString(sel.head(0).sortedPositions()),
                java.util.Arrays.toString(sel.head(2).sortedPositions()));
    }

    @Test
    void contextNotLargerThanBudgetAttendsEverything() {
        StepDriver driver = promptOnly(200, Map.of(), 256);
        SelectionBuffer sel = new SelectionBuffer(HEADS, 256);
        driver.select(new float[HEADS * D], HEADS, 256, sel);
        for (int h = 0; h < HEADS; h++) {
            assertTrue(sel.head(h).attendsAll());
            assertEquals(0, sel.head(h).size());
        }
        driver.select(new float[HEADS * D], HEADS, 199, sel);
        assertEquals(199, sel.head(0).size(), "one more position than the budget: clusters again");
    }

    @Test
    void budgetSmallerThanSinksTakesTheFirstSinks() {
        StepDriver driver = promptOnly(SINK + 300, Map.of(), 64);
        SelectionBuffer sel = new SelectionBuffer(HEADS, 8);
        driver.select(new float[HEADS * D], HEADS, 8, sel);
        assertEquals(8, sel.head(0).size());
        assertEquals(7, sel.head(0).position(7));
        assertEquals(1, sel.head(0).unitCount());
    }

    /** Before the prompt's clustering arrives, the window holds everything past the sinks. */
    @Test
    void unindexedPositionsAreTheWindow() {
        float[] keys = TestKeys.gaussian(600, D, 2);
        ClusterKvPolicy policy = StepDriver.create(Map.of(), 64, HEADS, D, 5);
        StepDriver driver = new StepDriver(policy, new GrowingKeyView(keys, D, 500), StepDriver.NEVER, false);
        driver.prompt();
        SelectionBuffer sel = new SelectionBuffer(HEADS, 64);
        driver.select(new float[HEADS * D], HEADS, 64, sel);
        assertEquals(SINK, sel.head(0).size(), "only the sinks are explicit");
        assertEquals(SINK, sel.head(0).windowStart());
        driver.applyAll();
        driver.select(new float[HEADS * D], HEADS, 64, sel);
        assertEquals(64, sel.head(0).size());
        assertEquals(HeadSelectionBuffer.NO_WINDOW, sel.head(0).windowStart());
        driver.step();
        driver.select(new float[HEADS * D], HEADS, 64, sel);
        assertEquals(500, sel.head(0).windowStart(), "the new key is in the window");
    }
}

package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.conformance.GrowingKeyView;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.BitSet;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A maintenance result applied at once, late, out of order or never loses no position: at every step
 * the sinks, the indexed clusters and the window are disjoint and together cover {@code [0, n)}, and the
 * selection's window is exactly the unindexed positions.
 */
class CoverageTest {

    private static final int D = 8;

    @ParameterizedTest(name = "delay={0} reverse={1}")
    @CsvSource({"0, false", "7, false", "45, false", "45, true", "2147483647, false"})
    void everyPositionIsSinkClusterOrWindow(int delay, boolean reverse) {
        int prompt = 150;
        int steps = 200;
        float[] keys = TestKeys.gaussian(prompt + steps, D, 9);
        ClusterKvPolicy policy = StepDriver.create(
                Map.of("recluster-every", "30", "clusters-per-recluster", "3", "tokens-per-cluster", "20"), 48, 2, D, 3);
        StepDriver driver = new StepDriver(policy, new GrowingKeyView(keys, D, prompt), delay, reverse);
        driver.prompt();
        SelectionBuffer sel = new SelectionBuffer(2, 48);
        float[] q = TestKeys.gaussian(1, 2 * D, 1);
        for (int step = 0; step <= steps; step++) {
            if (step > 0) {
                driver.step();
            }
            int n = driver.keys.size();
            String at = "step " + step;
            BitSet seen = new BitSet(n);
            int sinks = Math.min(16, n);
            seen.set(0, sinks);
            ClusterIndex index = policy.index();
            for (int i = 0; i < index.positions(); i++) {
                int p = index.members()[i];
                assertTrue(p >= 0 && p < n && !seen.get(p), at + ": position " + p + " indexed twice or is a sink");
                seen.set(p);
            }
            int window = Math.min(n, policy.indexedEnd());
            assertEquals(window, seen.cardinality(), at + ": sinks and clusters are exactly [0, window)");
            assertTrue(seen.nextSetBit(window) < 0, at);
            seen.set(window, n);
            assertEquals(n, seen.cardinality(), at + ": [0, n) covered");

            driver.select(q, 2, 48, sel);
            for (int h = 0; h < 2; h++) {
                HeadSelectionBuffer s = sel.head(h);
                assertEquals(window < n ? window : HeadSelectionBuffer.NO_WINDOW, s.windowStart(), at);
                assertEquals(Math.min(48, window), s.size(), at + ": the budget is filled from what is indexed");
            }
            if (delay == StepDriver.NEVER) {
                assertEquals(16, policy.indexedEnd(), at);
            }
        }
        if (delay == 0) {
            assertEquals(prompt + (steps - 1) / 30 * 30, policy.indexedEnd());
        }
    }
}

package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.conformance.GrowingKeyView;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The same seed gives the same clustering, for the prompt and every re-clustering, whatever the option. */
class DeterminismTest {

    private static final int D = 16;

    private static ClusterIndex build(Map<String, String> config, long seed) {
        float[] keys = TestKeys.gaussian(700, D, 99);
        ClusterKvPolicy policy = StepDriver.create(config, 64, 1, D, seed);
        StepDriver driver = new StepDriver(policy, new GrowingKeyView(keys, D, 500), 0, false);
        driver.prompt();
        for (int i = 0; i < 150; i++) {
            driver.step();
        }
        return policy.index();
    }

    private static boolean same(ClusterIndex a, ClusterIndex b) {
        return a.count() == b.count()
                && Arrays.equals(a.centroids(), 0, a.count() * D, b.centroids(), 0, b.count() * D)
                && Arrays.equals(a.members(), 0, a.positions(), b.members(), 0, b.positions());
    }

    @Test
    void sameSeedSameClustering() {
        for (Map<String, String> config : java.util.List.of(Map.of("recluster-every", "40"),
                Map.<String, String>of("recluster-every", "40", "init", "k-means-plus-plus"),
                Map.<String, String>of("recluster-every", "40", "algorithm", "mini-batch", "batch-size", "50"))) {
            ClusterIndex a = build(config, 7);
            ClusterIndex b = build(config, 7);
            assertEquals(a.count(), b.count(), config.toString());
            assertArrayEquals(Arrays.copyOf(a.members(), a.positions()), Arrays.copyOf(b.members(), b.positions()),
                    config.toString());
            assertArrayEquals(Arrays.copyOf(a.centroids(), a.count() * D), Arrays.copyOf(b.centroids(), b.count() * D),
                    config.toString());
            assertFalse(same(a, build(config, 8)), config + ": another seed draws other initial centroids");
        }
    }

    @Test
    void aTaskComputedTwiceGivesTheSameResult() {
        float[] keys = TestKeys.gaussian(400, D, 1);
        ClusterKvPolicy policy = StepDriver.create(Map.of(), 64, 1, D, 3);
        GrowingKeyView live = new GrowingKeyView(keys, D, 400);
        policy.onPrompt(live);
        ClusteringTask task = (ClusteringTask) policy.pollMaintenance(live.snapshot()).orElseThrow();
        ClusterBatch a = task.compute();
        ClusterBatch b = task.compute();
        assertArrayEquals(a.members(), b.members());
        assertArrayEquals(a.centroids(), b.centroids());
        assertArrayEquals(a.starts(), b.starts());
    }
}

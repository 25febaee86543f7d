package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.conformance.GrowingKeyView;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.MaintenanceTask;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * During decoding, each run of {@code recluster-every} new keys becomes {@code clusters-per-recluster}
 * new clusters of exactly those keys, handed out once a key past the run exists.
 */
class ReclusteringTest {

    private static final int D = 8;

    private static void run(Map<String, String> config, int prompt, int steps, int every, int perRun) {
        float[] keys = TestKeys.gaussian(prompt + steps, D, 17);
        ClusterKvPolicy policy = StepDriver.create(config, 64, 1, D, 1);
        StepDriver driver = new StepDriver(policy, new GrowingKeyView(keys, D, prompt), 0, false);
        driver.prompt();
        int promptClusters = policy.index().count();
        assertEquals(Math.ceilDiv(prompt - 16, policy.tokensPerCluster()), promptClusters);
        for (int step = 1; step <= steps; step++) {
            int before = policy.index().count();
            driver.step();
            int n = prompt + step;
            int runs = Math.max(0, (n - 1 - prompt) / every);
            assertEquals(promptClusters + perRun * runs, policy.index().count(), "step " + step);
            assertEquals(prompt + every * runs, policy.indexedEnd(), "step " + step);
            if (policy.index().count() > before) {
                // the new clusters hold exactly the newest run
                int[] members = Arrays.copyOfRange(policy.index().members(), policy.index().start(before),
                        policy.index().positions());
                Arrays.sort(members);
                int[] expected = new int[every];
                Arrays.setAll(expected, i -> n - 1 - every + i);
                assertArrayEquals(expected, members, "step " + step);
                assertEquals(n - 1, policy.indexedEnd(), "the newest key stays in the window");
            }
        }
    }

    @Test
    void defaultsAddFourClustersEvery320Steps() {
        run(Map.of(), 200, 1000, 320, 4);
    }

    @Test
    void customValues() {
        run(Map.of("recluster-every", "50", "clusters-per-recluster", "7"), 100, 260, 50, 7);
    }

    /** Polled again and again while results are outstanding: no overlapping work, nothing before it is due. */
    @Test
    void repeatedPollsHandOutDisjointDueRanges() {
        int prompt = 120;
        float[] keys = TestKeys.gaussian(prompt + 200, D, 4);
        ClusterKvPolicy policy = StepDriver.create(Map.of("recluster-every", "30"), 64, 1, D, 1);
        GrowingKeyView live = new GrowingKeyView(keys, D, prompt);
        policy.onPrompt(live);
        int covered = 16;
        int tasks = 0;
        for (int step = 0; step <= 200; step++) {
            if (step > 0) {
                live.grow();
                policy.onAppend(live.size() - 1, live);
            }
            for (int poll = 0; poll < 3; poll++) {
                Optional<MaintenanceTask<?>> t = policy.pollMaintenance(live.snapshot());
                if (t.isPresent()) {
                    ClusteringTask task = (ClusteringTask) t.get();
                    assertEquals(covered, task.from(), "ranges are contiguous and never overlap");
                    assertTrue(task.ordinal() == 0 ? task.to() == prompt : task.to() < live.size(),
                            "the prompt at once, a run only once a key past it exists");
                    assertEquals(tasks++, task.ordinal());
                    covered = task.to();
                }
            }
        }
        assertEquals(1 + (prompt + 200 - 1 - prompt) / 30, tasks);
        assertEquals(16, policy.indexedEnd(), "nothing applied, nothing indexed");
    }

    @Test
    void shortPromptStartsRunsAfterTheSinks() {
        float[] keys = TestKeys.gaussian(200, D, 4);
        ClusterKvPolicy policy = StepDriver.create(Map.of("recluster-every", "20"), 8, 1, D, 1);
        StepDriver driver = new StepDriver(policy, new GrowingKeyView(keys, D, 5), 0, false);
        driver.prompt();
        assertEquals(0, policy.index().count());
        for (int i = 0; i < 31; i++) {
            driver.step();
        }
        assertEquals(36, driver.keys.size());
        assertEquals(16, policy.indexedEnd(), "sinks 0..15; the run 16..35 is due once key 36 exists");
        driver.step();
        assertEquals(36, policy.indexedEnd());
    }
}

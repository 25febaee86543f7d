package io.clusterkv.runtime.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A smoke run of the selection benchmark: its rows, in order, with positive, finite figures. How two
 * timings compare is what the benchmark reports, never what this test asserts.
 */
class SelectionCostTest {

    @Test
    void measuresEveryPolicyAndBudgetInItsOwnRounds() {
        WorkloadParams params = WorkloadParams.defaults().withHeadDim(32).withQueryHeads(4).withPromptLength(2047);
        SelectionCost.Result result = SelectionCost.run(PolicyRegistry.load(), List.of("streaming", "oracle"), params,
                List.of(256, 512), 0, 3);
        assertEquals(3, result.rounds());
        assertTrue(result.exactMicrosPerHead() > 0, "exact attention timed");
        List<String> order = result.rows().stream().map(r -> r.policy() + " " + r.budget()).toList();
        assertEquals(List.of("streaming 256", "streaming 512", "oracle 256", "oracle 512"), order);
        for (SelectionCost.Row row : result.rows()) {
            String at = row.policy() + " " + row.budget();
            assertTrue(row.selectRatio() > 0 && Double.isFinite(row.selectRatio()), at);
            assertTrue(row.stepRatio() > 0 && Double.isFinite(row.stepRatio()), at);
            // the median of the rounds lies between their minimum and maximum
            assertTrue(row.selectRatioMin() <= row.selectRatio() && row.selectRatio() <= row.selectRatioMax(), at);
            assertTrue(row.selectMicrosPerHead() > 0 && row.attendMicrosPerHead() > 0, at);
        }
        String table = result.toTable();
        assertTrue(table.contains("streaming") && table.contains("oracle"), table);
    }
}

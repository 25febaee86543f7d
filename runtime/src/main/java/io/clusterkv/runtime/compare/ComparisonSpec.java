package io.clusterkv.runtime.compare;

import io.clusterkv.runtime.synthetic.WorkloadParams;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link PolicyComparison} runs.
 *
 * @param workload        the synthetic workload of each KV head (its seed is offset by the KV head index)
 * @param kvHeads         independent KV heads (shards) to average over, {@code >= 1}
 * @param budgets         budgets to compare at, each {@code >= 1}
 * @param policies        policy names; empty means every policy found
 * @param overrides       config overrides by policy name, then key inside the policy's section
 * @param maintenanceLag  steps between a policy handing out maintenance and its result being applied
 *                        ({@code 0}: at once), to show the effect of asynchronous indexing
 */
public record ComparisonSpec(WorkloadParams workload, int kvHeads, List<Integer> budgets, List<String> policies,
                             Map<String, Map<String, String>> overrides, int maintenanceLag) {

    /**
     * @throws IllegalArgumentException if a count or budget is out of range, naming the value
     */
    public ComparisonSpec {
        Objects.requireNonNull(workload, "workload");
        if (kvHeads < 1) {
            throw new IllegalArgumentException("kvHeads must be >= 1, was " + kvHeads);
        }
        if (budgets.isEmpty()) {
            throw new IllegalArgumentException("at least one budget is needed");
        }
        for (int b : budgets) {
            if (b < 1) {
                throw new IllegalArgumentException("budget must be >= 1 position per query head, was " + b);
            }
        }
        if (maintenanceLag < 0) {
            throw new IllegalArgumentException("maintenanceLag must be >= 0, was " + maintenanceLag);
        }
        budgets = List.copyOf(budgets);
        policies = List.copyOf(policies);
        overrides = Map.copyOf(overrides);
    }

    /**
     * The built-in defaults: an 8k-position synthetic context with 32 decode steps, head dim 128, four
     * query heads on each of two KV heads, budgets 128 to 1024, every policy found.
     *
     * @return the defaults
     */
    public static ComparisonSpec defaults() {
        return new ComparisonSpec(WorkloadParams.defaults().withPromptLength(8192).withSteps(32), 2,
                List.of(128, 256, 512, 1024), List.of(), Map.of(), 0);
    }
}

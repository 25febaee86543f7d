package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.decode.HistoryFill;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.synthetic.SyntheticWorkload;
import io.clusterkv.runtime.synthetic.WorkloadParams;

/**
 * A decode benchmark's history without a prefill: the synthetic workload's prompt keys and values
 * (seed 7), the same rows in every shard, so ClusterKV clusters the same keys in every shard and Quest
 * bounds the same pages.
 *
 * @param workload the rows; its head dimension is the model's
 */
public record WorkloadHistory(SyntheticWorkload workload) implements HistoryFill {

    /**
     * @param positions positions each shard receives, {@code >= 1}
     * @param headDim   the model's channels per head
     * @return the history
     * @throws IllegalArgumentException if {@code positions} is not positive or too large for one array
     */
    public static WorkloadHistory of(int positions, int headDim) {
        if (positions < 1) {
            throw new IllegalArgumentException("a history holds at least one position, got " + positions);
        }
        // short histories: fewer sinks and needles than the defaults' 4 and 8, as the workload requires
        int sinks = Math.min(4, positions);
        int needles = Math.min(8, positions - sinks);
        return new WorkloadHistory(SyntheticWorkload.generate(WorkloadParams.defaults().withPromptLength(positions)
                .withSteps(1).withHeadDim(headDim).withSinks(sinks).withNeedles(needles).withSeed(7)));
    }

    @Override
    public int positions() {
        return workload.promptLength();
    }

    @Override
    public void fill(int layer, int kvHead, KvShard shard) {
        workload.appendPrompt(shard);
    }
}

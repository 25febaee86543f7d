package io.clusterkv.runtime.synthetic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.metrics.QualityAccumulator;
import io.clusterkv.runtime.metrics.QualitySummary;
import io.clusterkv.runtime.metrics.SelectionMetrics;
import io.clusterkv.runtime.policy.FullPolicy;
import io.clusterkv.runtime.policy.OraclePolicy;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.internal.SelectionBuffer;
import org.junit.jupiter.api.Test;

/** The replay loop the arena runs, on a synthetic workload: shard, policies, metrics. */
class SyntheticWorkloadReplayTest {

    @Test
    void oracleRecallsItsTopBudgetAndFullIsExact() throws Exception {
        SyntheticWorkload w = SyntheticWorkload.generate(WorkloadParams.defaults().withPromptLength(1500).withSteps(8)
                .withHeadDim(64).withNeedleProbability(0.5));
        int budget = 64;
        int heads = w.queryHeads();
        int d = w.headDim();
        RecallPolicy[] policies = {new OraclePolicy(), new FullPolicy()};
        SelectionBuffer[] selections = {new SelectionBuffer(heads, budget), new SelectionBuffer(heads, budget)};
        QualityAccumulator[] results = {new QualityAccumulator(), new QualityAccumulator()};
        SelectionMetrics metrics = new SelectionMetrics();
        try (KvShard shard = new KvShard(d, KvFormat.F32)) {
            w.appendPrompt(shard);
            for (int t = 0; t < w.steps(); t++) {
                w.appendStep(shard, t);
                KeyView keys = shard.keys();
                for (int i = 0; i < policies.length; i++) {
                    selections[i].reset(budget, keys.size());
                    policies[i].select(w.queries(t), keys, budget, selections[i]);
                }
                KvShard.View snapshot = shard.snapshot();
                for (int h = 0; h < heads; h++) {
                    metrics.prepare(w.queryArray(t), h * d, snapshot, w.scale());
                    for (int i = 0; i < policies.length; i++) {
                        results[i].add(metrics.evaluate(selections[i].head(h), budget));
                    }
                }
            }
        }
        QualitySummary oracle = results[0].summary();
        QualitySummary full = results[1].summary();
        assertEquals(w.steps() * heads, oracle.count());
        assertTrue(oracle.topBudgetRecall().mean() > 0.99, "oracle top-B recall " + oracle.topBudgetRecall());
        assertTrue(oracle.top10Recall().mean() > 0.99, "oracle top-10 recall " + oracle.top10Recall());
        assertTrue(oracle.attentionMass().mean() > 0.5 && oracle.attentionMass().max() < 1,
                "64 of 1500 positions hold most, not all, of the mass: " + oracle.attentionMass());
        assertEquals(budget, oracle.attended().max(), 0.0);
        assertEquals(1.0, full.attentionMass().min(), 0.0);
        assertEquals(0.0, full.outputError().max(), 0.0);
        assertEquals(1.0, full.topBudgetRecall().min(), 0.0);
    }
}

package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.conformance.RecallPolicyConformance;
import java.util.Map;

/** The conformance kit with a re-clustering every 24 steps, so the decode path runs, applied late and never. */
class ReclusteringConformanceTest extends RecallPolicyConformance {

    @Override
    protected RecallPolicyProvider provider() {
        return new ClusterKvPolicy.Provider();
    }

    @Override
    protected Map<String, String> config() {
        return Map.of("recluster-every", "24", "clusters-per-recluster", "3", "tokens-per-cluster", "40");
    }
}

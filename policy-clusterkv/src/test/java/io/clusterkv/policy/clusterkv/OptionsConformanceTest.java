package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.conformance.RecallPolicyConformance;
import java.util.Map;

/**
 * The conformance kit with every option beyond the paper on: k-means++, mini-batch, early stop, adaptive size,
 * the reference code's fixed prompt cluster count (its preset), the adaptive budget (top-p).
 */
class OptionsConformanceTest extends RecallPolicyConformance {

    @Override
    protected RecallPolicyProvider provider() {
        return new ClusterKvPolicy.Provider();
    }

    @Override
    protected Map<String, String> config() {
        return Map.of("init", "k-means-plus-plus", "algorithm", "mini-batch", "batch-size", "64",
                "iterations", "5", "early-stop", "true", "adaptive-clusters", "true", "recluster-every", "30",
                "sink", "4", "preset", "reference", "top-p", "0.8");
    }
}

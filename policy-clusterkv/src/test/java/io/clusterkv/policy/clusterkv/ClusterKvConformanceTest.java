package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.conformance.RecallPolicyConformance;

/**
 * The SPI's conformance kit over {@code clusterkv} with the defaults. The kit's 120 steps never reach
 * a re-clustering at the default 320; {@link ReclusteringConformanceTest} and
 * {@link OptionsConformanceTest} cover that path and the options.
 */
class ClusterKvConformanceTest extends RecallPolicyConformance {

    @Override
    protected RecallPolicyProvider provider() {
        return new ClusterKvPolicy.Provider();
    }
}

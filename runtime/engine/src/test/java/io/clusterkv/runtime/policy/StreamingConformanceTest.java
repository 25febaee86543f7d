package io.clusterkv.runtime.policy;

import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.conformance.RecallPolicyConformance;

class StreamingConformanceTest extends RecallPolicyConformance {
    @Override
    protected RecallPolicyProvider provider() {
        return new StreamingPolicy.Provider();
    }
}

package io.clusterkv.spi;

import io.clusterkv.spi.conformance.RecallPolicyConformance;

class RecentPolicyConformanceTest extends RecallPolicyConformance {
    @Override
    protected RecallPolicyProvider provider() {
        return new RecentPolicy.Provider();
    }
}

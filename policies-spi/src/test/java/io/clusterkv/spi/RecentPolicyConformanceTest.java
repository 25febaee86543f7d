package io.clusterkv.spi;

import io.clusterkv.spi.conformance.RecallPolicyConformance;

/** The kit over the example of {@link RecallPolicy}'s javadoc. */
class RecentPolicyConformanceTest extends RecallPolicyConformance {
    @Override
    protected RecallPolicyProvider provider() {
        return new RecentPolicy.Provider();
    }
}

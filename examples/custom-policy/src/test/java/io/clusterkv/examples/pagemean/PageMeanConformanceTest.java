package io.clusterkv.examples.pagemean;

import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.conformance.RecallPolicyConformance;

/** The SPI's conformance kit over {@code page-mean}: every contract of a recall policy, at several budgets. */
class PageMeanConformanceTest extends RecallPolicyConformance {

    @Override
    protected RecallPolicyProvider provider() {
        return new PageMeanPolicy.Provider();
    }
}

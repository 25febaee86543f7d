package io.clusterkv.policy.quest;

import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.conformance.RecallPolicyConformance;
import java.util.Map;
import org.junit.jupiter.api.Nested;

/** The SPI's conformance kit with the defaults, with an odd page size and head dimension, and with top-p. */
class QuestConformanceTest extends RecallPolicyConformance {

    @Override
    protected RecallPolicyProvider provider() {
        return new QuestPolicy.Provider();
    }

    /** Page size 5 (budgets 16, 64, 256 are not multiples of it), head dim 37, three query heads. */
    @Nested
    class OddPagesAndHeadDim extends RecallPolicyConformance {
        @Override
        protected RecallPolicyProvider provider() {
            return new QuestPolicy.Provider();
        }

        @Override
        protected Map<String, String> config() {
            return Map.of(QuestPolicy.PAGE_SIZE, "5");
        }

        @Override
        protected ShardGeometry geometry() {
            return new ShardGeometry(3, 0, 3, 37);
        }
    }

    /** The adaptive budget: pages kept until 0.8 of the estimated attention mass. */
    @Nested
    class TopP extends RecallPolicyConformance {
        @Override
        protected RecallPolicyProvider provider() {
            return new QuestPolicy.Provider();
        }

        @Override
        protected Map<String, String> config() {
            return Map.of(QuestPolicy.TOP_P, "0.8");
        }
    }
}

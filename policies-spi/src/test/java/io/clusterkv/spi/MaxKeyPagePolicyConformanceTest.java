package io.clusterkv.spi;

import io.clusterkv.spi.conformance.RecallPolicyConformance;
import java.util.List;
import java.util.Map;

/** The kit over the example of {@link PageScoringPolicy}'s javadoc, with pages that sinks and window cut. */
class MaxKeyPagePolicyConformanceTest extends RecallPolicyConformance {

    /** Registers {@code max-key-page}. */
    static final class Provider implements RecallPolicyProvider {
        @Override public String name() { return "max-key-page"; }
        @Override public String description() { return "Sinks + recent window + top pages by their best q · k"; }
        @Override public List<ConfigKey> configKeys() {
            return List.of(new ConfigKey("page-size", "16", "positions per page"),
                    new ConfigKey("sink", "4", "attention sinks"), new ConfigKey("recent", "32", "recent window"));
        }
        @Override public RecallPolicy create(PolicyContext context) {
            var c = context.config();
            return new MaxKeyPagePolicy(c.getInt("page-size", 1, 65536), c.getInt("sink", 0, 1 << 20),
                    c.getInt("recent", 1, 1 << 20));
        }
    }

    @Override
    protected RecallPolicyProvider provider() {
        return new Provider();
    }

    @Override
    protected Map<String, String> config() {
        return Map.of("page-size", "7", "sink", "3", "recent", "10");
    }
}

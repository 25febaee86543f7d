package io.clusterkv.spi.conformance;

import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyConfigException;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.ShardGeometry;
import java.util.Map;

/**
 * The property a policy's configuration must have, for fuzz targets and property tests: any overrides
 * of its section give a policy or a {@link PolicyConfigException} naming a key of the section, never
 * another exception. A check fails with an {@link AssertionError} that says which overrides did what.
 */
public final class PolicyConfigChecks {

    private PolicyConfigChecks() {
    }

    /**
     * Creates the policy with {@code overrides} and checks the outcome.
     *
     * @param provider  the policy's provider
     * @param overrides values by key inside the section (keys it does not declare included)
     * @param budget    the session's budget, {@code >= 1}
     * @param geometry  the shard
     * @return the policy, or {@code null} where the overrides were refused with a {@link PolicyConfigException}
     * @throws AssertionError if creation threw anything else, or an error that does not name a key of the
     *                        section
     */
    public static RecallPolicy createOrRefuse(RecallPolicyProvider provider, Map<String, String> overrides, int budget,
                                              ShardGeometry geometry) {
        String section = PolicyConfig.ROOT + provider.name() + ".";
        try {
            PolicyConfig config = PolicyConfig.of(provider.name(), provider.configKeys(), overrides);
            RecallPolicy policy = provider.create(new PolicyContext(geometry, budget, config, 1));
            if (policy == null) {
                throw new AssertionError(provider.name() + ": create returned null for " + overrides);
            }
            return policy;
        } catch (PolicyConfigException e) {
            if (e.key() == null || !e.key().startsWith(section)) {
                throw new AssertionError(provider.name() + ": " + overrides + " refused without naming a key of "
                        + section + "*: " + e.getMessage(), e);
            }
            return null;
        } catch (RuntimeException e) {
            throw new AssertionError(provider.name() + ": " + overrides + " threw " + e, e);
        }
    }
}

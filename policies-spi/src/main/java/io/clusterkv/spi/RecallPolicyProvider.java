package io.clusterkv.spi;

import java.util.List;

/**
 * The service a recall-policy plugin registers; found by {@link java.util.ServiceLoader}.
 *
 * <p>A provider is a cheap, stateless factory: constructing it must not do work or fail. All work
 * happens in {@link #create}, once per shard and session. Register it in {@code module-info.java}
 * ({@code provides io.clusterkv.spi.RecallPolicyProvider with MyProvider;}) and in
 * {@code META-INF/services/io.clusterkv.spi.RecallPolicyProvider}, so it is found on the module path
 * and on the class path alike.
 *
 * <p>Names are unique among the providers on a path: two providers with one name are an error the
 * runtime reports with both classes.
 */
public interface RecallPolicyProvider {

    /**
     * @return the policy's name, used to select it and as its configuration section
     *         ({@code clusterkv.policy.<name>}): lower case letters, digits and {@code -}, e.g.
     *         {@code "quest"}
     */
    String name();

    /** @return one line for listings, e.g. {@code "Quest: top pages by a per-channel min/max bound (arXiv 2406.10774)"} */
    String description();

    /**
     * The configuration keys this policy reads, with defaults. The runtime rejects an override for a
     * key not listed here.
     *
     * @return the declared keys; empty by default
     */
    default List<ConfigKey> configKeys() {
        return List.of();
    }

    /**
     * Creates the policy of one shard. Reads and validates its configuration here, so a bad value
     * fails when the session starts.
     *
     * @param context the shard's geometry, the session's budget, the policy's config section, a seed
     * @return a new policy instance, owned by that shard
     * @throws PolicyConfigException if a configuration value is invalid
     */
    RecallPolicy create(PolicyContext context);
}

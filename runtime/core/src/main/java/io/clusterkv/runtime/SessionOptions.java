package io.clusterkv.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What a session overrides of its runtime's configuration: the policy, the budget, and any other
 * {@code clusterkv.runtime.*} or {@code clusterkv.policy.*} key. Everything is validated when the
 * session opens ({@link ClusterKvRuntime#openSession}); the residency settings are the runtime's and
 * cannot be overridden per session.
 *
 * <pre>{@code
 * SessionOptions options = SessionOptions.builder()
 *         .policy("quest").budget(512)
 *         .set("clusterkv.policy.quest.page-size", 32)
 *         .build();
 * }</pre>
 *
 * @param policy    the recall policy, or empty for {@code clusterkv.runtime.policy}
 * @param budget    the budget, or empty for {@code clusterkv.runtime.budget}
 * @param overrides other values by full key, in the order set
 */
public record SessionOptions(Optional<String> policy, OptionalInt budget, Map<String, Object> overrides) {

    /**
     * Checks the keys and copies the overrides.
     *
     * @throws ConfigValueException if a key is under neither section
     */
    public SessionOptions {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(budget, "budget");
        overrides.forEach(SessionOptions::checkKey);
        overrides = Map.copyOf(overrides);
    }

    /**
     * @param runtimeConfig the runtime's resolved configuration
     * @return it with these options over it, resolved
     */
    Config over(Config runtimeConfig) {
        Map<String, Object> values = new LinkedHashMap<>(overrides);
        policy.ifPresent(p -> values.put("clusterkv.runtime.policy", p));
        budget.ifPresent(b -> values.put("clusterkv.runtime.budget", b));
        return ConfigFactory.parseMap(values).withFallback(runtimeConfig).resolve();
    }

    private static void checkKey(String key, Object value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        if (!key.startsWith("clusterkv.runtime.") && !key.startsWith("clusterkv.policy.")) {
            throw new ConfigValueException(key, String.valueOf(value),
                    "a key under clusterkv.runtime or clusterkv.policy (residency is set per runtime)");
        }
    }

    /** @return the runtime's settings unchanged */
    public static SessionOptions defaults() {
        return builder().build();
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link SessionOptions}. */
    public static final class Builder {
        private String policy;
        private Integer budget;
        private final Map<String, Object> overrides = new LinkedHashMap<>();

        private Builder() {
        }

        /**
         * @param name a policy name, as {@code ckv policies} lists them
         * @return this
         */
        public Builder policy(String name) {
            this.policy = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * @param positions positions per query head and step; checked ({@code >= 1}) when the session opens
         * @return this
         */
        public Builder budget(int positions) {
            this.budget = positions;
            return this;
        }

        /**
         * @param key   a full key under {@code clusterkv.runtime} or {@code clusterkv.policy}
         * @param value its value (a string, number or boolean)
         * @return this
         * @throws IllegalArgumentException if the key is under neither section
         */
        public Builder set(String key, Object value) {
            checkKey(key, value);
            overrides.put(key, value);
            return this;
        }

        /** @return the options */
        public SessionOptions build() {
            return new SessionOptions(Optional.ofNullable(policy),
                    budget == null ? OptionalInt.empty() : OptionalInt.of(budget), overrides);
        }
    }
}

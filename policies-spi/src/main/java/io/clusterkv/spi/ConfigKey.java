package io.clusterkv.spi;

import java.util.Objects;

/**
 * One configuration key a policy declares, with its default. The runtime reads overrides for it from
 * {@code clusterkv.policy.<policy-name>.<name>}; {@code ckv policies} lists the keys.
 *
 * <p>The default written here is the only one: the runtime fills it in ({@link PolicyConfig#of}) where
 * the configuration sets no value, and no {@code reference.conf} repeats it. A policy module ships no
 * {@code reference.conf} for its section.
 *
 * @param name         the key inside the policy's section, e.g. {@code "page-size"}
 * @param defaultValue the default, as it would be written in a config file, e.g. {@code "16"}
 * @param description  one line saying what it controls and what values are valid
 */
public record ConfigKey(String name, String defaultValue, String description) {

    /**
     * Validates the key.
     *
     * @throws IllegalArgumentException if the name is blank
     */
    public ConfigKey {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(defaultValue, "defaultValue");
        Objects.requireNonNull(description, "description");
        if (name.isBlank()) {
            throw new IllegalArgumentException("config key name must not be blank");
        }
    }
}

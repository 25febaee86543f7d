package io.clusterkv.spi;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A policy's own configuration section: the keys its provider declared, each with the value set by
 * the application or else its default. Immutable.
 *
 * <p>Typed getters parse on each call and fail with a {@link PolicyConfigException} that names the
 * full key ({@code clusterkv.policy.<policy>.<key>}), the value and the expectation. Policies read
 * their values once, in {@link RecallPolicyProvider#create}, so a bad value fails the session at
 * start.
 *
 * <p>A section remembers which keys the application set ({@link #isSet}), so that a policy can offer
 * ready-made sets of values (a preset key) that fill in only the keys left unset
 * ({@link #withDefaults}).
 */
public final class PolicyConfig {

    /** Prefix of every policy section in the runtime's configuration tree. */
    public static final String ROOT = "clusterkv.policy.";

    private final String policyName;
    private final Map<String, String> values;
    private final Set<String> set; // keys the application set

    private PolicyConfig(String policyName, Map<String, String> values, Set<String> set) {
        this.policyName = policyName;
        this.values = values;
        this.set = set;
    }

    /**
     * Builds a section from the declared keys and the overrides an application set.
     *
     * @param policyName the policy's name, used in error messages
     * @param declared   the keys the provider declares, with defaults
     * @param overrides  values set by the application, by key inside the section
     * @return the section
     * @throws PolicyConfigException if an override names a key the policy does not declare; the
     *                               message lists the declared keys
     */
    public static PolicyConfig of(String policyName, List<ConfigKey> declared, Map<String, String> overrides) {
        Objects.requireNonNull(policyName, "policyName");
        Map<String, String> values = new LinkedHashMap<>();
        for (ConfigKey key : declared) {
            values.put(key.name(), key.defaultValue());
        }
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            if (!values.containsKey(e.getKey())) {
                throw new PolicyConfigException(ROOT + policyName + "." + e.getKey(), e.getValue(),
                        "one of the keys policy '" + policyName + "' declares: " + values.keySet());
            }
            values.put(e.getKey(), Objects.requireNonNull(e.getValue(), e.getKey()));
        }
        return new PolicyConfig(policyName, Collections.unmodifiableMap(values),
                Collections.unmodifiableSet(new LinkedHashSet<>(overrides.keySet())));
    }

    /**
     * The declared defaults of a provider, with no overrides.
     *
     * @param provider the provider
     * @return its default section
     */
    public static PolicyConfig defaults(RecallPolicyProvider provider) {
        return of(provider.name(), provider.configKeys(), Map.of());
    }

    /** @return the name of the policy this section belongs to */
    public String policyName() {
        return policyName;
    }

    /** @return every key of the section with its effective value, in declaration order */
    public Map<String, String> asMap() {
        return values;
    }

    /**
     * @param key a key inside the section
     * @return whether the application set it (its value is not the declared default)
     */
    public boolean isSet(String key) {
        return set.contains(key);
    }

    /**
     * A copy in which every key the application did not set takes the given value instead of its
     * declared default; keys it set keep their values. This is how a preset works: the preset's values
     * fill in what the application left open, and an explicit key still wins.
     *
     * @param defaults values by key inside the section, e.g. a preset's
     * @return the section with those defaults
     * @throws PolicyConfigException if a key is not one the policy declares
     */
    public PolicyConfig withDefaults(Map<String, String> defaults) {
        Map<String, String> merged = new LinkedHashMap<>(values);
        for (Map.Entry<String, String> e : defaults.entrySet()) {
            if (!merged.containsKey(e.getKey())) {
                throw new PolicyConfigException(fullKey(e.getKey()), e.getValue(),
                        "one of the keys policy '" + policyName + "' declares: " + values.keySet());
            }
            if (!set.contains(e.getKey())) {
                merged.put(e.getKey(), Objects.requireNonNull(e.getValue(), e.getKey()));
            }
        }
        return new PolicyConfig(policyName, Collections.unmodifiableMap(merged), set);
    }

    /**
     * @param key a key inside the section
     * @return its value as written
     * @throws PolicyConfigException if the key is not declared
     */
    public String getString(String key) {
        String v = values.get(key);
        if (v == null) {
            throw new PolicyConfigException(fullKey(key), null, "a key that policy '" + policyName
                    + "' declares: " + values.keySet());
        }
        return v;
    }

    /**
     * @param key a key inside the section
     * @param min the smallest valid value
     * @param max the largest valid value
     * @return the value as an int in {@code [min, max]}
     * @throws PolicyConfigException if it is not an integer in that range
     */
    public int getInt(String key, int min, int max) {
        String v = getString(key);
        long parsed;
        try {
            parsed = Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new PolicyConfigException(fullKey(key), v, rangeText("an integer", min, max));
        }
        if (parsed < min || parsed > max) {
            throw new PolicyConfigException(fullKey(key), v, rangeText("an integer", min, max));
        }
        return (int) parsed;
    }

    /**
     * @param key a key inside the section
     * @param min the smallest valid value
     * @param max the largest valid value
     * @return the value as a finite double in {@code [min, max]}
     * @throws PolicyConfigException if it is not a number in that range
     */
    public double getDouble(String key, double min, double max) {
        String v = getString(key);
        double parsed;
        try {
            parsed = Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new PolicyConfigException(fullKey(key), v, "a number in [" + min + ", " + max + "]");
        }
        if (!(parsed >= min && parsed <= max)) {
            throw new PolicyConfigException(fullKey(key), v, "a number in [" + min + ", " + max + "]");
        }
        return parsed;
    }

    /**
     * @param key a key inside the section
     * @return the value as a boolean
     * @throws PolicyConfigException if it is not {@code true}, {@code false}, {@code on} or {@code off}
     */
    public boolean getBoolean(String key) {
        String v = getString(key).trim().toLowerCase(java.util.Locale.ROOT);
        return switch (v) {
            case "true", "on", "yes" -> true;
            case "false", "off", "no" -> false;
            default -> throw new PolicyConfigException(fullKey(key), getString(key), "true or false");
        };
    }

    /**
     * @param key a key inside the section
     * @param type the enum type
     * @param <E> the enum
     * @return the constant whose name, lower-cased with {@code _} as {@code -}, equals the value
     * @throws PolicyConfigException if no constant matches; the message lists them
     */
    public <E extends Enum<E>> E getEnum(String key, Class<E> type) {
        String v = getString(key).trim();
        for (E e : type.getEnumConstants()) {
            if (configName(e).equalsIgnoreCase(v) || e.name().equalsIgnoreCase(v)) {
                return e;
            }
        }
        List<String> names = java.util.Arrays.stream(type.getEnumConstants()).map(PolicyConfig::configName).toList();
        throw new PolicyConfigException(fullKey(key), v, "one of " + names);
    }

    /**
     * @param key a key inside the section
     * @return {@code clusterkv.policy.<policy>.<key>}
     */
    public String fullKey(String key) {
        return ROOT + policyName + "." + key;
    }

    private static String configName(Enum<?> e) {
        return e.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    private static String rangeText(String what, long min, long max) {
        if (max == Integer.MAX_VALUE) {
            return what + " >= " + min;
        }
        return what + " in [" + min + ", " + max + "]";
    }

    @Override
    public String toString() {
        return ROOT + policyName + " " + values;
    }
}

package io.clusterkv.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.RecallPolicyProvider;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Reads values of the {@code clusterkv} tree out of a resolved Typesafe {@link Config}: the one place
 * where the runtime touches Typesafe Config's getters. A value of the wrong type or shape fails with a
 * {@link ConfigValueException} naming the key, the value as written and what was expected; ranges are
 * the records' business ({@link RuntimeSettings}, {@link io.clusterkv.runtime.residency.ResidencyConfig},
 * each policy's provider).
 *
 * <p>Policy sections hold overrides only: the defaults of a policy's keys are its provider's
 * {@link io.clusterkv.spi.ConfigKey}s, filled in by {@link PolicyConfig#of}, and no {@code reference.conf}
 * repeats them.
 */
final class ConfigReader {

    private final Config config;

    ConfigReader(Config config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /**
     * Refuses a key under {@code section} that is not one of {@code known}: a misspelt key would
     * otherwise be ignored silently.
     *
     * @param section a section, e.g. {@code clusterkv.runtime}
     * @param known   the keys it holds
     * @throws ConfigValueException naming the unknown key, with the nearest known one, or naming the
     *                              section where it holds a value instead of keys
     */
    void knownKeysOnly(String section, java.util.Collection<String> known) {
        Config keys;
        try {
            if (!config.hasPath(section)) {
                return;
            }
            keys = config.getConfig(section);
        } catch (ConfigException e) {
            // the section, or a path above it, holds a value: clusterkv.runtime = 5
            throw new ConfigValueException(section, render(section), "a section { key = value }", e);
        }
        for (String key : keys.root().keySet()) {
            if (!known.contains(key)) {
                String nearest = known.stream().min(java.util.Comparator.comparingInt(k -> distance(k, key))).orElse("");
                throw new ConfigValueException(section + "." + key, render(section + "." + key),
                        "a key of " + section + "; did you mean " + section + "." + nearest + "? (its keys: "
                                + String.join(", ", known) + ")");
            }
        }
    }

    /** Levenshtein distance, for suggesting the key meant. */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    String string(String key) {
        return read(key, "a string", config::getString);
    }

    int integer(String key) {
        return read(key, "an integer", config::getInt);
    }

    long longInteger(String key) {
        return read(key, "an integer", config::getLong);
    }

    double number(String key) {
        return read(key, "a number", config::getDouble);
    }

    boolean bool(String key) {
        return read(key, "true or false", config::getBoolean);
    }

    /** A duration such as {@code 30s} or {@code 5m}. */
    java.time.Duration duration(String key) {
        return read(key, "a duration such as 30s or 5m", config::getDuration);
    }

    /** A size such as {@code 256MiB}, in bytes. */
    long bytes(String key) {
        return read(key, "a size such as 256MiB or 1GiB", config::getBytes);
    }

    /** One getter's value; a value it cannot read fails naming the key, the value and {@code expected}. */
    private <T> T read(String key, String expected, Function<String, T> getter) {
        try {
            return getter.apply(key);
        } catch (ConfigException e) {
            throw new ConfigValueException(key, render(key), expected, e);
        }
    }

    /**
     * @return the constant whose name, lower case with {@code _} as {@code -}, is the value (ignoring
     *         case), e.g. {@code last-r} for {@code LAST_R}
     */
    <E extends Enum<E>> E oneOf(String key, Class<E> type) {
        String s = string(key);
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            String name = e.name().toLowerCase(Locale.ROOT).replace('_', '-');
            if (name.equalsIgnoreCase(s)) {
                return e;
            }
            names.add(name);
        }
        String last = names.removeLast();
        throw new ConfigValueException(key, s, names.isEmpty() ? last : String.join(", ", names) + " or " + last);
    }

    /**
     * The overrides of a policy's section {@code clusterkv.policy.<name>}, as strings, checked against
     * the keys its provider declares.
     *
     * @return key inside the section -> value as written; empty when the section is absent
     * @throws ConfigValueException                  if the path holds something other than a section
     * @throws io.clusterkv.spi.PolicyConfigException if a key is not one the policy declares
     */
    Map<String, String> policySection(RecallPolicyProvider provider) {
        String path = PolicyConfig.ROOT + provider.name();
        Map<String, String> values = new LinkedHashMap<>();
        if (config.hasPath(path)) {
            Config section;
            try {
                section = config.getConfig(path);
            } catch (ConfigException e) {
                throw new ConfigValueException(path, render(path), "a section { key = value }", e);
            }
            for (Map.Entry<String, ConfigValue> e : section.entrySet()) {
                values.put(e.getKey(), text(e.getValue()));
            }
        }
        PolicyConfig.of(provider.name(), provider.configKeys(), values); // unknown keys fail here
        return values;
    }

    /** @return the value at {@code key} as written, or {@code null} when there is none */
    String render(String key) {
        try {
            return text(config.getValue(key));
        } catch (ConfigException e) {
            return null;
        }
    }

    private static String text(ConfigValue v) {
        return v.valueType() == ConfigValueType.STRING ? String.valueOf(v.unwrapped()) : v.render();
    }
}

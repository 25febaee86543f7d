package io.clusterkv.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.residency.ResidencyRule;
import java.util.Locale;
import java.util.Objects;

/**
 * The validated settings of a runtime or a session, read from the {@code clusterkv} section of a
 * Typesafe {@link Config} (defaults in the runtime's {@code reference.conf}).
 *
 * @param policy                    {@code clusterkv.runtime.policy}: the recall policy's name
 * @param budget                    {@code clusterkv.runtime.budget}: positions per query head and step, {@code >= 1}
 * @param denseLayers               {@code clusterkv.runtime.dense-layers}: leading layers with exact attention, {@code >= 0}
 * @param kvFormat                  {@code clusterkv.runtime.kv-format}: how shards store keys and values
 * @param computeThreads            {@code clusterkv.runtime.compute-threads}: threads for matrix products, {@code >= 1}
 *                                  (0 in the file means one per available processor)
 * @param maxOutstandingMaintenance {@code clusterkv.runtime.max-outstanding-maintenance}: per shard, {@code >= 1}
 * @param maxPolicyFailures         {@code clusterkv.runtime.max-policy-failures}: per session, {@code >= 0}
 * @param seed                      {@code clusterkv.runtime.seed}: the run's seed; each shard's policy gets
 *                                  {@link io.clusterkv.spi.Seeds#forShard} of it
 * @param residency                 the {@code clusterkv.residency} section
 */
public record RuntimeSettings(String policy, int budget, int denseLayers, KvFormat kvFormat, int computeThreads,
                              int maxOutstandingMaintenance, int maxPolicyFailures, long seed,
                              Residency residency) {

    /**
     * The device tier's settings.
     *
     * @param capacityBytes {@code clusterkv.residency.capacity}: bytes, {@code >= 1}
     * @param rule          {@code clusterkv.residency.policy}
     * @param lastR         {@code clusterkv.residency.last-r}: steps, {@code >= 1}
     * @param blockBytes    {@code clusterkv.residency.block-bytes}: a power of two in {@code [64, 2^30]}, at
     *                      most the capacity
     */
    public record Residency(long capacityBytes, ResidencyRule rule, int lastR, int blockBytes) {
        /** Checks the values. */
        public Residency {
            Objects.requireNonNull(rule, "rule");
            if (capacityBytes < 1) {
                throw new ConfigValueException(RESIDENCY + "capacity", Long.toString(capacityBytes), "a size of at least 1 byte");
            }
            if (lastR < 1) {
                throw new ConfigValueException(RESIDENCY + "last-r", Integer.toString(lastR), "an integer >= 1");
            }
            if (blockBytes < 64 || blockBytes > (1 << 30) || Integer.bitCount(blockBytes) != 1) {
                throw new ConfigValueException(RESIDENCY + "block-bytes", Integer.toString(blockBytes),
                        "a power of two from 64 bytes to 1GiB");
            }
            if (capacityBytes < blockBytes) {
                throw new ConfigValueException(RESIDENCY + "capacity", Long.toString(capacityBytes),
                        "at least one block of clusterkv.residency.block-bytes = " + blockBytes
                                + " bytes (the smallest residency unit)");
            }
        }

        /** @return the residency cache's configuration */
        public io.clusterkv.runtime.residency.ResidencyConfig toConfig() {
            return new io.clusterkv.runtime.residency.ResidencyConfig(capacityBytes, rule, lastR, blockBytes);
        }
    }

    private static final String RUNTIME = "clusterkv.runtime.";
    private static final String RESIDENCY = "clusterkv.residency.";

    /** Checks the values. */
    public RuntimeSettings {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(kvFormat, "kvFormat");
        Objects.requireNonNull(residency, "residency");
        if (policy.isBlank()) {
            throw new ConfigValueException(RUNTIME + "policy", policy, "a policy name (see `ckv policies`)");
        }
        if (budget < 1) {
            throw new ConfigValueException(RUNTIME + "budget", Integer.toString(budget), "an integer >= 1");
        }
        if (denseLayers < 0) {
            throw new ConfigValueException(RUNTIME + "dense-layers", Integer.toString(denseLayers), "an integer >= 0");
        }
        if (computeThreads < 1) {
            throw new ConfigValueException(RUNTIME + "compute-threads", Integer.toString(computeThreads), "an integer >= 1");
        }
        if (maxOutstandingMaintenance < 1) {
            throw new ConfigValueException(RUNTIME + "max-outstanding-maintenance",
                    Integer.toString(maxOutstandingMaintenance), "an integer >= 1");
        }
        if (maxPolicyFailures < 0) {
            throw new ConfigValueException(RUNTIME + "max-policy-failures", Integer.toString(maxPolicyFailures),
                    "an integer >= 0");
        }
    }

    /**
     * Reads and validates the settings.
     *
     * @param config a resolved config holding the {@code clusterkv} section (with the runtime's reference)
     * @return the settings
     * @throws ConfigValueException if a value is missing, of the wrong type or out of range
     */
    public static RuntimeSettings from(Config config) {
        Objects.requireNonNull(config, "config");
        int threads = intAt(config, RUNTIME + "compute-threads", 0, "an integer >= 0 (0 = one per processor)");
        if (threads == 0) {
            threads = Runtime.getRuntime().availableProcessors();
        }
        Residency residency = new Residency(
                bytesAt(config, RESIDENCY + "capacity"),
                ruleAt(config, RESIDENCY + "policy"),
                intAt(config, RESIDENCY + "last-r", 1, "an integer >= 1"),
                blockBytesAt(config, RESIDENCY + "block-bytes"));
        return new RuntimeSettings(
                stringAt(config, RUNTIME + "policy"),
                intAt(config, RUNTIME + "budget", 1, "an integer >= 1"),
                intAt(config, RUNTIME + "dense-layers", 0, "an integer >= 0"),
                kvFormatAt(config, RUNTIME + "kv-format"),
                threads,
                intAt(config, RUNTIME + "max-outstanding-maintenance", 1, "an integer >= 1"),
                intAt(config, RUNTIME + "max-policy-failures", 0, "an integer >= 0"),
                longAt(config, RUNTIME + "seed"),
                residency);
    }

    static String render(Config config, String key) {
        try {
            ConfigValue v = config.getValue(key);
            return v.valueType() == ConfigValueType.STRING ? String.valueOf(v.unwrapped()) : v.render();
        } catch (ConfigException e) {
            return null;
        }
    }

    private static String stringAt(Config config, String key) {
        try {
            return config.getString(key);
        } catch (ConfigException e) {
            throw new ConfigValueException(key, render(config, key), "a string", e);
        }
    }

    private static int intAt(Config config, String key, int min, String expected) {
        int v;
        try {
            v = config.getInt(key);
        } catch (ConfigException e) {
            throw new ConfigValueException(key, render(config, key), expected, e);
        }
        if (v < min) {
            throw new ConfigValueException(key, Integer.toString(v), expected);
        }
        return v;
    }

    private static long longAt(Config config, String key) {
        try {
            return config.getLong(key);
        } catch (ConfigException e) {
            throw new ConfigValueException(key, render(config, key), "an integer", e);
        }
    }

    private static long bytesAt(Config config, String key) {
        long v;
        try {
            v = config.getBytes(key);
        } catch (ConfigException e) {
            throw new ConfigValueException(key, render(config, key), "a size such as 256MiB or 1GiB", e);
        }
        if (v < 1) {
            throw new ConfigValueException(key, render(config, key), "a size of at least 1 byte");
        }
        return v;
    }

    private static int blockBytesAt(Config config, String key) {
        long v = bytesAt(config, key);
        if (v > (1 << 30)) {
            throw new ConfigValueException(key, render(config, key), "a power of two from 64 bytes to 1GiB");
        }
        return (int) v;
    }

    private static KvFormat kvFormatAt(Config config, String key) {
        String s = stringAt(config, key);
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "f16" -> KvFormat.F16;
            case "f32" -> KvFormat.F32;
            default -> throw new ConfigValueException(key, s, "f16 or f32");
        };
    }

    private static ResidencyRule ruleAt(Config config, String key) {
        String s = stringAt(config, key);
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "caffeine" -> ResidencyRule.CAFFEINE;
            case "lru" -> ResidencyRule.LRU;
            case "last-r" -> ResidencyRule.LAST_R;
            default -> throw new ConfigValueException(key, s, "caffeine, lru or last-r");
        };
    }
}

package io.clusterkv.runtime;

import com.typesafe.config.Config;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.runtime.residency.ResidencyConfig;
import io.clusterkv.runtime.residency.ResidencyConfigException;
import io.clusterkv.runtime.residency.ResidencyRule;
import java.time.Duration;
import java.util.Objects;

/**
 * The validated settings of a runtime or a session, read from the {@code clusterkv} section of a
 * Typesafe {@link Config} (defaults in the runtime's {@code reference.conf}). A session's settings are
 * its runtime's with the session's overrides; the residency section is the runtime's.
 *
 * @param policy                    {@code clusterkv.runtime.policy}: the recall policy's name
 * @param budget                    {@code clusterkv.runtime.budget}: positions per query head and step, {@code >= 1}
 * @param denseLayers               {@code clusterkv.runtime.dense-layers}: leading layers with exact attention, {@code >= 0}
 * @param kvFormat                  {@code clusterkv.runtime.kv-format}: how shards store keys and values
 * @param computeThreads            {@code clusterkv.runtime.compute-threads}: threads for matrix products, {@code >= 1}
 *                                  (0 in the file means one per available processor)
 * @param computeSpin               {@code clusterkv.runtime.compute-spin}: how long the compute pool's helper
 *                                  threads poll for the next product before they park ({@code >= 0}; 0: no
 *                                  spinning helpers, products run on the fork-join workers alone)
 * @param maxOutstandingMaintenance {@code clusterkv.runtime.max-outstanding-maintenance}: per shard, {@code >= 1}
 * @param synchronousMaintenance    {@code clusterkv.runtime.synchronous-maintenance}: run maintenance on the
 *                                  shard's thread as soon as it is due (reproducible runs)
 * @param maxPolicyFailures         {@code clusterkv.runtime.max-policy-failures}: per session, {@code >= 0}
 * @param stepTimeout               {@code clusterkv.runtime.step-timeout}: the longest a session waits for the
 *                                  next reply of its shards during a step, prefill chunk or fill before it
 *                                  fails, {@code > 0}
 * @param seed                      {@code clusterkv.runtime.seed}: the run's seed; each shard's policy gets
 *                                  {@link io.clusterkv.spi.Seeds#forShard} of it
 * @param selectionScope            {@code clusterkv.runtime.selection-scope}: each query head selects, or the
 *                                  heads of a GQA group share one selection
 * @param exactCoverage             {@code clusterkv.runtime.exact-coverage}: a shard attends exactly, without
 *                                  selecting, while its selection could read at least this fraction of its
 *                                  rows ({@code selection heads * budget >= exactCoverage * positions}); in
 *                                  {@code (0, 1]}; 1 only when a selection could cover every row
 * @param residency                 the {@code clusterkv.residency} section
 */
public record RuntimeSettings(String policy, int budget, int denseLayers, KvFormat kvFormat, int computeThreads,
                              Duration computeSpin, int maxOutstandingMaintenance, boolean synchronousMaintenance, int maxPolicyFailures,
                              Duration stepTimeout, long seed, SelectionScope selectionScope, double exactCoverage,
                              ResidencyConfig residency) {

    private static final String RUNTIME = "clusterkv.runtime.";

    /** The keys of {@code clusterkv.runtime}; any other is a misspelling, refused with the nearest of these. */
    static final java.util.List<String> KEYS = java.util.List.of("policy", "budget", "dense-layers", "kv-format",
            "compute-threads", "compute-spin", "max-outstanding-maintenance", "synchronous-maintenance", "max-policy-failures", "step-timeout", "seed",
            "selection-scope", "exact-coverage");

    /** Checks the values. */
    public RuntimeSettings {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(kvFormat, "kvFormat");
        Objects.requireNonNull(residency, "residency");
        Objects.requireNonNull(selectionScope, "selectionScope");
        Objects.requireNonNull(stepTimeout, "stepTimeout");
        Objects.requireNonNull(computeSpin, "computeSpin");
        if (computeSpin.isNegative()) {
            throw new ConfigValueException(RUNTIME + "compute-spin", computeSpin.toString(), "a duration >= 0, e.g. 200us");
        }
        if (stepTimeout.isNegative() || stepTimeout.isZero()) {
            throw new ConfigValueException(RUNTIME + "step-timeout", stepTimeout.toString(), "a duration > 0, e.g. 5m");
        }
        if (!(exactCoverage > 0 && exactCoverage <= 1)) {
            throw new ConfigValueException(RUNTIME + "exact-coverage", exactCoverage == Math.rint(exactCoverage)
                    ? Long.toString((long) exactCoverage) : Double.toString(exactCoverage),
                    "a number in (0, 1]");
        }
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
            throw new ConfigValueException(RUNTIME + "compute-threads", Integer.toString(computeThreads),
                    "an integer >= 0 (0 = one per processor)");
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
        ConfigReader in = new ConfigReader(config);
        in.knownKeysOnly("clusterkv.runtime", KEYS);
        in.knownKeysOnly("clusterkv.residency", ResidencyConfig.KEYS);
        int threads = in.integer(RUNTIME + "compute-threads");
        return new RuntimeSettings(
                in.string(RUNTIME + "policy"),
                in.integer(RUNTIME + "budget"),
                in.integer(RUNTIME + "dense-layers"),
                in.oneOf(RUNTIME + "kv-format", KvFormat.class),
                threads == 0 ? Runtime.getRuntime().availableProcessors() : threads,
                duration(in, RUNTIME + "compute-spin", true),
                in.integer(RUNTIME + "max-outstanding-maintenance"),
                in.bool(RUNTIME + "synchronous-maintenance"),
                in.integer(RUNTIME + "max-policy-failures"),
                duration(in, RUNTIME + "step-timeout", false),
                in.longInteger(RUNTIME + "seed"),
                in.oneOf(RUNTIME + "selection-scope", SelectionScope.class),
                in.number(RUNTIME + "exact-coverage"),
                residency(in));
    }

    /**
     * @param groupSize query heads per KV head
     * @return the most positions a shard attends exactly, without selecting: up to there a selection
     *         could read at least {@link #exactCoverage()} of its rows
     *         ({@code selection heads * budget >= exactCoverage * positions})
     */
    public int exactUpTo(int groupSize) {
        double rows = (double) selectionScope.selectionHeads(groupSize) * budget;
        return (int) Math.min(Integer.MAX_VALUE, Math.floor(rows / exactCoverage));
    }

    /**
     * A duration {@code >= 0}, or {@code > 0} unless {@code zeroAllowed}, refused naming the value as written.
     */
    private static Duration duration(ConfigReader in, String key, boolean zeroAllowed) {
        Duration d = in.duration(key);
        if (d.isNegative() || !zeroAllowed && d.isZero()) {
            throw new ConfigValueException(key, in.render(key), zeroAllowed ? "a duration >= 0, e.g. 200us"
                    : "a duration > 0, e.g. 5m");
        }
        return d;
    }

    private static ResidencyConfig residency(ConfigReader in) {
        long capacity = in.bytes(ResidencyConfig.CAPACITY_KEY);
        ResidencyRule rule = in.oneOf(ResidencyConfig.RULE_KEY, ResidencyRule.class);
        int lastSteps = in.integer(ResidencyConfig.LAST_STEPS_KEY);
        long block = in.bytes(ResidencyConfig.BLOCK_BYTES_KEY);
        try {
            // a block beyond int range is out of range; the record says what is allowed
            return new ResidencyConfig(capacity, rule, lastSteps, (int) Math.min(block, Integer.MAX_VALUE));
        } catch (ResidencyConfigException e) {
            throw new ConfigValueException(e.key(), in.render(e.key()), e.expected(), e);
        }
    }
}

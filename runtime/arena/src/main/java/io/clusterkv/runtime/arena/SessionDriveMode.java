package io.clusterkv.runtime.arena;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.ScoreResult;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.SessionOptions;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.runtime.residency.ResidencyStats;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The arena's drive mode on the actor runtime: each request decodes through a {@link Session} of its
 * own (shard actors, the policy's selections, the device tier), teacher-forcing the reference
 * continuation with {@link Session#score}.
 *
 * <p>Runs are reproducible: maintenance is synchronous ({@code synchronous-maintenance = true}), so a
 * policy's index never depends on timing. KV is stored as {@code kvFormat} ({@code f32} by default,
 * like the arena's exact reference, so {@code full} has a perplexity ratio of 1 up to float rounding).
 * The device tier is runtime-wide, so there is one runtime per residency rule, made on first use and
 * closed by {@link #close()}. The request's selection scope becomes the session's
 * {@code clusterkv.runtime.selection-scope}. Bytes moved and the hit rate cover the decode steps (the exact prefill
 * uses no device tier).
 */
public final class SessionDriveMode implements DriveMode, AutoCloseable {

    private final PolicyRegistry policies;
    private final Config base;
    private final Map<String, ClusterKvRuntime> runtimes = new LinkedHashMap<>();

    /**
     * @param policies the policies the arena runs (with any plugins)
     * @param base     extra configuration (e.g. {@code clusterkv.residency.capacity}); the runtime's
     *                 reference fills in the rest
     */
    public SessionDriveMode(PolicyRegistry policies, Config base) {
        this.policies = Objects.requireNonNull(policies, "policies");
        this.base = Objects.requireNonNull(base, "base");
    }

    /** @param policies the policies the arena runs; F32 KV, the reference's other defaults */
    public SessionDriveMode(PolicyRegistry policies) {
        this(policies, ConfigFactory.parseMap(Map.of("clusterkv.runtime.kv-format", "f32")));
    }

    @Override
    public DriveFigures drive(DriveRequest r) {
        try (Session session = open(r.model(), r.policy(), r.budget(), r.overrides(), r.residency(), r.selectionScope(),
                r.denseLayers(), r.seed())) {
            ScoreResult score = session.score(r.prompt(), r.continuation()).join();
            int[] argmax = score.argmax();
            int agree = 0;
            for (int t = 0; t < argmax.length; t++) {
                agree += argmax[t] == r.exactArgmax()[t] ? 1 : 0;
            }
            ResidencyStats res = session.stats().residency();
            return new DriveFigures(score.perplexity(), (double) agree / argmax.length,
                    score.decodeTokensPerSecond(), res.bytesMoved(), res.requests() == 0 ? Double.NaN : res.hitRate());
        }
    }

    /**
     * Opens a session as the arena's drive mode runs one: the policy at the budget with its overrides,
     * the first {@code denseLayers} layers exact, selections wherever they cannot cover the context
     * ({@code exact-coverage = 1}), synchronous maintenance, on the runtime of the residency rule. The
     * task mode ({@link TaskArena}) opens its sessions here too.
     *
     * @return the session; the caller closes it
     */
    Session open(LlamaModel model, String policy, int budget, Map<String, String> overrides, String residency,
            SelectionScope scope, int denseLayers, long seed) {
        ClusterKvRuntime runtime = runtimes.computeIfAbsent(residency, rule -> ClusterKvRuntime.builder()
                .config(ConfigFactory.parseMap(Map.of("clusterkv.residency.policy", rule,
                        "clusterkv.runtime.policy", policy)).withFallback(base))
                .policies(policies).build());
        SessionOptions.Builder options = SessionOptions.builder().policy(policy).budget(budget)
                .set("clusterkv.runtime.dense-layers", denseLayers)
                .set("clusterkv.runtime.selection-scope", scope.name().toLowerCase(Locale.ROOT))
                .set("clusterkv.runtime.seed", seed)
                // the policies are what is compared: they select wherever their selections cannot cover the
                // context, not only past the runtime's default, which attends exactly up to 4x that
                .set("clusterkv.runtime.exact-coverage", 1)
                .set("clusterkv.runtime.synchronous-maintenance", true);
        overrides.forEach((k, v) -> options.set("clusterkv.policy." + policy + "." + k, v));
        return runtime.openSession(model, options.build());
    }

    /** Closes the runtimes it made. */
    @Override
    public void close() {
        runtimes.values().forEach(ClusterKvRuntime::close);
        runtimes.clear();
    }
}

package io.clusterkv.runtime.arena;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.ScoreResult;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.SessionOptions;
import io.clusterkv.runtime.policy.PolicyRegistry;
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
        ClusterKvRuntime runtime = runtimes.computeIfAbsent(r.residency(), rule -> ClusterKvRuntime.builder()
                .config(ConfigFactory.parseMap(Map.of("clusterkv.residency.policy", rule,
                        "clusterkv.runtime.policy", r.policy())).withFallback(base))
                .policies(policies).build());
        SessionOptions.Builder options = SessionOptions.builder().policy(r.policy()).budget(r.budget())
                .set("clusterkv.runtime.dense-layers", r.denseLayers())
                .set("clusterkv.runtime.selection-scope", r.selectionScope().name().toLowerCase(Locale.ROOT))
                .set("clusterkv.runtime.seed", r.seed())
                // the policies are what is compared: they select wherever their selections cannot cover the
                // context, not only past the runtime's default, which attends exactly up to 4x that
                .set("clusterkv.runtime.exact-coverage", 1)
                .set("clusterkv.runtime.synchronous-maintenance", true);
        r.overrides().forEach((k, v) -> options.set("clusterkv.policy." + r.policy() + "." + k, v));
        try (Session session = runtime.openSession(r.model(), options.build())) {
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

    /** Closes the runtimes it made. */
    @Override
    public void close() {
        runtimes.values().forEach(ClusterKvRuntime::close);
        runtimes.clear();
    }
}

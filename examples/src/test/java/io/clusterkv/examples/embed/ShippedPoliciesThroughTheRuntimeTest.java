package io.clusterkv.examples.embed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.SessionOptions;
import io.clusterkv.runtime.SessionStats;
import io.clusterkv.runtime.TokenListener;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.ShardGeometry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The shipped policies (ClusterKV, Quest, the baselines) through the actor runtime on stories260K: with
 * a budget not smaller than the context every one decodes exactly like {@code full}; with a small budget
 * they run sparse steps, and ClusterKV's clustering runs as asynchronous maintenance. Also: a policy's
 * defaults are written once, in its declared keys, and no reference.conf repeats them.
 */
@ExtendWith(LogCapturingExtension.class)
class ShippedPoliciesThroughTheRuntimeTest {

    private static ClusterKvRuntime runtime;
    private static LlamaModel model;

    @BeforeAll
    static void start() throws Exception {
        Path file = null;
        for (Path d = Path.of("").toAbsolutePath(); d != null && file == null; d = d.getParent()) {
            Path p = d.resolve("shared/models/stories260K.bin");
            file = Files.isRegularFile(p) ? p : null;
        }
        assumeTrue(file != null, "shared/models/stories260K.bin not found; skipping");
        runtime = ClusterKvRuntime.builder()
                .config(ConfigFactory.parseMap(Map.of("clusterkv.runtime.dense-layers", 1,
                        "clusterkv.runtime.kv-format", "f32")))
                .build();
        model = Models.load(file);
    }

    @AfterAll
    static void stop() {
        if (runtime != null) {
            runtime.close();
        }
        if (model != null) {
            model.close();
        }
    }

    @Test
    void everyPolicyWithABudgetCoveringTheContextDecodesLikeFull() {
        int[] prompt = prompt(100, 1);
        int steps = 40;
        int[] full = generate("full", 4096, prompt, steps, Map.of());
        assertTrue(runtime.policies().names().containsAll(java.util.List.of("clusterkv", "quest")));
        for (String policy : runtime.policies().names()) {
            assertArrayEquals(full, generate(policy, 256, prompt, steps, Map.of()), policy);
        }
    }

    @Test
    void smallBudgetsRunSparseStepsAndClusterKvMaintenanceAsynchronously() {
        int[] prompt = prompt(200, 2);
        // exact-coverage 1: the shards select past 2 x 64 positions (the default attends exactly up to 512)
        Map<String, Object> clusterKv = Map.of("clusterkv.policy.clusterkv.tokens-per-cluster", 16,
                "clusterkv.policy.clusterkv.recluster-every", 32, "clusterkv.policy.clusterkv.sink", 4,
                "clusterkv.runtime.exact-coverage", 1);
        for (String policy : new String[] {"clusterkv", "quest"}) {
            try (Session s = runtime.openSession(model, options(policy, 64,
                    policy.equals("clusterkv") ? clusterKv : Map.of("clusterkv.runtime.exact-coverage", 1)))) {
                int[] tokens = s.generate(prompt, 80, Sampler.greedy(), TokenListener.none()).join().tokens();
                SessionStats st = s.stats();
                assertEquals(0, st.policyFailures(), policy);
                assertTrue(st.sparseShardSteps() > 0, policy + ": " + st);
                if (policy.equals("clusterkv") && tokens.length == 80) {
                    assertTrue(st.maintenanceStarted() >= 1 + 1, "prompt clustering and re-clustering: " + st);
                }
            }
        }
    }

    @Test
    void aPolicysDefaultsAreWrittenOnlyInItsDeclaredKeys() {
        Config reference = ConfigFactory.defaultReference();
        assertTrue(reference.hasPath("clusterkv.runtime.policy"), "the runtime's reference is on the class path");
        assertFalse(reference.hasPath("clusterkv.policy"), "no reference.conf repeats a policy's defaults");
        for (RecallPolicyProvider p : runtime.policies().providers().values()) {
            // the declared defaults are valid values: a policy starts on them alone
            p.create(new PolicyContext(new ShardGeometry(1, 0, model.config().groupSize(), model.config().headDim()),
                    64, PolicyConfig.defaults(p), 1)).close();
        }
    }

    private static int[] generate(String policy, int budget, int[] prompt, int n, Map<String, Object> settings) {
        try (Session s = runtime.openSession(model, options(policy, budget, settings))) {
            return s.generate(prompt, n, Sampler.greedy(), TokenListener.none()).join().tokens();
        }
    }

    private static SessionOptions options(String policy, int budget, Map<String, Object> settings) {
        SessionOptions.Builder b = SessionOptions.builder().policy(policy).budget(budget);
        settings.forEach(b::set);
        return b.build();
    }

    private static int[] prompt(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        t[0] = 1;
        for (int i = 1; i < n; i++) {
            t[i] = 3 + r.nextInt(model.config().vocab() - 3);
        }
        return t;
    }
}

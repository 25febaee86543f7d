package io.clusterkv.policy.clusterkv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyConfigException;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.ShardGeometry;
import java.util.HashMap;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Config keys, their validation (errors name the full key and the value), the adaptive rule, discovery. */
class ConfigTest {

    private static final RecallPolicyProvider PROVIDER = new ClusterKvPolicy.Provider();

    private static PolicyContext context(Map<String, String> overrides, int budget) {
        return new PolicyContext(new ShardGeometry(0, 0, 1, 16), budget,
                PolicyConfig.of(PROVIDER.name(), PROVIDER.configKeys(), overrides), 1);
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource({
            "tokens-per-cluster, 0, ''", "tokens-per-cluster, -3, ''", "iterations, 0, ''", "sink, -1, ''",
            "recluster-every, 0, ''", "clusters-per-recluster, 0, ''", "clusters-per-recluster, 321, ''",
            "clusters-per-recluster, 11, recluster-every=10", "batch-size, 0, ''", "init-sample, -1, ''",
            "adaptive-clusters-per-budget, 0, ''", "init, kmeans, ''", "algorithm, elkan, ''",
            "early-stop, maybe, ''", "adaptive-clusters, 2, ''", "iterations, twenty, ''", "adaptive-min-tokens, 0, ''",
            "adaptive-max-tokens, 15, ''", "adaptive-max-tokens, 40, adaptive-min-tokens=50",
            "prefill-clusters, -1, ''", "prefill-clusters, many, ''", "top-p, 1.5, ''", "top-p, -0.1, ''",
            "top-p, NaN, ''", "top-p, most, ''", "preset, best, ''"})
    void badValueFailsAtCreationNamingKeyAndValue(String key, String value, String also) {
        Map<String, String> overrides = new HashMap<>();
        if (!also.isEmpty()) {
            String[] kv = also.split("=");
            overrides.put(kv[0], kv[1]);
        }
        overrides.put(key, value);
        var ctx = context(overrides, 64);
        PolicyConfigException e = assertThrows(PolicyConfigException.class, () -> PROVIDER.create(ctx));
        assertEquals("clusterkv.policy.clusterkv." + key, e.key());
        assertEquals(value, e.value());
        assertTrue(e.getMessage().contains("clusterkv.policy.clusterkv." + key) && e.getMessage().contains(value),
                e.getMessage());
    }

    @Test
    void defaultsAreThePapersWithKMeansPlusPlusSeedingOverEveryKey() {
        ClusterKvConfig c = ClusterKvConfig.DEFAULTS;
        // the paper's values but the seeding: k-means++ over all keys (decided on the arena's tasks, docs/TASKS.md)
        assertEquals(new ClusterKvConfig(16, 80, 20, KMeans.Init.K_MEANS_PLUS_PLUS, false, 320, 4, KMeans.Algorithm.LLOYD,
                1024, 0, false, 12, 16, 320, 0, 0.0), c);
        assertEquals(c, ClusterKvConfig.read(PolicyConfig.of(PROVIDER.name(), PROVIDER.configKeys(),
                Map.of("preset", "paper"))), "preset = paper is the defaults");
        assertEquals(25, c.promptClusters(2000, 1024)); // ceil(2000 / 80)
        assertEquals(80, c.tokensPerCluster(1 << 20));
        assertEquals(4, c.clustersPerRecluster(64));
        assertEquals(new KMeans.Settings(20, KMeans.Init.RANDOM, false, KMeans.Algorithm.LLOYD, 1024, 4096),
                KMeans.Settings.PAPER);
    }

    @Test
    void adaptiveRuleSizesClustersFromTheBudget() {
        ClusterKvConfig c = ClusterKvConfig.read(PolicyConfig.of(PROVIDER.name(), PROVIDER.configKeys(),
                Map.of("adaptive-clusters", "true")));
        assertEquals(84, c.tokensPerCluster(1024)); // 1008 / 12
        assertEquals(4, c.clustersPerRecluster(1024));
        assertEquals(20, c.tokensPerCluster(256));  // 240 / 12
        assertEquals(16, c.clustersPerRecluster(256));
        assertEquals(16, c.tokensPerCluster(64));   // 4, clamped to adaptive-min-tokens
        assertEquals(170, c.tokensPerCluster(2048)); // ceil(2032 / 12)
        assertEquals(320, c.tokensPerCluster(8192)); // clamped to adaptive-max-tokens
        assertEquals(1, c.clustersPerRecluster(8192));
        ClusterKvPolicy p = (ClusterKvPolicy) PROVIDER.create(context(Map.of("adaptive-clusters", "true"), 256));
        assertEquals(20, p.tokensPerCluster());
        assertEquals(16, p.clustersPerRecluster());
    }

    @Test
    void referencePresetGivesTheReferenceCodesCountsAndExplicitKeysWin() {
        ClusterKvConfig ref = ClusterKvConfig.read(PolicyConfig.of(PROVIDER.name(), PROVIDER.configKeys(),
                Map.of("preset", "reference")));
        assertEquals(400, ref.prefillClusters());
        assertEquals(8, ref.clustersPerRecluster());
        assertEquals(ClusterKvConfig.DEFAULTS.sink(), ref.sink());
        assertEquals(ClusterKvConfig.DEFAULTS.iterations(), ref.iterations());
        assertEquals(ClusterKvConfig.DEFAULTS.reclusterEvery(), ref.reclusterEvery());
        assertEquals(400, ref.promptClusters(32000, 1024));
        assertEquals(300, ref.promptClusters(300, 1024), "never more clusters than keys");
        ClusterKvConfig mixed = ClusterKvConfig.read(PolicyConfig.of(PROVIDER.name(), PROVIDER.configKeys(),
                Map.of("preset", "reference", "prefill-clusters", "100", "top-p", "0.9")));
        assertEquals(100, mixed.prefillClusters(), "an explicit key wins over the preset");
        assertEquals(8, mixed.clustersPerRecluster());
        assertEquals(0.9, mixed.topP());
    }

    @Test
    void prefillClustersSetsThePromptsClusterCount() {
        ClusterKvPolicy policy = StepDriver.create(Map.of("prefill-clusters", "7"), 64, 1, 16, 3);
        StepDriver driver = new StepDriver(policy, new io.clusterkv.spi.conformance.GrowingKeyView(
                TestKeys.gaussian(400, 16, 1), 16, 300), 0, false);
        driver.prompt();
        assertEquals(7, driver.handedOut.getFirst().clusters(), "7 clusters, not ceil(284 / 80) = 4");
    }

    @Test
    void prefillClustersWinsOverTheAdaptiveRuleForThePrompt() {
        ClusterKvConfig c = ClusterKvConfig.read(PolicyConfig.of(PROVIDER.name(), PROVIDER.configKeys(),
                Map.of("adaptive-clusters", "true", "prefill-clusters", "50")));
        assertEquals(50, c.promptClusters(10_000, 256));
        assertEquals(16, c.clustersPerRecluster(256), "the adaptive rule still sizes decode-time clusters");
    }

    @Test
    void foundByServiceLoader() {
        boolean found = false;
        for (RecallPolicyProvider p : ServiceLoader.load(RecallPolicyProvider.class)) {
            found |= p.name().equals("clusterkv") && p instanceof ClusterKvPolicy.Provider;
        }
        assertTrue(found, "META-INF/services registers clusterkv");
    }
}

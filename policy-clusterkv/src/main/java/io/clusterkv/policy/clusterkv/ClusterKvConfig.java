package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyConfigException;
import java.util.List;
import java.util.Map;

/**
 * The {@code clusterkv.policy.clusterkv} section, parsed and validated once per shard.
 *
 * <p>Defaults follow the paper and its reference code, with k-means++ seeding over every key (see
 * {@link ClusterKvPolicy}). The adaptive rule
 * ({@code adaptive-clusters = true}) sizes clusters from the session budget so that about
 * {@code adaptive-clusters-per-budget} clusters fill it:
 * <pre>
 *   tokensPerCluster     = clamp(ceil((budget - min(sink, budget)) / adaptive-clusters-per-budget),
 *                                adaptive-min-tokens, adaptive-max-tokens)
 *   clustersPerRecluster = clamp(round(recluster-every / tokensPerCluster), 1, recluster-every)
 * </pre>
 * With the defaults (12 clusters per budget, clusters of 16 to 320 tokens): budget 1024 gives 84 tokens
 * per cluster (the paper's 80 is its budget-1024 point), 256 gives 20, 2048 gives 170, 4096 and above
 * 320. Finer clusters at small budgets let the budget follow the query more closely; coarser ones at
 * large budgets make building and ranking cheaper.
 *
 * <p>The prompt's cluster count is {@code min(prefill-clusters, n)} when {@code prefill-clusters > 0}
 * (the reference code's {@code nlist}), else {@code ceil(n / tokensPerCluster)}; {@code prefill-clusters}
 * wins over the adaptive rule for the prompt, which still sizes the decode-time clusters.
 *
 * <p>{@code preset} fills in the keys the application left unset ({@link PolicyConfig#withDefaults}):
 * {@link Preset#PAPER} changes nothing (the declared defaults: the paper's counts), {@link Preset#REFERENCE}
 * gives the public code's values. An explicit key always wins over the preset.
 *
 * @param sink                      first positions always attended and never clustered
 * @param tokensPerCluster          prompt keys per cluster: {@code C = ceil(n / tokensPerCluster)}
 * @param iterations                k-means iterations (Lloyd) or mini-batch steps
 * @param init                      how initial centroids are drawn
 * @param earlyStop                 whether Lloyd stops once no label changes
 * @param reclusterEvery            generated keys clustered together, on their own, during decoding
 * @param clustersPerRecluster      clusters made from each such group
 * @param algorithm                 Lloyd (the paper) or mini-batch k-means
 * @param batchSize                 keys per mini-batch step
 * @param initSample                keys k-means++ seeding draws from ({@code 0}: all)
 * @param adaptiveClusters          whether cluster size follows the budget (rule above)
 * @param adaptiveClustersPerBudget clusters that should fill the budget under the adaptive rule
 * @param adaptiveMinTokens         smallest cluster size the adaptive rule picks
 * @param adaptiveMaxTokens         largest cluster size the adaptive rule picks
 * @param prefillClusters           a fixed cluster count for the prompt, {@code 0}: from {@link #tokensPerCluster}
 * @param topP                      the adaptive budget's target share of the estimated attention mass per
 *                                  query head, {@code (0, 1]}; {@code 0}: off, every head fills its budget
 */
record ClusterKvConfig(int sink, int tokensPerCluster, int iterations, KMeans.Init init, boolean earlyStop,
                       int reclusterEvery, int clustersPerRecluster, KMeans.Algorithm algorithm, int batchSize,
                       int initSample, boolean adaptiveClusters, int adaptiveClustersPerBudget,
                       int adaptiveMinTokens, int adaptiveMaxTokens, int prefillClusters, double topP) {

    static final String PRESET = "preset";
    static final String SINK = "sink";
    static final String TOKENS_PER_CLUSTER = "tokens-per-cluster";
    static final String ITERATIONS = "iterations";
    static final String INIT = "init";
    static final String EARLY_STOP = "early-stop";
    static final String RECLUSTER_EVERY = "recluster-every";
    static final String CLUSTERS_PER_RECLUSTER = "clusters-per-recluster";
    static final String ALGORITHM = "algorithm";
    static final String BATCH_SIZE = "batch-size";
    static final String INIT_SAMPLE = "init-sample";
    static final String ADAPTIVE_CLUSTERS = "adaptive-clusters";
    static final String ADAPTIVE_CLUSTERS_PER_BUDGET = "adaptive-clusters-per-budget";
    static final String ADAPTIVE_MIN_TOKENS = "adaptive-min-tokens";
    static final String ADAPTIVE_MAX_TOKENS = "adaptive-max-tokens";
    static final String PREFILL_CLUSTERS = "prefill-clusters";
    static final String TOP_P = "top-p";

    /**
     * Ready-made values for the keys an application leaves unset ({@code preset}).
     *
     * <p>The reference code (github.com/sjtu-zhao-lab/ClusterKV) clusters the prompt into a fixed
     * {@code nlist} clusters: 400 in its accuracy runs ({@code accuracy/patch.py}, {@code --nlist}
     * default), 200 in its speed benchmark ({@code efficiency/bench_textgen.py}); it clusters each
     * window of 320 generated keys into {@code window_nlist = 8} clusters ({@code bench_textgen.py},
     * {@code clusterkv/clusterkv_models/ClusterKVAttention.py}; its accuracy runs cluster only the prompt
     * and attend every generated key). Its sink (16), window (320) and iterations (20) are the paper's;
     * its decoding path draws initial centroids at random among the keys as we do, while its accuracy
     * runs use pylibraft's k-means with that library's defaults (k-means++ seeding, a tolerance stop),
     * closest here to {@code init = k-means-plus-plus, early-stop = true}, which the preset leaves alone.
     */
    enum Preset {
        /** The paper's values: the declared defaults, unchanged. */
        PAPER(Map.of()),
        /** The reference code's: 400 prompt clusters (its accuracy runs), 8 clusters per run of 320 new keys (its decoding). */
        REFERENCE(Map.of(PREFILL_CLUSTERS, "400", CLUSTERS_PER_RECLUSTER, "8"));

        private final Map<String, String> values;

        Preset(Map<String, String> values) {
            this.values = values;
        }

        /** @return the values it gives, by key */
        Map<String, String> settings() {
            return values;
        }
    }

    /** The declared keys, in the order {@code ckv policies} lists them. */
    static final List<ConfigKey> KEYS = List.of(
            new ConfigKey(PRESET, "paper", "values for the keys left unset: paper (the defaults listed here) or"
                    + " reference (the public code's: prefill-clusters = 400 as its accuracy runs, clusters-per-recluster"
                    + " = 8 per 320 new keys as its decoding); an explicit key wins"),
            new ConfigKey(SINK, "16", "first positions always attended (inside the budget), never clustered; >= 0"),
            new ConfigKey(TOKENS_PER_CLUSTER, "80", "prompt keys per cluster, C = ceil(n / this), unless prefill-clusters is set; >= 1"),
            new ConfigKey(PREFILL_CLUSTERS, "0", "a fixed number of clusters for the prompt (the reference code's nlist),"
                    + " at most one per key; 0 = from tokens-per-cluster; >= 0"),
            new ConfigKey(TOP_P, "0", "adaptive budget: per query head, take clusters best first until their estimated"
                    + " share of the attention mass reaches this, the budget staying the cap; 0 = off (fill the budget);"
                    + " in [0, 1]"),
            new ConfigKey(ITERATIONS, "20", "k-means iterations (lloyd) or mini-batch steps; >= 1"),
            new ConfigKey(INIT, "k-means-plus-plus", "initial centroids: k-means-plus-plus (D² seeding, as the reference"
                    + " code's accuracy runs; rare keys such as a needle's get centroids of their own) or random (keys"
                    + " drawn with the seed, as the paper's decoding path)"),
            new ConfigKey(EARLY_STOP, "false", "stop k-means once no label changes; true or false"),
            new ConfigKey(RECLUSTER_EVERY, "320", "during decoding, each run of this many new keys is clustered on its own; >= 1"),
            new ConfigKey(CLUSTERS_PER_RECLUSTER, "4", "clusters made from each run of recluster-every keys; in [1, recluster-every]"),
            new ConfigKey(ALGORITHM, "lloyd", "k-means algorithm: lloyd (the paper) or mini-batch (cheaper; one full assignment at the end)"),
            new ConfigKey(BATCH_SIZE, "1024", "keys per mini-batch step (algorithm = mini-batch); >= 1"),
            new ConfigKey(INIT_SAMPLE, "0", "keys k-means++ seeding draws from (init = k-means-plus-plus), 0 = all"
                    + " (a sample can miss the rare keys seeding is for); >= 0"),
            new ConfigKey(ADAPTIVE_CLUSTERS, "false", "size clusters from the budget instead of tokens-per-cluster; true or false"),
            new ConfigKey(ADAPTIVE_CLUSTERS_PER_BUDGET, "12", "with adaptive-clusters, about this many clusters fill the budget; >= 1"),
            new ConfigKey(ADAPTIVE_MIN_TOKENS, "16", "with adaptive-clusters, the smallest cluster size chosen; >= 1"),
            new ConfigKey(ADAPTIVE_MAX_TOKENS, "320", "with adaptive-clusters, the largest cluster size chosen; >= adaptive-min-tokens"));

    /** The defaults: {@link #KEYS} read with no overrides (the keys are the only place they are written). */
    static final ClusterKvConfig DEFAULTS = read(PolicyConfig.defaults(new ClusterKvPolicy.Provider()));

    /**
     * Validates values set in code; {@link #read} reports the same problems with the full key.
     *
     * @throws IllegalArgumentException if a value is out of range, naming it
     */
    ClusterKvConfig {
        check(sink >= 0, SINK, sink);
        check(tokensPerCluster >= 1, TOKENS_PER_CLUSTER, tokensPerCluster);
        check(iterations >= 1, ITERATIONS, iterations);
        check(reclusterEvery >= 1, RECLUSTER_EVERY, reclusterEvery);
        check(clustersPerRecluster >= 1 && clustersPerRecluster <= reclusterEvery, CLUSTERS_PER_RECLUSTER,
                clustersPerRecluster);
        check(batchSize >= 1, BATCH_SIZE, batchSize);
        check(initSample >= 0, INIT_SAMPLE, initSample);
        check(adaptiveClustersPerBudget >= 1, ADAPTIVE_CLUSTERS_PER_BUDGET, adaptiveClustersPerBudget);
        check(adaptiveMinTokens >= 1, ADAPTIVE_MIN_TOKENS, adaptiveMinTokens);
        check(adaptiveMaxTokens >= adaptiveMinTokens, ADAPTIVE_MAX_TOKENS, adaptiveMaxTokens);
        check(prefillClusters >= 0, PREFILL_CLUSTERS, prefillClusters);
        if (!(topP >= 0 && topP <= 1)) {
            throw new IllegalArgumentException(TOP_P + " out of range: " + topP);
        }
        java.util.Objects.requireNonNull(init, INIT);
        java.util.Objects.requireNonNull(algorithm, ALGORITHM);
    }

    private static void check(boolean ok, String key, int value) {
        if (!ok) {
            throw new IllegalArgumentException(key + " out of range: " + value);
        }
    }

    /**
     * Reads and validates a section.
     *
     * @param section the section, defaults filled in; its {@code preset} fills the keys left unset
     * @return the parsed values
     * @throws PolicyConfigException naming the full key, the value and the expectation
     */
    static ClusterKvConfig read(PolicyConfig section) {
        PolicyConfig c = section.withDefaults(section.getEnum(PRESET, Preset.class).settings());
        int reclusterEvery = c.getInt(RECLUSTER_EVERY, 1, Integer.MAX_VALUE);
        int adaptiveMinTokens = c.getInt(ADAPTIVE_MIN_TOKENS, 1, Integer.MAX_VALUE);
        return new ClusterKvConfig(
                c.getInt(SINK, 0, Integer.MAX_VALUE),
                c.getInt(TOKENS_PER_CLUSTER, 1, Integer.MAX_VALUE),
                c.getInt(ITERATIONS, 1, Integer.MAX_VALUE),
                c.getEnum(INIT, KMeans.Init.class),
                c.getBoolean(EARLY_STOP),
                reclusterEvery,
                c.getInt(CLUSTERS_PER_RECLUSTER, 1, reclusterEvery),
                c.getEnum(ALGORITHM, KMeans.Algorithm.class),
                c.getInt(BATCH_SIZE, 1, Integer.MAX_VALUE),
                c.getInt(INIT_SAMPLE, 0, Integer.MAX_VALUE),
                c.getBoolean(ADAPTIVE_CLUSTERS),
                c.getInt(ADAPTIVE_CLUSTERS_PER_BUDGET, 1, Integer.MAX_VALUE),
                adaptiveMinTokens,
                c.getInt(ADAPTIVE_MAX_TOKENS, adaptiveMinTokens, Integer.MAX_VALUE),
                c.getInt(PREFILL_CLUSTERS, 0, Integer.MAX_VALUE),
                c.getDouble(TOP_P, 0, 1));
    }

    /** @return the k-means settings these values give */
    KMeans.Settings kmeans() {
        return new KMeans.Settings(iterations, init, earlyStop, algorithm, batchSize, initSample);
    }

    /**
     * @param budget the session budget
     * @return prompt keys per cluster: {@link #tokensPerCluster}, or the adaptive rule's value
     */
    int tokensPerCluster(int budget) {
        if (!adaptiveClusters) {
            return tokensPerCluster;
        }
        long explicit = Math.max(1, budget - Math.min(sink, budget));
        long wanted = (explicit + adaptiveClustersPerBudget - 1) / adaptiveClustersPerBudget;
        return (int) Math.min(Math.max(wanted, adaptiveMinTokens), adaptiveMaxTokens);
    }

    /**
     * @param keys   prompt keys to cluster (past the sinks), {@code >= 1}
     * @param budget the session budget
     * @return clusters to make of them: {@link #prefillClusters} (at most {@code keys}) when set, else
     *         {@code ceil(keys / tokensPerCluster(budget))}
     */
    int promptClusters(int keys, int budget) {
        return prefillClusters > 0 ? Math.min(prefillClusters, keys) : Math.ceilDiv(keys, tokensPerCluster(budget));
    }

    /**
     * @param budget the session budget
     * @return clusters made from each decode-time group: {@link #clustersPerRecluster}, or the adaptive
     *         rule's value
     */
    int clustersPerRecluster(int budget) {
        if (!adaptiveClusters) {
            return clustersPerRecluster;
        }
        long k = Math.round((double) reclusterEvery / tokensPerCluster(budget));
        return (int) Math.min(Math.max(k, 1), reclusterEvery);
    }
}

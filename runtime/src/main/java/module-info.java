/**
 * The ClusterKV runtime: the actor runtime and its embedding API ({@code io.clusterkv.runtime}), KV
 * storage, attention kernels, the device tier (residency cache), policy discovery, baseline policies,
 * the synthetic workload, selection metrics, the arena (policy comparisons, results.json, report.html),
 * model files and tokenizers.
 */
module io.clusterkv.runtime {
    requires transitive io.clusterkv.spi;
    requires jdk.incubator.vector;
    requires java.management;
    requires pekko.actor.typed;
    requires pekko.actor;
    requires scala.library;
    requires typesafe.config;
    requires org.slf4j;
    requires com.github.benmanes.caffeine;
    requires tools.jackson.databind;

    exports io.clusterkv.runtime;
    exports io.clusterkv.runtime.attention;
    exports io.clusterkv.runtime.kv;
    exports io.clusterkv.runtime.policy;
    exports io.clusterkv.runtime.residency;
    exports io.clusterkv.runtime.synthetic;
    exports io.clusterkv.runtime.metrics;
    exports io.clusterkv.runtime.compare;
    exports io.clusterkv.runtime.arena;
    exports io.clusterkv.runtime.model;
    exports io.clusterkv.runtime.model.gguf;
    exports io.clusterkv.runtime.tensor;
    exports io.clusterkv.runtime.tokenizer;

    uses io.clusterkv.spi.RecallPolicyProvider;

    provides io.clusterkv.spi.RecallPolicyProvider with
            io.clusterkv.runtime.policy.FullPolicy.Provider,
            io.clusterkv.runtime.policy.StreamingPolicy.Provider,
            io.clusterkv.runtime.policy.OraclePolicy.Provider;
}

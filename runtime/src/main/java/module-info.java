/**
 * The ClusterKV runtime: KV storage, attention kernels, policy discovery, baseline policies, the
 * synthetic workload and selection metrics.
 */
module io.clusterkv.runtime {
    requires transitive io.clusterkv.spi;
    requires jdk.incubator.vector;

    exports io.clusterkv.runtime.attention;
    exports io.clusterkv.runtime.kv;
    exports io.clusterkv.runtime.policy;

    uses io.clusterkv.spi.RecallPolicyProvider;

    provides io.clusterkv.spi.RecallPolicyProvider with
            io.clusterkv.runtime.policy.FullPolicy.Provider,
            io.clusterkv.runtime.policy.StreamingPolicy.Provider,
            io.clusterkv.runtime.policy.OraclePolicy.Provider;
}

/**
 * The engine under the actors: the off-heap KV shard store, attention kernels, the device tier
 * (residency), policy discovery with the baseline policies, and the single-threaded reference decoder.
 * Depends on the model module, the policy SPI and Caffeine.
 */
module io.clusterkv.runtime.engine {
    requires transitive io.clusterkv.spi;
    requires transitive io.clusterkv.runtime.model;
    requires jdk.incubator.vector;
    requires com.github.benmanes.caffeine;

    // the API: policy discovery, the KV store (what observers and history fills see), the device
    // tier's rules and figures, the single-threaded reference decoder
    exports io.clusterkv.runtime.policy;
    exports io.clusterkv.runtime.kv;
    exports io.clusterkv.runtime.residency;
    exports io.clusterkv.runtime.decode;
    // the attention kernels: an internal the actor runtime and the arena build on
    exports io.clusterkv.runtime.attention to io.clusterkv.runtime, io.clusterkv.runtime.arena;

    uses io.clusterkv.spi.RecallPolicyProvider;

    provides io.clusterkv.spi.RecallPolicyProvider with
            io.clusterkv.runtime.policy.FullPolicy.Provider,
            io.clusterkv.runtime.policy.StreamingPolicy.Provider,
            io.clusterkv.runtime.policy.OraclePolicy.Provider;
}

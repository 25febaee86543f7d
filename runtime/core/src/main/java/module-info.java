/**
 * The embedding API of the ClusterKV runtime ({@link io.clusterkv.runtime.ClusterKvRuntime},
 * {@link io.clusterkv.runtime.Session}) and the Pekko Typed actors behind it: one per session, one per
 * (layer, KV head) shard. Depends on the engine, Pekko, Typesafe Config and SLF4J; not on Jackson or
 * Chart.js (those are the arena's).
 */
module io.clusterkv.runtime {
    requires transitive io.clusterkv.runtime.engine;
    requires pekko.actor.typed;
    requires pekko.actor;
    requires scala.library;
    requires transitive typesafe.config;
    requires org.slf4j;

    exports io.clusterkv.runtime;
}

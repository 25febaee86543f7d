/**
 * The embedding API and the actor runtime: {@link io.clusterkv.runtime.ClusterKvRuntime} (configuration,
 * actor system, compute pool, device tier), {@link io.clusterkv.runtime.Session} (one conversation:
 * generate, score, statistics), their options and results. Inside, one Pekko Typed actor per session
 * runs the weight side of the forward pass and one per (layer, kvHead) shard owns that shard's KV
 * history, policy instance and scratch; they talk with tell and preallocated replies.
 */
package io.clusterkv.runtime;

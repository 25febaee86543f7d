/**
 * The device tier: a bounded, runtime-wide cache of residency units (ClusterKV clusters, Quest pages)
 * that shards attend from instead of gathering rows from the host store, with three interchangeable
 * rules for what stays (Caffeine's W-TinyLFU, exact LRU, the ClusterKV paper's last-R-steps rule) and
 * hit, miss and bytes-moved counters per session and layer. Entry point:
 * {@link io.clusterkv.runtime.residency.ResidencyCache}; each shard uses its
 * {@link io.clusterkv.runtime.residency.ShardResidency}.
 */
package io.clusterkv.runtime.residency;

/**
 * The ClusterKV recall policy ({@code clusterkv}). The entry point is
 * {@link io.clusterkv.policy.clusterkv.ClusterKvPolicy}; everything else is package-private:
 * {@link io.clusterkv.policy.clusterkv.ClusterKvConfig} (the config section),
 * {@link io.clusterkv.policy.clusterkv.KMeans} (cosine k-means),
 * {@link io.clusterkv.policy.clusterkv.SimilarityKernels} (all Vector API code),
 * {@link io.clusterkv.policy.clusterkv.ClusterIndex} (the append-only CSR index),
 * {@link io.clusterkv.policy.clusterkv.ClusteringTask} (the asynchronous maintenance) and
 * {@link io.clusterkv.policy.clusterkv.ClusterRanking} (per-head ranking of clusters).
 */
package io.clusterkv.policy.clusterkv;

/**
 * ClusterKV (Liu et al., arXiv 2412.03213) as a recall-policy plugin: keys clustered by cosine
 * k-means, clusters recalled by {@code q · centroid}. Registered as policy {@code clusterkv}; it
 * exports nothing, the runtime reaches it only through {@link io.clusterkv.spi.RecallPolicyProvider}.
 */
module io.clusterkv.policy.clusterkv {
    requires io.clusterkv.spi;
    requires jdk.incubator.vector;

    provides io.clusterkv.spi.RecallPolicyProvider with io.clusterkv.policy.clusterkv.ClusterKvPolicy.Provider;
}

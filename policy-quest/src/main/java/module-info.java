/**
 * Quest (Tang et al., ICML 2024, arXiv 2406.10774) as a ClusterKV recall-policy plugin: policy
 * {@code quest}. Exports nothing; the runtime finds it through {@link io.clusterkv.spi.RecallPolicyProvider}.
 */
module io.clusterkv.policy.quest {
    requires io.clusterkv.spi;
    requires jdk.incubator.vector;

    provides io.clusterkv.spi.RecallPolicyProvider with io.clusterkv.policy.quest.QuestPolicy.Provider;
}

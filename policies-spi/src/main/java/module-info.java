/**
 * The recall-policy plugin contract of the ClusterKV runtime.
 *
 * <p>A plugin implements {@link io.clusterkv.spi.RecallPolicyProvider} and registers it twice:
 * {@code provides io.clusterkv.spi.RecallPolicyProvider with ...} in its {@code module-info.java}
 * and a line in {@code META-INF/services/io.clusterkv.spi.RecallPolicyProvider}. This module depends
 * on the JDK only.
 */
module io.clusterkv.spi {
    exports io.clusterkv.spi;
    // what the runtime reads back from a selection; not part of the plugin contract
    exports io.clusterkv.spi.internal to io.clusterkv.runtime, io.clusterkv.runtime.engine, io.clusterkv.runtime.arena;
    // the one driver of a policy's lifecycle: the runtime's, not the plugins'
    exports io.clusterkv.spi.driver to io.clusterkv.runtime, io.clusterkv.runtime.engine, io.clusterkv.runtime.arena;

    // (the benchmarks and the conformance kit run on the class path, where every package is readable)

    uses io.clusterkv.spi.RecallPolicyProvider;
}

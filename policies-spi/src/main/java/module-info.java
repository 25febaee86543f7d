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
    exports io.clusterkv.spi.internal to
            io.clusterkv.runtime, io.clusterkv.runtime.engine, io.clusterkv.runtime.arena, io.clusterkv.runtime.bench;

    uses io.clusterkv.spi.RecallPolicyProvider;
}

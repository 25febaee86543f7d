/**
 * An example recall-policy plugin, built as its own jar: policy {@code page-mean}. Exports nothing; the
 * runtime finds it through {@link io.clusterkv.spi.RecallPolicyProvider}, on the module path through
 * the {@code provides} below and on the class path through
 * {@code META-INF/services/io.clusterkv.spi.RecallPolicyProvider}.
 */
module io.clusterkv.examples.pagemean {
    requires io.clusterkv.spi;

    provides io.clusterkv.spi.RecallPolicyProvider with io.clusterkv.examples.pagemean.PageMeanPolicy.Provider;
}

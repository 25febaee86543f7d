/**
 * The one driver of a recall policy's lifecycle ({@link io.clusterkv.spi.driver.ShardPolicyDriver}),
 * shared by the runtime's shard actors, the arena's replay, the selection benchmark and the
 * conformance kit, so that a policy is called in the same order everywhere.
 *
 * <p>Not part of the plugin contract: a policy never uses this package. {@code module-info.java}
 * exports it only to the runtime's modules; code on the class path (the conformance kit, the
 * benchmarks) reads it like any other package. A plugin's tests that run the kit on the module path
 * need {@code --add-exports io.clusterkv.spi/io.clusterkv.spi.driver=ALL-UNNAMED}.
 */
package io.clusterkv.spi.driver;

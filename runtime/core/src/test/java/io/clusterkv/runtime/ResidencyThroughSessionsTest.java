package io.clusterkv.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.model.fixtures.TestModelFiles;
import io.clusterkv.runtime.policy.FullPolicy;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.residency.ResidencyStats;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The device tier under real sessions, for each rule: bytes moved = misses × unit bytes (whole 16-row
 * pages in F32), the resident bytes within the capacity, per-layer counters that add up to the
 * session's, and the same tokens as attending the same selections straight from the host store (a
 * capacity too small for anything to stay resident).
 */
@ExtendWith(LogCapturingExtension.class)
class ResidencyThroughSessionsTest {

    @ParameterizedTest
    @ValueSource(strings = {"caffeine", "lru", "last-r"})
    void accountingHoldsUnderEachRule(String rule) throws Exception {
        try (LlamaModel model = Models.load(TestModelFiles.stories260K())) {
            int headDim = model.config().headDim();
            long unitBytes = (long) TestPolicies.RotatingPages.PAGE * 2 * headDim * 4;
            int[] prompt = RuntimeExactnessTest.randomTokens(model.config().vocab(), 150, 21);
            long capacity = 64 * 1024;
            int[] tight = run(model, rule, capacity, prompt, stats -> {
                ResidencyStats r = stats.residency();
                assertTrue(r.misses() > 0 && r.hits() > 0, rule + ": " + r);
                assertEquals(0, r.extensions(), "whole pages are never extended");
                // a bypass is a miss that could not be made resident (Caffeine's admission may refuse a unit):
                // read from the host store, nothing moved
                assertEquals((r.misses() - r.bypasses()) * unitBytes, r.bytesMoved(),
                        rule + ": bytes moved = resident misses x unit bytes; " + r);
                assertTrue(r.residentBytes() <= capacity, rule + ": resident " + r.residentBytes() + " > " + capacity);
                ResidencyStats sum = ResidencyStats.EMPTY;
                for (ResidencyStats l : stats.residencyByLayer()) {
                    sum = sum.merge(l);
                }
                assertEquals(r.hits(), sum.hits());
                assertEquals(r.misses(), sum.misses());
                assertEquals(r.bytesMoved(), sum.bytesMoved());
                assertEquals(ResidencyStats.EMPTY.requests(), stats.residencyByLayer().get(0).requests(),
                        "the dense layer has no device tier");
            });
            int[] roomy = run(model, rule, 64L << 20, prompt, stats -> {
                ResidencyStats r = stats.residency();
                assertEquals(0, r.bypasses(), "everything fits");
                assertEquals(r.misses() * unitBytes, r.bytesMoved());
                if (!rule.equals("last-r")) { // last-r evicts what was not selected in the last step, room or not
                    assertEquals(0, r.evictions(), "everything fits: " + r);
                }
            });
            assertArrayEquals(roomy, tight, "evictions change what is copied, never what is attended");
        }
    }

    private static int[] run(LlamaModel model, String rule, long capacity, int[] prompt,
                             java.util.function.Consumer<SessionStats> check) {
        PolicyRegistry policies = PolicyRegistry.of(List.of(new FullPolicy.Provider(),
                new TestPolicies.Provider("pages", TestPolicies.RotatingPages::new)));
        try (ClusterKvRuntime runtime = ClusterKvRuntime.builder()
                .config(ConfigFactory.parseMap(Map.of("clusterkv.runtime.policy", "pages",
                        "clusterkv.runtime.budget", 64, "clusterkv.runtime.dense-layers", 1,
                        "clusterkv.runtime.exact-coverage", 1, // sparse past 2 x 64 positions: every decode step
                        "clusterkv.runtime.kv-format", "f32",
                        "clusterkv.residency.policy", rule,
                        "clusterkv.residency.capacity", Long.toString(capacity),
                        "clusterkv.residency.block-bytes", 1024)))
                .policies(policies).build();
             Session s = runtime.openSession(model)) {
            int[] tokens = s.generate(prompt, 40, Sampler.greedy(), TokenListener.none()).join().tokens();
            check.accept(s.stats());
            assertTrue(runtime.residency().residentBytes() <= capacity);
            return tokens;
        }
    }
}

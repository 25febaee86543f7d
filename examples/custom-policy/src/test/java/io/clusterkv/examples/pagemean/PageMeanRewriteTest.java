package io.clusterkv.examples.pagemean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.conformance.PolicyDriver;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** page-mean on PageScoringPolicy selects what it selected before, step by step, on the kit's seeded workload. */
class PageMeanRewriteTest {

    @ParameterizedTest
    @CsvSource({"4, 32, 16", "2, 4, 7", "0, 1, 1", "9, 100, 64", "4, 32, 300"})
    void selectionsAreUnchanged(String sink, String recent, String pageSize) {
        Map<String, String> config = Map.of("sink", sink, "recent", recent, "page-size", pageSize);
        for (long seed : new long[] {1, 2, 3}) {
            for (int budget : new int[] {1, 5, 16, 37, 64, 256, 1024}) {
                var geometry = new ShardGeometry(0, 0, 4, 32);
                var before = new PolicyDriver(new PageMeanPolicyBefore.Provider(), geometry, config, seed)
                        .run(600, 80, budget, 0);
                var after = new PolicyDriver(new PageMeanPolicy.Provider(), geometry, config, seed)
                        .run(600, 80, budget, 0);
                assertEquals(before.size(), after.size());
                for (int i = 0; i < before.size(); i++) {
                    String at = "config=" + config + " seed=" + seed + " budget=" + budget + " step="
                            + before.get(i).step() + " head=" + before.get(i).head();
                    assertArrayEquals(before.get(i).positions(), after.get(i).positions(), at);
                    assertEquals(before.get(i).windowStart(), after.get(i).windowStart(), at);
                }
            }
        }
    }
}

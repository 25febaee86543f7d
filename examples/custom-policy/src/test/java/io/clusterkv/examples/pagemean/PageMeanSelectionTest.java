package io.clusterkv.examples.pagemean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.conformance.PolicyDriver;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PageMeanSelectionTest {

    @Test
    void recallsThePageWhoseMeanKeyPointsAlongTheQuery() {
        int d = 4;
        int n = 200;
        float[] keys = new float[n * d];
        for (int p = 0; p < n; p++) {
            keys[p * d + 1] = 1; // every key along channel 1 ...
        }
        for (int p = 80; p < 96; p++) {
            keys[p * d] = 5;     // ... but page 5 (positions 80..95) also along channel 0
        }
        var provider = new PageMeanPolicy.Provider();
        var config = PolicyConfig.of("page-mean", provider.configKeys(), Map.of("sink", "2", "recent", "4"));
        RecallPolicy policy = provider.create(new PolicyContext(new ShardGeometry(0, 0, 1, d), 22, config, 1));
        KeyView view = KeyView.of(keys, n, d);
        policy.onPrompt(view);
        var selected = PolicyDriver.selectOnce(policy, Queries.wrap(new float[] {1, 0, 0, 0}, 1, d), view, 22);
        int[] expected = IntStream.concat(IntStream.concat(IntStream.range(0, 2), IntStream.range(80, 96)),
                IntStream.range(196, 200)).toArray();
        assertArrayEquals(expected, selected.get(0).positions());
        assertEquals(Integer.MAX_VALUE, selected.get(0).windowStart(), "no window");
    }
}

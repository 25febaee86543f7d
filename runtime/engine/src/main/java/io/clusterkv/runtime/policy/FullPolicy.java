package io.clusterkv.runtime.policy;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.Selection;

/**
 * {@code full}: exact attention over every position, whatever the budget. The reference every other
 * policy's output is compared with; it attends through the window ({@code attendFrom(0)}), which the
 * budget does not count.
 */
public final class FullPolicy implements RecallPolicy {

    /** Registers {@code full}. */
    public static final class Provider implements RecallPolicyProvider {
        @Override
        public String name() {
            return "full";
        }

        @Override
        public String description() {
            return "Exact attention over every position (the reference; ignores the budget)";
        }

        @Override
        public RecallPolicy create(PolicyContext context) {
            return new FullPolicy();
        }
    }

    @Override
    public void select(Queries queries, KeyView keys, int budget, Selection out) {
        out.attendAll();
    }

    @Override
    public int[] alwaysAttended(int contextSize, int budget) {
        return java.util.stream.IntStream.range(0, contextSize).toArray();
    }
}

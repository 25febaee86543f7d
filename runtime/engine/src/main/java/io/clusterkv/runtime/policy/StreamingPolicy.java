package io.clusterkv.runtime.policy;

import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.HeadSelection;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.Selection;
import java.util.List;
import java.util.stream.IntStream;

/**
 * {@code streaming}: StreamingLLM (Xiao et al., "Efficient Streaming Language Models with Attention
 * Sinks", arXiv 2309.17453). Every query head attends the first {@code sink} positions (the attention
 * sinks, 4 in the paper) and the newest {@code budget - sink}; nothing else, ever. It ignores the
 * query, so a token that leaves the window is never recalled: the non-recallable baseline.
 *
 * <p>When {@code budget <= sink} it keeps {@code budget - 1} sinks and the newest position. Units are
 * pages of 16 positions ({@link HeadSelection#addPages}).
 */
public final class StreamingPolicy implements RecallPolicy {

    static final int PAGE = 16;

    /** Registers {@code streaming}. */
    public static final class Provider implements RecallPolicyProvider {
        @Override
        public String name() {
            return "streaming";
        }

        @Override
        public String description() {
            return "StreamingLLM: attention sinks + recent window, never recalls (arXiv 2309.17453)";
        }

        @Override
        public List<ConfigKey> configKeys() {
            return List.of(new ConfigKey("sink", "4", "initial positions always attended (attention sinks), >= 0"));
        }

        @Override
        public RecallPolicy create(PolicyContext context) {
            return new StreamingPolicy(context.config().getInt("sink", 0, 1 << 20));
        }
    }

    private final int sink;

    StreamingPolicy(int sink) {
        this.sink = sink;
    }

    @Override
    public void select(Queries queries, KeyView keys, int budget, Selection out) {
        int n = keys.size();
        int sinks = sinks(n, budget);
        int recentFrom = Math.max(sinks, n - (budget - sinks));
        for (int h = 0; h < out.heads(); h++) {
            HeadSelection s = out.head(h);
            s.addPages(0, PAGE, 0, sinks);
            s.addPages(0, PAGE, recentFrom, n);
        }
    }

    private int sinks(int n, int budget) {
        return Math.min(n, Math.min(sink, budget - 1));
    }

    @Override
    public int[] alwaysAttended(int contextSize, int budget) {
        int sinks = sinks(contextSize, budget);
        return IntStream.concat(IntStream.range(0, sinks),
                contextSize > sinks ? IntStream.of(contextSize - 1) : IntStream.empty()).toArray();
    }
}

package io.clusterkv.examples.pagemean;

import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.PageScoringPolicy;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import java.util.Arrays;
import java.util.List;

/**
 * {@code page-mean}, an example plugin: pages ranked by {@code q · (mean key of the page)}. Quest (arXiv
 * 2406.10774) bounds {@code q · k} by per-channel minima and maxima; a page's centroid is cheaper to keep
 * (a running sum per page, updated in {@link #onAppend}) and blind to one outstanding key. Defaults: 4
 * sinks as in StreamingLLM, a 32-position window, Quest's 16-position pages.
 */
public final class PageMeanPolicy extends PageScoringPolicy {

    /** Registers {@code page-mean}: a cheap, stateless factory. */
    public static final class Provider implements RecallPolicyProvider {
        @Override public String name() { return "page-mean"; }
        @Override public String description() {
            return "Example plugin: sinks + recent window + top pages by q · (mean key of the page)";
        }
        @Override public List<ConfigKey> configKeys() {
            return List.of(new ConfigKey("sink", "4", "initial positions always attended (<= budget / 4), >= 0"),
                    new ConfigKey("recent", "32", "newest positions always attended (<= budget / 4), >= 1"),
                    new ConfigKey("page-size", "16", "positions per page, in [1, 65536]"));
        }
        @Override public RecallPolicy create(PolicyContext context) {
            var c = context.config();
            return new PageMeanPolicy(c.getInt("page-size", 1, 65536), c.getInt("sink", 0, 1 << 20),
                    c.getInt("recent", 1, 1 << 20), context.geometry().headDim());
        }
    }

    private final int headDim;
    private float[] sums = new float[0]; // (pages, headDim) sum of the keys of each page
    private int indexed;                 // positions summed so far

    PageMeanPolicy(int pageSize, int sink, int recent, int headDim) {
        super(pageSize, sink, recent);
        this.headDim = headDim;
    }

    @Override public void onPrompt(KeyView keys) { onAppend(keys.size() - 1, keys); }

    @Override
    public void onAppend(int position, KeyView keys) {
        int need = Math.ceilDiv(keys.size(), pageSize()) * headDim;
        if (sums.length < need) {
            sums = Arrays.copyOf(sums, Math.max(need, 2 * sums.length));
        }
        for (; indexed < keys.size(); indexed++) { // add each new key to its page's sum
            for (int c = 0, base = indexed / pageSize() * headDim; c < headDim; c++) {
                sums[base + c] += keys.get(indexed, c);
            }
        }
    }

    @Override
    protected float score(Queries queries, int head, KeyView keys, int page, int from, int to) {
        return queries.dot(head, sums, page * headDim) / (to - from);
    }
}

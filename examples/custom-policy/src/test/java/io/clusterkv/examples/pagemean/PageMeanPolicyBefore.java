package io.clusterkv.examples.pagemean;

import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.HeadSelection;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.Selection;
import java.util.Arrays;
import java.util.List;

/** The page-mean policy as it was before {@link PageMeanPolicy} was rewritten on PageScoringPolicy, to compare the two. */
final class PageMeanPolicyBefore implements RecallPolicy {

    /** Registers {@code page-mean}: a cheap, stateless factory. */
    static final class Provider implements RecallPolicyProvider {
        @Override
        public String name() {
            return "page-mean";
        }

        @Override
        public String description() {
            return "Example plugin: sinks + recent window + top pages by q · (mean key of the page)";
        }

        @Override
        public List<ConfigKey> configKeys() {
            return List.of(
                    new ConfigKey("sink", "4", "initial positions always attended (at most a quarter of the budget), >= 0"),
                    new ConfigKey("recent", "32", "newest positions always attended (at most a quarter of the budget), >= 1"),
                    new ConfigKey("page-size", "16", "positions per page, in [1, 65536]"));
        }

        @Override
        public RecallPolicy create(PolicyContext context) {
            var c = context.config();
            return new PageMeanPolicyBefore(c.getInt("sink", 0, 1 << 20), c.getInt("recent", 1, 1 << 20),
                    c.getInt("page-size", 1, 65536), context.geometry().headDim());
        }
    }

    private final int sink;
    private final int recent;
    private final int pageSize;
    private final int headDim;
    private final float[] row;          // (headDim) one key being indexed
    private final float[] query;        // (headDim) the query of the head being selected for
    private float[] sums = new float[0]; // (pages, headDim) sum of the keys of each page
    private long[] ranked = new long[0]; // (pages) score << 32 | (MAX - page): sorts by score, then lower page
    private int indexed;                 // positions summed so far

    PageMeanPolicyBefore(int sink, int recent, int pageSize, int headDim) {
        this.sink = sink;
        this.recent = recent;
        this.pageSize = pageSize;
        this.headDim = headDim;
        this.row = new float[headDim];
        this.query = new float[headDim];
    }

    @Override
    public void onPrompt(KeyView keys) {
        index(keys);
    }

    @Override
    public void onAppend(int position, KeyView keys) {
        index(keys);
    }

    private void index(KeyView keys) {
        int n = keys.size();
        int pages = (n + pageSize - 1) / pageSize;
        if (sums.length < pages * headDim) {
            sums = Arrays.copyOf(sums, Math.max(pages, 2 * sums.length / headDim) * headDim);
            ranked = new long[sums.length / headDim];
        }
        for (; indexed < n; indexed++) {
            keys.copyKeys(indexed, indexed + 1, row, 0);
            int base = indexed / pageSize * headDim;
            for (int c = 0; c < headDim; c++) {
                sums[base + c] += row[c];
            }
        }
    }

    @Override
    public void select(Queries queries, KeyView keys, int budget, Selection out) {
        int n = keys.size();
        int sinks = sinks(n, budget);
        int recentFrom = Math.max(sinks, n - Math.max(1, Math.min(recent, budget / 4)));
        for (int h = 0; h < out.heads(); h++) {
            HeadSelection s = out.head(h);
            if (n <= budget) {
                s.attendFrom(0);
                continue;
            }
            s.addPages(0, pageSize, 0, sinks);
            s.addPages(0, pageSize, recentFrom, n);
            queries.copy(h, query, 0);
            int first = sinks / pageSize;
            int candidates = 0;
            for (int page = first; page * pageSize < recentFrom; page++) {
                int count = Math.min(pageSize, n - page * pageSize);
                float score = dot(page) / count;
                ranked[candidates++] = (long) sortable(score) << 32 | (0xFFFF_FFFFL - page);
            }
            Arrays.sort(ranked, 0, candidates);
            for (int i = candidates - 1; i >= 0 && s.remaining() > 0; i--) {
                int page = (int) (0xFFFF_FFFFL - (ranked[i] & 0xFFFF_FFFFL));
                int from = Math.max(page * pageSize, sinks);
                int to = Math.min(from + s.remaining(), Math.min((page + 1) * pageSize, recentFrom));
                s.addPages(0, pageSize, from, to); // the last page may be cut to what the budget leaves
            }
        }
    }

    private float dot(int page) {
        float acc = 0;
        for (int c = 0, base = page * headDim; c < headDim; c++) {
            acc += query[c] * sums[base + c];
        }
        return acc;
    }

    /** The float's bits as an int that orders like the float. */
    private static int sortable(float f) {
        int bits = Float.floatToIntBits(f);
        return bits >= 0 ? bits : bits ^ 0x7FFF_FFFF;
    }

    private int sinks(int n, int budget) {
        return Math.min(n, Math.min(sink, budget / 4));
    }

    @Override
    public int[] alwaysAttended(int contextSize, int budget) {
        int sinks = sinks(contextSize, budget);
        int[] out = new int[sinks + (contextSize > sinks ? 1 : 0)];
        for (int p = 0; p < sinks; p++) {
            out[p] = p;
        }
        if (contextSize > sinks) {
            out[sinks] = contextSize - 1;
        }
        return out;
    }
}

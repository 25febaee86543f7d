package io.clusterkv.spi;

/**
 * A recall policy that ranks fixed pages of positions by a score: a subclass writes one function,
 * {@link #score}, and this class does the rest. At each step, for each query head:
 * <ol>
 *   <li>a context that fits the budget is attended whole;</li>
 *   <li>otherwise the first {@code sink} positions (the attention sinks) and the newest
 *       {@code recent} are always attended, each capped at a quarter of the budget (the window at one
 *       position at least), so at least half of the budget is recalled;</li>
 *   <li>every page with a position between the sinks and the recent window is scored, and the pages
 *       with the highest scores fill the rest of the budget, best first (equal scores: the lower
 *       page first), each cut to the positions between sinks and window, the last one to what the
 *       budget leaves.</li>
 * </ol>
 * Page {@code p} holds positions {@code [p * pageSize, (p + 1) * pageSize)}; the newest page may be
 * partly written; a policy that scores single positions (H2O-style token scores) uses a page size of
 * 1. Pages are the residency units ({@link HeadSelection#addPages}, unit id = page), so
 * the runtime's device tier caches pages. Ranking keeps the best pages in a heap sized by the budget:
 * {@link #select} allocates nothing once the largest budget has been seen, provided {@code score}
 * allocates nothing.
 *
 * <p>A policy that ranks a page by its best key is, besides its provider:
 * {@snippet lang=java id="max-key-page-policy" :
 * final class MaxKeyPagePolicy extends PageScoringPolicy {
 *
 *     MaxKeyPagePolicy(int pageSize, int sink, int recent) {
 *         super(pageSize, sink, recent);
 *     }
 *
 *     @Override
 *     protected float score(Queries queries, int head, KeyView keys, int page, int from, int to) {
 *         float best = Float.NEGATIVE_INFINITY;
 *         for (int p = from; p < to; p++) {
 *             best = Math.max(best, queries.dot(head, keys, p));
 *         }
 *         return best;
 *     }
 * }
 * }
 * A score that reads every key costs a full pass over the keys per query head and step; a cheaper one
 * keeps a summary per page (a mean, per-channel bounds) and updates it in {@link #onPrompt} and
 * {@link #onAppend}, which this class leaves to the subclass.
 */
public abstract class PageScoringPolicy implements RecallPolicy {

    private final int pageSize;
    private final int sink;
    private final int recent;
    private long[] best = new long[0]; // (pages kept) ranks of the best pages: a min-heap, then best first

    /**
     * @param pageSize positions per page, in {@code [1, 65536]}
     * @param sink     initial positions always attended (at most a quarter of the budget), {@code >= 0}
     * @param recent   newest positions always attended (at most a quarter of the budget), {@code >= 1}
     * @throws IllegalArgumentException if an argument is out of range, naming it and its value
     */
    protected PageScoringPolicy(int pageSize, int sink, int recent) {
        if (pageSize < 1 || pageSize > 65536) {
            throw new IllegalArgumentException("page size must be in [1, 65536], was " + pageSize);
        }
        if (sink < 0) {
            throw new IllegalArgumentException("sink must be >= 0, was " + sink);
        }
        if (recent < 1) {
            throw new IllegalArgumentException("recent must be >= 1, was " + recent);
        }
        this.pageSize = pageSize;
        this.sink = sink;
        this.recent = recent;
    }

    /**
     * Scores one page for one query head: higher is more important. Called once per candidate page
     * and query head at every step whose context exceeds the budget; must be deterministic and should
     * not allocate. A NaN score ranks below every number.
     *
     * @param queries the step's queries, {@code (heads, headDim)}
     * @param head    the query head to score for
     * @param keys    the shard's keys, {@code (keys.size(), headDim)}
     * @param page    the page
     * @param from    its first position, {@code page * pageSize()}
     * @param to      after its last position: {@code (page + 1) * pageSize()}, or {@code keys.size()}
     *                for a partly written newest page
     * @return the page's score
     */
    protected abstract float score(Queries queries, int head, KeyView keys, int page, int from, int to);

    /** @return positions per page */
    protected final int pageSize() {
        return pageSize;
    }

    @Override
    public final void select(Queries queries, KeyView keys, int budget, Selection out) {
        int n = keys.size();
        int sinks = sinks(n, budget);
        int recentFrom = Math.max(sinks, n - Math.max(1, Math.min(recent, budget / 4)));
        int firstPage = sinks / pageSize;
        int endPage = Math.ceilDiv(recentFrom, pageSize); // candidates: pages [firstPage, endPage)
        for (int h = 0; h < out.heads(); h++) {
            HeadSelection s = out.head(h);
            if (n <= budget) {
                s.attendFrom(0);
                continue;
            }
            s.addPages(0, pageSize, 0, sinks);
            s.addPages(0, pageSize, recentFrom, n);
            // full pages fill the budget; the first and last candidates may be cut by sinks and window
            int keep = Math.min(endPage - firstPage, Math.ceilDiv(s.remaining(), pageSize) + 2);
            if (best.length < keep) {
                best = new long[Math.max(keep, 2 * best.length)];
            }
            int kept = 0;
            for (int page = firstPage; page < endPage; page++) {
                int from = page * pageSize;
                long rank = rank(score(queries, h, keys, page, from, Math.min(n, from + pageSize)), page);
                if (kept < keep) {
                    siftUp(kept++, rank);
                } else if (keep > 0 && rank > best[0]) {
                    siftDown(keep, rank);
                }
            }
            for (int end = kept - 1; end > 0; end--) { // heap sort: the worst to the back, so best first
                long worst = best[0];
                siftDown(end, best[end]);
                best[end] = worst;
            }
            for (int i = 0; i < kept && s.remaining() > 0; i++) {
                int page = (int) (0xFFFF_FFFFL - (best[i] & 0xFFFF_FFFFL));
                int from = Math.max(page * pageSize, sinks);
                int to = Math.min(from + s.remaining(), Math.min((page + 1) * pageSize, recentFrom));
                s.addPages(0, pageSize, from, to);
            }
        }
    }

    /** The sinks and the newest position. */
    @Override
    public final int[] alwaysAttended(int contextSize, int budget) {
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

    private int sinks(int n, int budget) {
        return Math.min(n, Math.min(sink, budget / 4));
    }

    /** Orders like the score (NaN lowest), then the lower page first. */
    private static long rank(float score, int page) {
        int bits = Float.floatToIntBits(score);
        int sortable = Float.isNaN(score) ? Integer.MIN_VALUE : bits >= 0 ? bits : bits ^ 0x7FFF_FFFF;
        return (long) sortable << 32 | (0xFFFF_FFFFL - page);
    }

    /** Adds {@code rank} at index {@code i} of the min-heap {@code best[0, i)}. */
    private void siftUp(int i, long rank) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (best[parent] <= rank) {
                break;
            }
            best[i] = best[parent];
            i = parent;
        }
        best[i] = rank;
    }

    /** Replaces the root of the min-heap {@code best[0, size)} with {@code rank}. */
    private void siftDown(int size, long rank) {
        int i = 0;
        for (int child = 1; child < size; child = 2 * i + 1) {
            if (child + 1 < size && best[child + 1] < best[child]) {
                child++;
            }
            if (rank <= best[child]) {
                break;
            }
            best[i] = best[child];
            i = child;
        }
        best[i] = rank;
    }
}

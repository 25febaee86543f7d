package io.clusterkv.policy.quest;

import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.HeadSelection;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyConfigException;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.Selection;
import java.util.List;

/**
 * {@code quest}: Quest (Tang, Zhao, Zhu, Xiao, Kasikci, Han, "Quest: Query-Aware Sparsity for
 * Efficient Long-Context LLM Inference", ICML 2024, arXiv 2406.10774).
 *
 * <ol>
 *   <li>Positions are cut into pages of {@code page-size} consecutive positions, aligned at 0.</li>
 *   <li>Each page keeps, per channel {@code i}, the minimum {@code m_i} and maximum {@code M_i} of its
 *       keys, widened as each key is appended.</li>
 *   <li>A query {@code q} scores each page {@code Σ_i max(q_i·m_i, q_i·M_i)}, an upper bound of
 *       {@code q · k} for every key {@code k} in it.</li>
 *   <li>Per query head, the page holding the newest position is always attended; the other pages
 *       are ranked by score (ties: lower page first) and the best {@code budget / page-size - 1}
 *       taken.</li>
 *   <li>A context not larger than the budget is attended whole.</li>
 * </ol>
 *
 * <p><b>Defaults.</b> {@code page-size = 16}, the page size the paper evaluates Quest with; the token
 * budget is the runtime's ({@code clusterkv.runtime.budget}). The paper leaves the first two layers
 * dense; here that is the runtime's {@code dense-layers}, not this policy's concern.
 *
 * <p><b>Budget.</b> Only whole pages are taken: {@code floor(budget / page-size)} pages in all (the
 * newest one possibly partial), so a budget that is not a multiple of the page size leaves its
 * remainder unused and a head attends at most {@code floor(budget / page-size) * page-size <= budget}
 * positions. A step budget smaller than one page (possible only when a harness varies the budget below
 * the session's, since creation rejects {@code page-size > budget}) attends the newest {@code budget}
 * positions.
 *
 * <p><b>Units.</b> Unit id = page index, through {@link HeadSelection#addPages} (firstUnitId 0): the
 * version encodes the selected range of the page, so it is constant for a full page and changes while
 * the newest page fills, and a device tier never serves a stale page.
 *
 * <p><b>Cost.</b> {@link #onAppend} widens one page's bounds ({@code O(headDim)}). {@link #select}
 * makes one vectorised pass over the bounds of all pages for all query heads ({@link PageBounds}), then
 * one pass per head keeping the best pages by a threshold and quickselect ({@link PageRanking}); it allocates
 * nothing unless the page count outgrew its scratch arrays, which then double.
 */
final class QuestPolicy implements RecallPolicy {

    /** The config key of the page size. */
    static final String PAGE_SIZE = "page-size";
    /** The largest page size: the unit-version encoding of {@link HeadSelection#addPages} allows 65536. */
    static final int MAX_PAGE_SIZE = 65536;

    /** Registers {@code quest}. */
    public static final class Provider implements RecallPolicyProvider {

        /** A provider; does no work. */
        public Provider() {
        }

        @Override
        public String name() {
            return "quest";
        }

        @Override
        public String description() {
            return "Quest: top pages by a per-channel min/max bound of q.k (arXiv 2406.10774)";
        }

        @Override
        public List<ConfigKey> configKeys() {
            return List.of(new ConfigKey(PAGE_SIZE, "16",
                    "consecutive positions per page, the unit of recall; in [1, " + MAX_PAGE_SIZE
                            + "] and at most the budget"));
        }

        /**
         * @throws PolicyConfigException if {@code page-size} is not an integer in
         *                               {@code [1, min(65536, budget)]}; the message names the full key
         *                               and the value
         */
        @Override
        public RecallPolicy create(PolicyContext context) {
            PolicyConfig config = context.config();
            int pageSize = config.getInt(PAGE_SIZE, 1, MAX_PAGE_SIZE);
            if (pageSize > context.budget()) {
                throw new PolicyConfigException(config.fullKey(PAGE_SIZE), config.getString(PAGE_SIZE),
                        "at most the budget of " + context.budget()
                                + " positions per query head, so that at least one page fits");
            }
            return new QuestPolicy(pageSize, context.geometry().headDim(), context.geometry().queryHeads(),
                    context.budget());
        }
    }

    private final int pageSize;
    private final int headDim;
    private final PageBounds bounds;

    // scratch, reused every step
    private float[] query;   // (heads, headDim) this step's queries
    private float[] qPos;    // (heads, headDim) max(query, 0)
    private float[] qNeg;    // (heads, headDim) min(query, 0)
    private float[] scores;  // (heads, scoreStride) page scores of each head
    private int scoreStride; // pages the scratch has room for
    private int[] best;      // (scoreStride) one head's chosen pages
    private long[] heap;     // (scoreStride) ranking keys, candidates while choosing
    private float[] maxima;  // (scoreStride) group maxima of one head's scores, PageRanking's scratch
    private long[] chosen;   // (scoreStride / 64 + 1) bit set of one head's chosen pages

    QuestPolicy(int pageSize, int headDim, int queryHeads, int budget) {
        this.pageSize = pageSize;
        this.headDim = headDim;
        int initialPages = Math.max(64, 4 * (budget / pageSize));
        this.bounds = new PageBounds(pageSize, headDim, initialPages);
        allocateQueries(queryHeads);
        allocateScratch(queryHeads, initialPages);
    }

    /** @return the page index, for tests */
    PageBounds bounds() {
        return bounds;
    }

    @Override
    public void onPrompt(KeyView keys) {
        bounds.extendTo(keys);
    }

    @Override
    public void onAppend(int position, KeyView keys) {
        bounds.extendTo(keys);
    }

    @Override
    public void select(Queries queries, KeyView keys, int budget, Selection out) {
        bounds.extendTo(keys); // a no-op when every append was reported
        int n = keys.size();
        int heads = out.heads();
        if (n == 0) {
            return;
        }
        if (n <= budget) {
            for (int h = 0; h < heads; h++) {
                out.head(h).addPages(0, pageSize, 0, n);
            }
            return;
        }
        int pagesTotal = budget / pageSize;
        if (pagesTotal == 0) { // a step budget below one page: the newest positions only
            for (int h = 0; h < heads; h++) {
                out.head(h).addPages(0, pageSize, n - budget, n);
            }
            return;
        }
        int newest = (n - 1) / pageSize; // the page holding the newest position; always attended
        int k = pagesTotal - 1;          // pages chosen among [0, newest); k < newest as n > budget
        if (k > 0) {
            scoreCandidates(queries, heads, newest);
        }
        for (int h = 0; h < heads; h++) {
            HeadSelection s = out.head(h);
            if (k > 0) {
                choose(h, newest, k);
                emitChosen(s, newest);
            }
            s.addPages(0, pageSize, newest * pageSize, n);
        }
    }

    /** Scores pages {@code [0, candidates)} for every head into {@link #scores}. */
    private void scoreCandidates(Queries queries, int heads, int candidates) {
        if (queries.headDim() != headDim) {
            throw new IllegalArgumentException("queries have dimension " + queries.headDim() + ", keys "
                    + headDim);
        }
        if (query.length < heads * headDim) {
            allocateQueries(heads);
        }
        if (scoreStride < candidates || scores.length < heads * scoreStride) {
            allocateScratch(heads, Math.max(candidates, 2 * scoreStride));
        }
        for (int h = 0; h < heads; h++) {
            queries.copy(h, query, h * headDim);
        }
        PageBounds.splitQuery(query, heads * headDim, qPos, qNeg);
        bounds.score(qPos, qNeg, heads, candidates, scores, scoreStride);
    }

    /** Marks in {@link #chosen} the {@code k} best of pages {@code [0, candidates)} for head {@code h}. */
    private void choose(int h, int candidates, int k) {
        PageRanking.selectBest(scores, h * scoreStride, best, heap, maxima, candidates, k);
        for (int i = 0; i < k; i++) {
            int p = best[i];
            chosen[p >>> 6] |= 1L << p;
        }
    }

    /** Adds the pages marked in {@link #chosen}, all below {@code candidates}, in ascending order; clears the marks. */
    private void emitChosen(HeadSelection s, int candidates) {
        for (int w = 0, words = (candidates + 63) >>> 6; w < words; w++) {
            long bits = chosen[w];
            while (bits != 0) {
                int p = (w << 6) + Long.numberOfTrailingZeros(bits);
                bits &= bits - 1;
                s.addPages(0, pageSize, p * pageSize, (p + 1) * pageSize);
            }
            chosen[w] = 0;
        }
    }

    private void allocateQueries(int heads) {
        query = new float[heads * headDim];
        qPos = new float[heads * headDim];
        qNeg = new float[heads * headDim];
    }

    private void allocateScratch(int heads, int pages) {
        scoreStride = pages;
        scores = new float[Math.multiplyExact(heads, pages)];
        best = new int[pages];
        heap = new long[pages];
        maxima = new float[pages];
        chosen = new long[(pages >>> 6) + 1];
    }

    @Override
    public int[] alwaysAttended(int contextSize, int budget) {
        return contextSize == 0 ? new int[0] : new int[] {contextSize - 1};
    }
}

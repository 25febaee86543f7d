package io.clusterkv.policy.quest;

import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.HeadSelection;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.LongSort;
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
 * <p><b>Adaptive budget ({@code top-p}).</b> With {@code top-p = p > 0}, each query head keeps its
 * chosen pages best first only until their estimated share of its attention mass reaches {@code p} (top-p
 * over attention, as Twilight, Lin et al., arXiv 2502.02770, and Tactic, Zhu et al., arXiv 2502.12216,
 * do); the {@code floor(budget / page-size) - 1} best pages stay the cap, the newest page is always
 * attended, and at least one other page is kept. A page's share is a softmax over pages
 * {@code [0, newest)} of its score divided by {@code sqrt(headDim)}: the page's upper bound of
 * {@code q · k} standing in for all its keys ({@code ln(page-size)} would be added to every logit
 * alike, so it cancels). The scores are the rough upper bounds the ranking computes for every page
 * anyway (at most a rounding step above the exact bound; the exact bound where the rough one is not
 * finite), so the estimate costs one {@code exp} per page and head and no further pass over the
 * bounds; pages are kept in the order of those scores. A bound exceeds its page's largest
 * {@code q · k} by a slack that varies from page to page, so the estimate is sharper than the attention
 * it stands for: it tends to keep fewer pages than {@code p} of the true mass would need.
 *
 * <p><b>Units.</b> Unit id = page index, through {@link HeadSelection#addPages} (firstUnitId 0): the
 * version encodes the selected range of the page, so it is constant for a full page and changes while
 * the newest page fills, and a device tier never serves a stale page.
 *
 * <p><b>Cost.</b> {@link #onAppend} widens one page's bounds and rounds them ({@code O(headDim)}; every
 * page again in the rare step where a channel's rough step must grow). {@link #select} streams rough
 * (16-bit fixed point per channel) copies of the bounds of all pages once for all query heads
 * ({@link PageBounds#upperBounds}, half the bytes of the exact floats), keeps per head the best pages
 * by that upper bound ({@link PageRanking}), and reads the exact bounds only of the few pages the rough
 * ones cannot place ({@link #rank}); the pages chosen are exactly those a ranking of every page's
 * exact score chooses. It allocates nothing unless the page count outgrew its scratch arrays, which
 * then double.
 */
final class QuestPolicy implements RecallPolicy {

    /** The config key of the page size. */
    static final String PAGE_SIZE = "page-size";
    /** The config key of the adaptive budget's target share of the attention mass. */
    static final String TOP_P = "top-p";
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
                            + "] and at most the budget"),
                    new ConfigKey(TOP_P, "0", "adaptive budget: per query head, keep pages best first until their"
                            + " estimated share of the attention mass reaches this, the budget staying the cap;"
                            + " 0 = off (fill the budget); in [0, 1]"));
        }

        /**
         * @throws PolicyConfigException if {@code page-size} is not an integer in
         *                               {@code [1, min(65536, budget)]} or {@code top-p} not a number in
         *                               {@code [0, 1]}; the message names the full key and the value
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
            double topP = config.getDouble(TOP_P, 0, 1);
            return new QuestPolicy(pageSize, context.geometry().headDim(), context.geometry().queryHeads(),
                    context.budget(), topP);
        }
    }

    private final int pageSize;
    private final int headDim;
    private final double topP;    // the adaptive budget's target share; 0: off
    private final double scale;   // 1 / sqrt(headDim), the attention scale of a score
    private final PageBounds bounds;

    // scratch, reused every step
    private float[] query;        // (heads, headDim) this step's queries
    private float[] parts;        // (2 * heads * headDim) max(query, 0) and min(query, 0), PageBounds.splitQuery's layout
    private double[] norms;       // (heads, 2) Euclidean norms of each head's max(query, 0) and min(query, 0), rounded up
    private float[] upper;        // (heads, scoreStride) rough upper bound of each head's page scores
    private float[] exact;        // (heads, scoreStride) exact score of each of a head's candidates
    private int scoreStride;      // pages the scratch has room for
    private int[] candidates;     // (heads, scoreStride) pages that may be among a head's best
    private int[] candidateCount; // (heads) end of each head's candidates
    private int[] certainCount;   // (heads) of which the first are certainly among the head's best
    private int[] best;           // (scoreStride) one head's best pages by upper bound
    private long[] heap;          // (scoreStride) ranking keys, candidates while choosing
    private long[] chosen;        // (scoreStride / 64 + 1) bit set of one head's chosen pages
    private int[] unbounded;      // (scoreStride) pages whose rough upper bound is not finite, for top-p
    private float[] unboundedScores; // (scoreStride) their exact scores

    QuestPolicy(int pageSize, int headDim, int queryHeads, int budget) {
        this(pageSize, headDim, queryHeads, budget, 0);
    }

    QuestPolicy(int pageSize, int headDim, int queryHeads, int budget, double topP) {
        if (!(topP >= 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in [0, 1], was " + topP);
        }
        this.pageSize = pageSize;
        this.headDim = headDim;
        this.topP = topP;
        this.scale = 1 / Math.sqrt(headDim);
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
            rank(queries, heads, newest, k);
        }
        for (int h = 0; h < heads; h++) {
            HeadSelection s = out.head(h);
            if (k > 0) {
                choose(h, k);
                if (topP > 0) {
                    keepTopShare(h, heads, newest);
                }
                emitChosen(s, newest);
            }
            s.addPages(0, pageSize, newest * pageSize, n);
        }
    }

    /**
     * Finds, for every head, its {@code k} best pages among {@code [0, pageCount)}, exactly as a
     * ranking of every page's exact score would, while computing few exact scores:
     * <ol>
     *   <li>rough upper bounds {@code U'} of every page ({@link PageBounds#upperBounds}), and per head
     *       the {@code k + 1} best by {@code U'} (ties: lower page), the {@code k} best of them the
     *       seeds;</li>
     *   <li>a seed whose {@link PageBounds#lowerBound lower bound} {@code L} exceeds the
     *       {@code (k+1)}-th {@code U'} beats every other page exactly: it is chosen (the usual case);</li>
     *   <li>the lowest {@code L} of the seeds, {@code τ}, is at most the {@code k}-th best exact score,
     *       so a page with {@code U' < τ} cannot be chosen; the other seeds and the pages with
     *       {@code U' ≥ τ} are candidates, scored exactly ({@link PageBounds#score}), and the best of
     *       them fill the remaining places.</li>
     * </ol>
     * Leaves each head's certain pages in {@code candidates[h * scoreStride, + certainCount[h])}, its
     * candidates after them up to {@code candidateCount[h]}, their exact scores at the same places of
     * {@link #exact}.
     */
    private void rank(Queries queries, int heads, int pageCount, int k) {
        if (queries.headDim() != headDim) {
            throw new IllegalArgumentException("queries have dimension " + queries.headDim() + ", keys "
                    + headDim);
        }
        if (query.length < heads * headDim) {
            allocateQueries(heads);
        }
        if (scoreStride < pageCount || upper.length < heads * scoreStride) {
            allocateScratch(heads, Math.max(pageCount, 2 * scoreStride));
        }
        for (int h = 0; h < heads; h++) {
            queries.copy(h, query, h * headDim);
        }
        PageBounds.splitQuery(query, heads, headDim, parts, norms);
        bounds.upperBounds(parts, heads, pageCount, upper, scoreStride);
        for (int h = 0; h < heads; h++) {
            rankHead(h, heads, pageCount, k);
        }
    }

    /** {@link #rank}'s steps 2 and 3 for head {@code h}, its upper bounds computed. */
    private void rankHead(int h, int heads, int pageCount, int k) {
        int base = h * scoreStride;
        PageRanking.selectBest(upper, base, best, heap, pageCount, k + 1);
        // heap[0, k] holds the k + 1 keys, in best's order: the lowest is the (k+1)-th, the others the seeds
        int last = 0;
        for (int i = 1; i <= k; i++) {
            if (heap[i] < heap[last]) {
                last = i;
            }
        }
        double next = PageRanking.score(heap[last]); // every page but the seeds has U' <= next
        heap[last] = heap[k];
        best[last] = best[k];
        long seeds = Long.MAX_VALUE; // the lowest U' key of the seeds
        for (int i = 0; i < k; i++) {
            seeds = Math.min(seeds, heap[i]);
        }
        double posNorm = norms[2 * h];
        double negNorm = norms[2 * h + 1];
        double margin = bounds.marginOfAny(posNorm, negNorm);
        // a seed with U' >= sure is placed by lowerBoundOfAny (below(U', margin) > next): one compare
        float sure = PageBounds.surelyAbove(next, margin);
        float lowestSure = Float.POSITIVE_INFINITY;
        double reach = Double.POSITIVE_INFINITY; // τ
        int certain = 0;
        int uncertain = 0;
        for (int i = 0; i < k; i++) {
            int p = best[i];
            float up = upper[base + p];
            if (up >= sure && up < Float.POSITIVE_INFINITY) {
                candidates[base + certain++] = p;
                lowestSure = Math.min(lowestSure, up);
                continue;
            }
            double low = PageBounds.below(up, margin); // lowerBoundOfAny: enough far above the cut
            if (!(low > next)) {
                low = bounds.lowerBound(p, up, posNorm, negNorm);
            }
            reach = Math.min(reach, low);
            if (low > next) {
                candidates[base + certain++] = p;
            } else {
                best[uncertain++] = p; // i >= uncertain: not yet read
            }
        }
        if (lowestSure < Float.POSITIVE_INFINITY) { // below() rises with U': the lowest of the sure seeds' bounds
            reach = Math.min(reach, PageBounds.below(lowestSure, margin));
        }
        certainCount[h] = certain;
        System.arraycopy(best, 0, candidates, base + certain, uncertain);
        candidateCount[h] = certain + uncertain;
        if (certain < k) {
            addReaching(h, pageCount, reach, seeds);
        }
        bounds.score(parts, heads, h, candidates, base + certain, base + candidateCount[h], exact);
    }

    /**
     * Adds to head {@code h}'s candidates every page of {@code [0, pageCount)} that is not a seed
     * (upper-bound key below {@code seeds}) and whose upper bound reaches {@code reach}.
     */
    private void addReaching(int h, int pageCount, double reach, long seeds) {
        int base = h * scoreStride;
        // a float t with (up >= t) == (up >= reach) for every float up: reach rounded up
        float t = (float) reach;
        if (t < reach) {
            t = Math.nextUp(t);
        }
        int found = PageRanking.collectAtLeast(upper, base, pageCount, t, seeds, heap, 0);
        int added = candidateCount[h];
        for (int i = 0; i < found; i++) {
            candidates[base + added++] = PageRanking.page(heap[i]);
        }
        candidateCount[h] = added;
    }

    /**
     * Marks in {@link #chosen} head {@code h}'s {@code k} best pages: its certain pages, and the best of
     * its other candidates by exact score.
     */
    private void choose(int h, int k) {
        int base = h * scoreStride;
        int certain = certainCount[h];
        for (int i = 0; i < certain; i++) {
            int p = candidates[base + i];
            chosen[p >>> 6] |= 1L << p;
        }
        int n = candidateCount[h] - certain;
        for (int i = 0; i < n; i++) {
            int p = candidates[base + certain + i];
            heap[i] = PageRanking.key(exact[base + certain + i], p);
        }
        PageRanking.selectTopKeys(heap, n, k - certain);
        for (int i = 0; i < k - certain; i++) {
            int p = PageRanking.page(heap[i]);
            chosen[p >>> 6] |= 1L << p;
        }
    }

    /**
     * The adaptive budget: of head {@code h}'s pages marked in {@link #chosen} (all below
     * {@code pageCount}), keeps the best by estimated share of the attention mass until the shares kept
     * reach {@link #topP}, at least one, and unmarks the rest. The estimate is a softmax over pages
     * {@code [0, pageCount)} of {@code score · scale}, a page's score its rough upper bound, or its exact
     * bound where that is not finite (written over the rough one in {@link #upper}, no longer needed).
     * Where the scores are not all finite every chosen page is kept.
     */
    private void keepTopShare(int h, int heads, int pageCount) {
        int base = h * scoreStride;
        int unboundedCount = 0;
        for (int p = 0; p < pageCount; p++) {
            if (!Float.isFinite(upper[base + p])) {
                unbounded[unboundedCount++] = p;
            }
        }
        if (unboundedCount > 0) { // wild pages, or a query the rough copy could not scale: exact bounds
            bounds.score(parts, heads, h, unbounded, 0, unboundedCount, unboundedScores);
            for (int i = 0; i < unboundedCount; i++) {
                upper[base + unbounded[i]] = unboundedScores[i];
            }
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int p = 0; p < pageCount; p++) {
            max = Math.max(max, upper[base + p]);
        }
        if (!Double.isFinite(max)) {
            return; // a score of +inf (or every page -inf): no usable estimate, keep the budget's pages
        }
        double total = 0;
        for (int p = 0; p < pageCount; p++) {
            total += Math.exp((upper[base + p] - max) * scale);
        }
        int m = 0;
        for (int w = 0, words = (pageCount + 63) >>> 6; w < words; w++) {
            for (long bits = chosen[w]; bits != 0; bits &= bits - 1) {
                int p = (w << 6) + Long.numberOfTrailingZeros(bits);
                heap[m++] = PageRanking.key(upper[base + p], p);
            }
        }
        LongSort.sort(heap, m);
        double covered = 0;
        for (int i = m - 1; i >= 0; i--) { // best first
            int p = PageRanking.page(heap[i]);
            if (covered >= topP) {
                chosen[p >>> 6] &= ~(1L << p);
            } else {
                covered += Math.exp((upper[base + p] - max) * scale) / total;
            }
        }
    }

    /** Adds the pages marked in {@link #chosen}, all below {@code candidates}, in ascending order; clears the marks. */
    private void emitChosen(HeadSelection s, int candidates) {
        int wholePage = pageSize - 1; // addPages' version of a page taken from its start to its end
        for (int w = 0, words = (candidates + 63) >>> 6; w < words; w++) {
            long bits = chosen[w];
            while (bits != 0) {
                int p = (w << 6) + Long.numberOfTrailingZeros(bits);
                bits &= bits - 1;
                s.addRange(p, wholePage, p * pageSize, (p + 1) * pageSize); // = addPages(0, pageSize, ..) of one page
            }
            chosen[w] = 0;
        }
    }

    private void allocateQueries(int heads) {
        query = new float[heads * headDim];
        parts = new float[2 * heads * headDim];
        norms = new double[2 * heads];
    }

    private void allocateScratch(int heads, int pages) {
        scoreStride = PageBounds.padded(pages);
        upper = new float[Math.multiplyExact(heads, scoreStride)];
        exact = new float[upper.length];
        candidates = new int[upper.length];
        candidateCount = new int[heads];
        certainCount = new int[heads];
        best = new int[scoreStride];
        heap = new long[scoreStride];
        chosen = new long[(scoreStride >>> 6) + 1];
        unbounded = new int[scoreStride];
        unboundedScores = new float[scoreStride];
    }

    @Override
    public int[] alwaysAttended(int contextSize, int budget) {
        return contextSize == 0 ? new int[0] : new int[] {contextSize - 1};
    }
}

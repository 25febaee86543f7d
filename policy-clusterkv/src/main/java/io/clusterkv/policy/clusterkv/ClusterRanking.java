package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.LongSort;
import java.util.Arrays;

/**
 * Finds, for each query head, the clusters a budget takes: the shortest prefix of the clusters ranked
 * by {@code score_c = q · centroid_c} (higher first, the lower cluster index on a tie) whose sizes add
 * up to at least {@code wanted} positions, handed out best first.
 *
 * <p>Scores are computed for every cluster and every query head of the shard in one pass over the
 * centroids ({@link SimilarityKernels#scorePanels}). Then, per head, without sorting all clusters and
 * almost without data-dependent branches: the score range is cut into {@link #BINS} equal bins, the
 * sizes of the clusters in each bin are summed, and the bins are walked from the top until they hold
 * {@code wanted} positions. Binning is monotone in the score, so every cluster in a lower bin ranks
 * below every cluster at or above that cut; only those candidates (about {@code k} plus one bin's
 * worth) are sorted. Cost: {@code O(C)} plus {@code O(m log m)} for {@code m} candidates.
 *
 * <p>Candidates pack the score and the index into one {@code long}: the float's bits mapped to an
 * order-preserving signed int in the high half, {@code ~index} in the low half, so one {@code long}
 * comparison orders by score, then by lower index. Candidates are sorted in place; scratch grows only
 * when the cluster or head count does.
 *
 * <p>For the adaptive budget ({@code top-p}), {@link #estimateMass} and {@link #share} estimate each
 * cluster's share of a head's attention mass: a softmax over the clusters of
 * {@code score_c · scale + ln(size_c)}, i.e. {@code size_c · exp(q · centroid_c · scale)} normalised.
 * It stands every member's {@code q · k} in for the centroid's, so it ignores the spread inside a cluster
 * (by Jensen's inequality, {@code exp} of the mean is at most the mean of {@code exp}: a tight cluster is
 * estimated well, a loose one under-estimated). Positions outside the clusters (sinks, window) are not in
 * it: they are attended anyway.
 */
final class ClusterRanking {

    /** Bins of the score histogram. */
    static final int BINS = 64;

    private float[] scores = new float[0]; // (heads, stride) q_h · centroid_c
    private int stride;                    // clusters rounded up to LANES
    private final long[] binSizes = new long[BINS]; // positions of the clusters in each bin
    private long[] order = new long[0];    // (clusters) candidates, packed, sorted ascending
    private int cursor;                    // next candidate to hand out, counting down
    private double massScale;              // of the last estimateMass: the logit's scale of a score
    private double massMax;                // the largest logit
    private double massTotal;              // sum of exp(logit - massMax)
    private boolean massUsable;            // every logit finite: else every share is 0

    /**
     * Scores every cluster against the query of every head, in one pass over the centroids.
     *
     * @param queries  {@code (heads, d)}
     * @param heads    query heads
     * @param index    the clusters
     * @param clusters how many of them to score, from the first
     * @param d        channels
     */
    void score(float[] queries, int heads, ClusterIndex index, int clusters, int d) {
        stride = SimilarityKernels.blocks(clusters) * SimilarityKernels.LANES;
        if (scores.length < heads * stride) {
            scores = new float[Math.max(heads * stride, 2 * scores.length)];
        }
        if (order.length < clusters) {
            order = new long[Math.max(clusters, 2 * order.length)];
        }
        SimilarityKernels.scorePanels(queries, heads, index.panels(), clusters, d, scores, stride);
    }

    /**
     * Readies {@link #next()} with the clusters that fill {@code wanted} positions for one head, by
     * the scores of the last {@link #score}.
     *
     * @param head     the query head
     * @param index    the clusters
     * @param clusters how many of them to rank, as scored
     * @param wanted   positions to fill, {@code >= 1}
     */
    void rank(int head, ClusterIndex index, int clusters, int wanted) {
        int row = head * stride;
        // a scalar pass (O(C), beside scoring's O(C d)): Vector API code behind a branch that was cold
        // when C2 compiled this method stays boxed, and allocated on every call
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        int c;
        for (c = 0; c < clusters; c++) {
            lo = Math.min(lo, scores[row + c]);
            hi = Math.max(hi, scores[row + c]);
        }
        float scale = hi > lo && Float.isFinite(BINS / (hi - lo)) ? BINS / (hi - lo) : 0f;
        Arrays.fill(binSizes, 0);
        int[] starts = index.startArray();
        for (c = 0; c < clusters; c++) {
            binSizes[bin(scores[row + c], lo, scale)] += starts[c + 1] - starts[c];
        }
        int cut = BINS - 1;
        for (long held = binSizes[cut]; held < wanted && cut > 0; held += binSizes[cut]) {
            cut--;
        }
        int m = 0;
        for (c = 0; c < clusters; c++) {
            float s = scores[row + c];
            if (bin(s, lo, scale) >= cut) {
                order[m++] = pack(s, c);
            }
        }
        LongSort.sort(order, m);
        cursor = m - 1;
    }


    private static int bin(float score, float lo, float scale) {
        return Math.min(BINS - 1, (int) ((score - lo) * scale)); // NaN and below lo go to bin 0
    }

    /**
     * Readies {@link #share} for one head: the normaliser of the mass estimate over the first
     * {@code clusters} clusters, by the scores of the last {@link #score}. One {@code exp} per cluster.
     * Where the logits are not all finite (a NaN or infinite score), every share is 0, so the budget
     * is filled as without the estimate.
     *
     * @param head     the query head
     * @param index    the clusters
     * @param clusters how many of them, as scored
     * @param scale    what a score is multiplied by in attention, {@code 1 / sqrt(d)}
     */
    void estimateMass(int head, ClusterIndex index, int clusters, double scale) {
        int row = head * stride;
        float[] logSizes = index.logSizes();
        double max = Double.NEGATIVE_INFINITY;
        boolean finite = true;
        for (int c = 0; c < clusters; c++) {
            double logit = scores[row + c] * scale + logSizes[c];
            finite &= Double.isFinite(logit);
            max = Math.max(max, logit);
        }
        double total = 0;
        if (finite) {
            for (int c = 0; c < clusters; c++) {
                total += Math.exp(scores[row + c] * scale + logSizes[c] - max);
            }
        }
        massScale = scale;
        massMax = max;
        massTotal = total;
        massUsable = finite && total > 0 && total < Double.POSITIVE_INFINITY;
    }

    /**
     * @param head  the head of the last {@link #estimateMass}
     * @param index the clusters
     * @param c     a cluster
     * @return its estimated share of that head's attention mass over the clusters, in {@code [0, 1]}
     */
    double share(int head, ClusterIndex index, int c) {
        if (!massUsable) {
            return 0;
        }
        return Math.exp(scores[head * stride + c] * massScale + index.logSizes()[c] - massMax) / massTotal;
    }

    /** @return whether clusters remain */
    boolean hasNext() {
        return cursor >= 0;
    }

    /** @return the best cluster not yet handed out */
    int next() {
        return unpack(order[cursor--]);
    }

    /**
     * @param head a query head scored by the last {@link #score}
     * @param c    a cluster
     * @return its score for that head
     */
    float score(int head, int c) {
        return scores[head * stride + c];
    }

    static long pack(float score, int index) {
        int bits = Float.floatToRawIntBits(score);
        int ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF); // signed order of ints = order of floats
        return ((long) ordered << 32) | (~index & 0xFFFFFFFFL);
    }

    static int unpack(long key) {
        return ~(int) key;
    }
}

package io.clusterkv.policy.clusterkv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The adaptive budget ({@code top-p}) against a naive reference computed here: clusters of hand-made
 * centroids and sizes, ranked by {@code q · centroid} (ties: lower index), each one's share of the
 * attention mass a softmax of {@code q · centroid / sqrt(d) + ln(size)}, taken in rank order until the
 * shares reach {@code p} or the budget is full.
 */
class TopPSelectionTest {

    private static final int D = 4;
    private static final int SINK = 2;

    /** Hand-made clusters: sizes {@code (C)}, centroids {@code (C, D)}; the prompt is exactly their members. */
    private record Clusters(int[] sizes, float[] centroids) {
        int count() {
            return sizes.length;
        }

        int positions() {
            return SINK + IntStream.of(sizes).sum();
        }

        /** Cluster c's members: the next {@code sizes[c]} positions after the sinks, in cluster order. */
        int first(int c) {
            return SINK + IntStream.of(sizes).limit(c).sum();
        }
    }

    /** A policy whose index is exactly {@code clusters}, merged by hand, with no window. */
    private static ClusterKvPolicy policy(Clusters clusters, double topP, int budget, int heads) {
        ClusterKvPolicy policy = StepDriver.create(Map.of("sink", String.valueOf(SINK), "top-p", String.valueOf(topP)),
                budget, heads, D, 1);
        int n = clusters.positions();
        policy.onPrompt(KeyView.of(new float[n * D], n, D));
        int[] starts = new int[clusters.count() + 1];
        for (int c = 0; c < clusters.count(); c++) {
            starts[c + 1] = starts[c] + clusters.sizes[c];
        }
        int[] members = IntStream.range(SINK, n).toArray();
        policy.merge(new ClusterBatch(0, SINK, n, clusters.count(), clusters.centroids.clone(), starts, members));
        assertEquals(n, policy.indexedEnd());
        return policy;
    }

    private static int[] select(ClusterKvPolicy policy, Clusters clusters, float[] q, int heads, int budget, int head) {
        int n = clusters.positions();
        SelectionBuffer out = new SelectionBuffer(heads, budget);
        out.reset(budget, n);
        policy.select(Queries.wrap(q, heads, D), KeyView.of(new float[n * D], n, D), budget, out);
        return out.head(head).sortedPositions();
    }

    /** The naive reference: the positions head {@code h} attends. */
    private static int[] reference(Clusters clusters, float[] q, int h, int budget, double p) {
        int count = clusters.count();
        double[] score = new double[count];
        for (int c = 0; c < count; c++) {
            float s = 0;
            for (int k = 0; k < D; k++) {
                s += q[h * D + k] * clusters.centroids[c * D + k];
            }
            score[c] = s;
        }
        double scale = 1 / Math.sqrt(D);
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < count; c++) {
            max = Math.max(max, score[c] * scale + (float) Math.log(clusters.sizes[c]));
        }
        double total = 0;
        for (int c = 0; c < count; c++) {
            total += Math.exp(score[c] * scale + (float) Math.log(clusters.sizes[c]) - max);
        }
        Integer[] ranked = IntStream.range(0, count).boxed().toArray(Integer[]::new);
        Arrays.sort(ranked, Comparator.<Integer>comparingDouble(c -> -score[c]).thenComparingInt(c -> c));
        List<Integer> out = new ArrayList<>();
        for (int s = 0; s < Math.min(SINK, budget); s++) {
            out.add(s);
        }
        int remaining = budget - Math.min(SINK, budget);
        double covered = 0;
        for (int i = 0; i < count && remaining > 0 && (p == 0 || covered < p); i++) {
            int c = ranked[i];
            int take = Math.min(clusters.sizes[c], remaining);
            for (int j = 0; j < take; j++) {
                out.add(clusters.first(c) + j);
            }
            remaining -= take;
            covered += Math.exp(score[c] * scale + (float) Math.log(clusters.sizes[c]) - max) / total;
        }
        return out.stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    private static Clusters uniform(int count, int size, float[] centroids) {
        int[] sizes = new int[count];
        Arrays.fill(sizes, size);
        return new Clusters(sizes, centroids);
    }

    @Test
    void oneDominantClusterIsTakenAlone() {
        float[] centroids = new float[6 * D];
        centroids[3 * D] = 40; // q · centroid = 40 for cluster 3, 0 for the others: its share is ~1 - 5e-9
        Clusters clusters = uniform(6, 10, centroids);
        float[] q = {1, 0, 0, 0};
        int budget = 40;
        int[] expected = IntStream.concat(IntStream.range(0, SINK), IntStream.range(clusters.first(3), clusters.first(3) + 10))
                .toArray();
        assertArrayEquals(expected, select(policy(clusters, 0.9, budget, 1), clusters, q, 1, budget, 0));
        assertArrayEquals(expected, reference(clusters, q, 0, budget, 0.9));
        int[] fixed = select(policy(clusters, 0, budget, 1), clusters, q, 1, budget, 0);
        assertEquals(budget, fixed.length, "top-p off fills the budget");
        assertArrayEquals(reference(clusters, q, 0, budget, 0), fixed);
    }

    @Test
    void flatScoresFillTheBudgetAsWithoutTopP() {
        Clusters clusters = uniform(6, 10, new float[6 * D]); // every share 1/6
        float[] q = {1, 2, 3, 4};
        int budget = 32;
        int[] fixed = select(policy(clusters, 0, budget, 1), clusters, q, 1, budget, 0);
        int[] adaptive = select(policy(clusters, 0.95, budget, 1), clusters, q, 1, budget, 0);
        assertArrayEquals(fixed, adaptive, "0.95 of the mass needs 6 clusters: the budget caps it first");
        assertEquals(budget, adaptive.length);
        assertArrayEquals(reference(clusters, q, 0, budget, 0.95), adaptive);
        // 0.5 of the mass: 3 clusters of 10, below the budget's 30
        int[] half = select(policy(clusters, 0.5, budget, 1), clusters, q, 1, budget, 0);
        assertEquals(SINK + 30, half.length);
        assertArrayEquals(reference(clusters, q, 0, budget, 0.5), half);
    }

    @Test
    void aQueryWithoutAUsableEstimateFillsTheBudget() {
        Clusters clusters = uniform(6, 10, new float[6 * D]);
        int budget = 32;
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            float[] q = {bad, 1, 1, 1};
            assertArrayEquals(select(policy(clusters, 0, budget, 1), clusters, q, 1, budget, 0),
                    select(policy(clusters, 0.5, budget, 1), clusters, q, 1, budget, 0), "q[0] = " + bad);
        }
    }

    @Test
    void sizeWeighsTheEstimate() {
        // logits q · centroid / sqrt(4): cluster 0 (4 keys) 2, cluster 1 (40 keys) 0, cluster 2 (40 keys) -4.
        // By score alone cluster 0 would hold e^2 / (e^2 + 1 + e^-4) = 0.88 of the mass; weighted by size it
        // holds 4e^2 / (4e^2 + 40 + 40e^-4) = 0.42, so 0.5 takes clusters 0 and 1, and 0.2 cluster 0 alone
        float[] centroids = {4, 0, 0, 0, 0, 0, 0, 0, -8, 0, 0, 0};
        Clusters clusters = new Clusters(new int[] {4, 40, 40}, centroids);
        float[] q = {1, 0, 0, 0};
        int budget = 64;
        int[] taken = select(policy(clusters, 0.5, budget, 1), clusters, q, 1, budget, 0);
        assertEquals(SINK + 4 + 40, taken.length);
        assertArrayEquals(reference(clusters, q, 0, budget, 0.5), taken);
        int[] small = select(policy(clusters, 0.2, budget, 1), clusters, q, 1, budget, 0);
        assertEquals(SINK + 4, small.length, "0.2 is reached by the best cluster alone");
        assertArrayEquals(reference(clusters, q, 0, budget, 0.2), small);
    }

    @Property(tries = 300)
    void matchesTheNaiveReference(@ForAll @IntRange(min = 1, max = 40) int count,
            @ForAll @IntRange(min = 1, max = 3) int heads, @ForAll @IntRange(min = 3, max = 120) int budget,
            @ForAll @IntRange(min = 1, max = 100) int percent, @ForAll long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] sizes = new int[count];
        float[] centroids = new float[count * D];
        for (int c = 0; c < count; c++) {
            sizes[c] = 1 + rnd.nextInt(rnd.nextBoolean() ? 4 : 20);
        }
        for (int i = 0; i < centroids.length; i++) {
            centroids[i] = rnd.nextInt(-3, 4); // small integers: every score exact in float, ties frequent
        }
        float[] q = new float[heads * D];
        for (int i = 0; i < q.length; i++) {
            q[i] = rnd.nextInt(-3, 4);
        }
        Clusters clusters = new Clusters(sizes, centroids);
        if (clusters.positions() <= budget) {
            return;
        }
        double p = percent / 100.0;
        ClusterKvPolicy policy = policy(clusters, p, budget, heads);
        for (int h = 0; h < heads; h++) {
            int[] got = select(policy, clusters, q, heads, budget, h);
            assertArrayEquals(reference(clusters, q, h, budget, p), got, "head " + h + ", p " + p);
            assertTrue(got.length <= budget && got.length > Math.min(SINK, budget), "sinks and at least one cluster");
        }
    }
}

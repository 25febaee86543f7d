package io.clusterkv.policy.clusterkv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * The ranking hands out exactly the shortest prefix of the full ranking (score descending, lower index
 * on ties) that fills the wanted positions, checked against a plain sort, with ties, equal scores,
 * lopsided sizes and several heads scored in one pass, as jqwik properties.
 */
class RankingTest {

    private static final int D = 8;

    private static ClusterIndex index(int clusters, int[] sizes, float[] centroids) {
        int[] starts = new int[clusters + 1];
        for (int c = 0; c < clusters; c++) {
            starts[c + 1] = starts[c] + sizes[c];
        }
        int[] members = new int[starts[clusters]];
        for (int i = 0; i < members.length; i++) {
            members[i] = i;
        }
        ClusterIndex index = new ClusterIndex(D);
        index.append(new ClusterBatch(0, 0, members.length, clusters, centroids, starts, members));
        return index;
    }

    /** Cluster sizes {@code (clusters)} and centroids {@code (clusters, D)}. */
    record Clusters(int[] sizes, float[] centroids) {
        @Override
        public String toString() {
            return sizes.length + " clusters, sizes " + Arrays.toString(sizes) + ", centroids " + Arrays.toString(centroids);
        }
    }

    /**
     * 1 to 300 clusters, a quarter of them large; centroids either Gaussian-like or (ties) a few
     * distinct vectors, so many equal scores. A failure shrinks to the fewest, smallest clusters.
     */
    @Provide
    Arbitrary<Clusters> clusters() {
        Arbitrary<Integer> count = Arbitraries.integers().between(1, 300).withDistribution(RandomDistribution.biased());
        Arbitrary<Integer> size = Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.integers().between(1, 40)),
                Tuple.of(1, Arbitraries.integers().between(1, 300)));
        Arbitrary<Float> coordinate = Arbitraries.integers().between(-3_000_000, 3_000_000).map(i -> i * 1e-6f);
        Arbitrary<int[]> sizes = count.flatMap(n -> size.list().ofSize(n))
                .map(l -> l.stream().mapToInt(Integer::intValue).toArray());
        Arbitrary<Clusters> distinct = sizes.flatMap(z -> coordinate.list().ofSize(z.length * D).map(l -> {
            float[] centroids = new float[l.size()];
            for (int i = 0; i < centroids.length; i++) {
                centroids[i] = l.get(i);
            }
            return new Clusters(z, centroids);
        }));
        Arbitrary<Clusters> tied = sizes.map(z -> {
            float[] centroids = new float[z.length * D];
            for (int c = 0; c < z.length; c++) {
                for (int k = 0; k < D; k++) {
                    centroids[c * D + k] = (c % 3) - 1 + k % 2;
                }
            }
            return new Clusters(z, centroids);
        });
        return Arbitraries.oneOf(distinct, tied);
    }

    @Property(tries = 100)
    void matchesAPlainSortOfAllClusters(@ForAll("clusters") Clusters c, @ForAll @IntRange(min = 1, max = 6) int heads,
            @ForAll long querySeed, @ForAll @Size(6) List<@IntRange(max = 100_000) Integer> wishes) {
        int clusters = c.sizes().length;
        int[] sizes = c.sizes();
        float[] centroids = c.centroids();
        ClusterIndex index = index(clusters, sizes, centroids);
        float[] q = TestKeys.gaussian(heads, D, querySeed);
        ClusterRanking ranking = new ClusterRanking();
        ranking.score(q, heads, index, clusters, D);
        int total = index.positions();
        for (int h = 0; h < heads; h++) {
            int wanted = 1 + wishes.get(h) % (total + 50);
            final int head = h;
            List<Integer> all = new ArrayList<>();
            for (int k = 0; k < clusters; k++) {
                all.add(k);
                assertEquals(SimilarityKernels.dot(q, h * D, centroids, k * D, D), ranking.score(h, k), 1e-4);
            }
            all.sort(Comparator.<Integer>comparingDouble(k -> -ranking.score(head, k)).thenComparing(k -> k));
            ranking.rank(h, index, clusters, wanted);
            int held = 0;
            for (int i = 0; held < wanted && i < clusters; i++) {
                assertTrue(ranking.hasNext(), "head " + h + " wanted " + wanted + ": ran out at " + i);
                assertEquals(all.get(i), ranking.next(), "head " + h + " wanted " + wanted + " rank " + i);
                held += sizes[all.get(i)];
            }
        }
    }

    /** The first {@code a.size() - 3} values are sorted; the 3 after them must stay as they were. */
    @Property(tries = 200)
    void sortsInPlace(@ForAll @Size(min = 3, max = 1003) List<@IntRange(min = -25, max = 24) Integer> values) {
        long[] a = values.stream().mapToLong(Integer::longValue).toArray();
        int m = a.length - 3;
        long[] expected = a.clone();
        java.util.Arrays.sort(expected, 0, m);
        io.clusterkv.spi.LongSort.sort(a, m);
        assertEquals(java.util.Arrays.toString(expected), java.util.Arrays.toString(a), "m=" + m);
    }

    @Test
    void packOrdersByScoreThenLowerIndex() {
        assertTrue(ClusterRanking.pack(1f, 5) > ClusterRanking.pack(0.5f, 0));
        assertTrue(ClusterRanking.pack(-1f, 5) > ClusterRanking.pack(-2f, 0));
        assertTrue(ClusterRanking.pack(3f, 1) > ClusterRanking.pack(3f, 2));
        assertTrue(ClusterRanking.pack(0f, 0) > ClusterRanking.pack(-0f, 0));
        assertEquals(123456, ClusterRanking.unpack(ClusterRanking.pack(-7.5f, 123456)));
        assertFalse(ClusterRanking.pack(Float.NEGATIVE_INFINITY, 0) > ClusterRanking.pack(-3e38f, 0));
    }
}

package io.clusterkv.policy.clusterkv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The ranking hands out exactly the shortest prefix of the full ranking (score descending, lower index
 * on ties) that fills the wanted positions, checked against a plain sort, with ties, equal scores,
 * lopsided sizes and several heads scored in one pass.
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

    @Test
    void matchesAPlainSortOfAllClusters() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int trial = 0; trial < 300; trial++) {
            int clusters = 1 + rnd.nextInt(trial < 100 ? 20 : 300);
            int heads = 1 + rnd.nextInt(6);
            int[] sizes = new int[clusters];
            float[] centroids = new float[clusters * D];
            boolean ties = rnd.nextBoolean();
            for (int c = 0; c < clusters; c++) {
                sizes[c] = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(300) : 1 + rnd.nextInt(40);
                for (int k = 0; k < D; k++) {
                    // with ties: few distinct centroids, so many equal scores
                    centroids[c * D + k] = ties ? (c % 3) - 1 + k % 2 : (float) TestKeys.gaussian(rnd);
                }
            }
            ClusterIndex index = index(clusters, sizes, centroids);
            float[] q = TestKeys.gaussian(heads, D, trial);
            ClusterRanking ranking = new ClusterRanking();
            ranking.score(q, heads, index, clusters, D);
            int total = index.positions();
            for (int h = 0; h < heads; h++) {
                int wanted = 1 + rnd.nextInt(total + 50);
                final int head = h;
                List<Integer> all = new ArrayList<>();
                for (int c = 0; c < clusters; c++) {
                    all.add(c);
                    assertEquals(SimilarityKernels.dot(q, h * D, centroids, c * D, D), ranking.score(h, c), 1e-4);
                }
                all.sort(Comparator.<Integer>comparingDouble(c -> -ranking.score(head, c)).thenComparing(c -> c));
                ranking.rank(h, index, clusters, wanted);
                int held = 0;
                for (int i = 0; held < wanted && i < clusters; i++) {
                    assertTrue(ranking.hasNext(), "trial " + trial + " head " + h + ": ran out at " + i);
                    assertEquals(all.get(i), ranking.next(), "trial " + trial + " head " + h + " rank " + i);
                    held += sizes[all.get(i)];
                }
            }
        }
    }

    @Test
    void sortsInPlace() {
        SplittableRandom rnd = new SplittableRandom(2);
        for (int m : new int[] {0, 1, 2, 24, 25, 100, 1000}) {
            long[] a = new long[m + 3];
            for (int i = 0; i < a.length; i++) {
                a[i] = rnd.nextInt(50) - 25L;
            }
            long[] expected = a.clone();
            java.util.Arrays.sort(expected, 0, m);
            ClusterRanking.sort(a, m);
            assertEquals(java.util.Arrays.toString(expected), java.util.Arrays.toString(a), "m=" + m);
        }
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

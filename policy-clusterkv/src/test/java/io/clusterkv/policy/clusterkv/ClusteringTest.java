package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.conformance.GrowingKeyView;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Cosine k-means recovers planted directions, keeps its definitions, and the policy indexes what it finds. */
class ClusteringTest {

    private static final int D = 32;
    private static final int DIRECTIONS = 6;

    /** Fraction of keys whose cluster's most common planted direction is their own. */
    static double purity(int[] labels, int k, int[] truth, int directions) {
        int[][] counts = new int[k][directions];
        for (int i = 0; i < labels.length; i++) {
            counts[labels[i]][truth[i]]++;
        }
        int agree = 0;
        for (int[] row : counts) {
            agree += Arrays.stream(row).max().orElse(0);
        }
        return (double) agree / labels.length;
    }

    enum Build {
        PAPER(KMeans.Settings.PAPER),
        PLUS_PLUS(new KMeans.Settings(5, KMeans.Init.K_MEANS_PLUS_PLUS, true, KMeans.Algorithm.LLOYD, 1024, 200)),
        MINI_BATCH(new KMeans.Settings(20, KMeans.Init.RANDOM, false, KMeans.Algorithm.MINI_BATCH, 64, 0));

        final KMeans.Settings settings;

        Build(KMeans.Settings settings) {
            this.settings = settings;
        }
    }

    @ParameterizedTest
    @EnumSource(Build.class)
    void recoversPlantedDirections(Build build) {
        for (long seed = 1; seed <= 3; seed++) {
            int n = 600;
            int[] truth = new int[n];
            float[] keys = TestKeys.planted(n, D, DIRECTIONS, 0.3, seed, truth);
            int k = 3 * DIRECTIONS;
            KMeans.Result r = new KMeans(keys, n, D, k, build.settings, seed * 31).run();
            double purity = purity(r.labels(), r.k(), truth, DIRECTIONS);
            assertTrue(purity >= 0.95, build + " seed " + seed + ": purity " + purity);
        }
    }

    @Test
    void centroidIsTheMeanOfItsRawMembers() {
        int n = 300;
        float[] keys = TestKeys.gaussian(n, 8, 5);
        KMeans.Result r = new KMeans(keys, n, 8, 7, KMeans.Settings.PAPER, 9).run();
        double[][] mean = new double[r.k()][8];
        int[] size = new int[r.k()];
        for (int i = 0; i < n; i++) {
            size[r.labels()[i]]++;
            for (int c = 0; c < 8; c++) {
                mean[r.labels()[i]][c] += keys[i * 8 + c];
            }
        }
        for (int j = 0; j < r.k(); j++) {
            if (size[j] == 0) {
                continue;
            }
            for (int c = 0; c < 8; c++) {
                assertEquals(mean[j][c] / size[j], r.centroids()[j * 8 + c], 1e-4, "centroid " + j + " channel " + c);
            }
        }
    }

    static double cosine(float[] a, int ao, float[] b, int bo, int d) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int c = 0; c < d; c++) {
            dot += (double) a[ao + c] * b[bo + c];
            na += (double) a[ao + c] * a[ao + c];
            nb += (double) b[bo + c] * b[bo + c];
        }
        return dot / Math.sqrt(na * nb);
    }

    /** The blocked kernel agrees with a plain double-precision argmax across panel and tile edges. */
    @ParameterizedTest
    @ValueSource(ints = {1, 5, 47, 48, 49, 130})
    void blockedAssignmentMatchesPlainArgmax(int k) {
        int n = 203;
        int d = 20;
        float[] keys = TestKeys.gaussian(n, d, k);
        float[] cents = TestKeys.gaussian(k, d, 100 + k);
        float[] unit = new float[SimilarityKernels.paddedRows(n) * d];
        SimilarityKernels.normalizeRows(keys, 0, unit, 0, n, d);
        var packed = new SimilarityKernels.PackedCentroids(k, d);
        packed.load(cents);
        int[] labels = new int[SimilarityKernels.paddedRows(n)];
        float[] best = new float[labels.length];
        SimilarityKernels.assign(unit, n, d, packed, labels, best);
        for (int i = 0; i < n; i++) {
            double top = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) {
                top = Math.max(top, cosine(keys, i * d, cents, j * d, d));
            }
            assertEquals(top, cosine(keys, i * d, cents, labels[i] * d, d), 1e-5, "key " + i);
            assertTrue(labels[i] >= 0 && labels[i] < k);
        }
    }

    @Test
    void duplicateKeysGiveNoEmptyClusterAndCoverTheRange() {
        int n = 50;
        float[] keys = new float[n * 4];
        for (int i = 0; i < n; i++) {
            keys[i * 4 + (i % 2)] = 1f; // two distinct directions, many duplicates
        }
        KMeans.Result r = new KMeans(keys, n, 4, 10, KMeans.Settings.PAPER, 3).run();
        ClusterBatch b = ClusterBatch.of(0, 100, r, 4);
        assertEquals(2, b.count(), "two directions, the other eight clusters end empty and are dropped");
        int[] sorted = b.members().clone();
        Arrays.sort(sorted);
        int[] expected = new int[n];
        Arrays.setAll(expected, i -> 100 + i);
        assertArrayEquals(expected, sorted);
        for (int c = 0; c < b.count(); c++) {
            for (int i = b.starts()[c] + 1; i < b.starts()[c + 1]; i++) {
                assertTrue(b.members()[i - 1] < b.members()[i], "members in ascending position order");
            }
        }
    }

    /** Through the policy: the prompt's clusters separate planted directions, and sinks are not clustered. */
    @Test
    void policyIndexesPlantedDirections() {
        int sink = 16;
        int n = sink + 800;
        int[] truth = new int[n];
        float[] keys = TestKeys.planted(n, D, 8, 0.3, 77, truth);
        ClusterKvPolicy policy = StepDriver.create(Map.of("tokens-per-cluster", "25"), 64, 2, D, 123);
        var driver = new StepDriver(policy, new GrowingKeyView(keys, D, n), 0, false);
        driver.prompt();
        ClusterIndex index = policy.index();
        int wanted = Math.ceilDiv(n - sink, 25);
        assertTrue(index.count() <= wanted && index.count() >= 8, index.count() + " clusters (empty ones dropped)");
        int[] labels = new int[n - sink];
        for (int c = 0; c < index.count(); c++) {
            for (int i = index.start(c); i < index.start(c + 1); i++) {
                int p = index.members()[i];
                assertTrue(p >= sink, "sink " + p + " clustered");
                labels[p - sink] = c;
            }
        }
        double purity = purity(labels, index.count(), Arrays.copyOfRange(truth, sink, n), 8);
        assertTrue(purity >= 0.95, "purity " + purity);
    }

    @Test
    void cheaperBuildsReachTheObjectiveOfThePaperBuild() {
        int n = 800;
        int[] truth = new int[n];
        float[] keys = TestKeys.planted(n, D, 10, 0.5, 4, truth);
        double paper = KMeans.meanCosine(keys, n, D, new KMeans(keys, n, D, 20, KMeans.Settings.PAPER, 1).run());
        for (Build b : Build.values()) {
            double got = KMeans.meanCosine(keys, n, D, new KMeans(keys, n, D, 20, b.settings, 1).run());
            assertTrue(got >= paper - 0.02, b + ": mean cosine " + got + " against the paper build's " + paper);
        }
    }
}

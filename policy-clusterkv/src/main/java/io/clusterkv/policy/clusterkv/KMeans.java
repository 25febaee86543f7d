package io.clusterkv.policy.clusterkv;

import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Cosine (spherical) k-means over raw keys, as ClusterKV defines it: keys and centroids are
 * L2-normalised for assignment ({@code label = argmax_c x̂ · ĉ}), and a centroid is the mean of the
 * <em>raw</em> keys assigned to it (so {@code q · centroid} keeps the keys' scale for ranking); an
 * empty cluster keeps its previous centroid.
 *
 * <p>Algorithms: {@link Algorithm#LLOYD} alternates full assignment and mean update
 * {@code iterations} times (the paper); {@link Algorithm#MINI_BATCH} (Sculley, WWW 2010) runs
 * {@code iterations} steps, each assigning {@code batchSize} keys drawn with replacement and moving
 * their centroids by a per-centroid rate {@code 1 / count}, then one full assignment and exact means,
 * so its centroids are still the means of their members. Its cost is
 * {@code (iterations · batchSize + n) · C · d} multiply-adds against Lloyd's
 * {@code iterations · n · C · d}. With {@code batchSize >= n} it runs Lloyd.
 *
 * <p>Initial centroids: {@link Init#RANDOM} takes {@code C} distinct keys drawn with the seed (the
 * paper); {@link Init#K_MEANS_PLUS_PLUS} seeds by D² sampling on the unit sphere
 * ({@code D² ∝ 1 - cos}) over a sample of {@code initSample} keys, which costs
 * {@code initSample · C · d} and usually needs fewer iterations.
 *
 * <p>Not thread-safe; an instance is one run's scratch, used on one thread. Deterministic: the same
 * keys, settings and seed give the same labels and centroids.
 */
final class KMeans {

    /** How initial centroids are chosen. */
    enum Init {
        /** Keys drawn uniformly without replacement (the paper). */
        RANDOM,
        /** D² sampling (Arthur and Vassilvitskii, SODA 2007) with the cosine distance. */
        K_MEANS_PLUS_PLUS
    }

    /** Which k-means runs. */
    enum Algorithm {
        /** Full assignment and mean update every iteration (the paper). */
        LLOYD,
        /** Sculley's mini-batch k-means, then one full assignment. */
        MINI_BATCH
    }

    /**
     * How to cluster.
     *
     * @param iterations Lloyd iterations or mini-batch steps, {@code >= 1}
     * @param init       initial centroids
     * @param earlyStop  Lloyd stops when an assignment changes no label
     * @param algorithm  Lloyd or mini-batch
     * @param batchSize  keys per mini-batch step, {@code >= 1}
     * @param initSample keys k-means++ draws from, {@code 0} for all
     */
    record Settings(int iterations, Init init, boolean earlyStop, Algorithm algorithm, int batchSize, int initSample) {
        /** @throws IllegalArgumentException if a count is out of range */
        Settings {
            Objects.requireNonNull(init, "init");
            Objects.requireNonNull(algorithm, "algorithm");
            if (iterations < 1 || batchSize < 1 || initSample < 0) {
                throw new IllegalArgumentException("iterations and batchSize must be >= 1, initSample >= 0: "
                        + iterations + ", " + batchSize + ", " + initSample);
            }
        }

        /** The paper's settings: 20 Lloyd iterations from random keys (the defaults seed by k-means++ instead). */
        static final Settings PAPER = new Settings(20, Init.RANDOM, false, Algorithm.LLOYD, 1024, 4096);
    }

    /**
     * One clustering.
     *
     * @param labels     {@code (n)} the centroid of each key, in {@code [0, k)}
     * @param centroids  {@code (k, d)} raw means of the members (an empty cluster's last centroid)
     * @param k          centroids
     * @param iterations iterations or steps run
     */
    record Result(int[] labels, float[] centroids, int k, int iterations) {
    }

    private final int n;
    private final int d;
    private final int k;
    private final Settings settings;
    private final SplittableRandom random;

    private final float[] raw;             // (n, d) keys as given
    private final float[] unit;            // (paddedRows(n), d) normalised keys, padding rows zero
    private final float[] centroids;       // (k, d) raw means
    private final SimilarityKernels.PackedCentroids packed;
    private final int[] labels;            // (paddedRows(n))
    private final int[] previous;          // (paddedRows(n))
    private final float[] best;            // (paddedRows(n)) similarity to the assigned centroid
    private final float[] sums;            // (k, d)
    private final int[] counts;            // (k)

    /**
     * @param raw      keys, {@code (n, d)} row-major; read, not modified
     * @param n        keys, {@code >= 1}
     * @param d        channels, {@code >= 1}
     * @param k        clusters wanted; capped at {@code n}
     * @param settings how
     * @param seed     seed of the random draws
     */
    KMeans(float[] raw, int n, int d, int k, Settings settings, long seed) {
        if (n < 1 || d < 1 || k < 1 || (long) n * d > raw.length) {
            throw new IllegalArgumentException("cannot cluster " + n + " keys of dimension " + d + " into " + k
                    + " from " + raw.length + " floats");
        }
        this.n = n;
        this.d = d;
        this.k = Math.min(k, n);
        this.settings = settings;
        this.random = new SplittableRandom(seed);
        this.raw = raw;
        int padded = SimilarityKernels.paddedRows(n);
        this.unit = new float[padded * d];
        SimilarityKernels.normalizeRows(raw, 0, unit, 0, n, d);
        this.centroids = new float[this.k * d];
        this.packed = new SimilarityKernels.PackedCentroids(this.k, d);
        this.labels = new int[padded];
        this.previous = new int[padded];
        this.best = new float[padded];
        this.sums = new float[this.k * d];
        this.counts = new int[this.k];
    }

    /** @return the clustering; call once */
    Result run() {
        if (settings.init() == Init.K_MEANS_PLUS_PLUS) {
            initPlusPlus();
        } else {
            initRandom();
        }
        int iterations = settings.algorithm() == Algorithm.MINI_BATCH && settings.batchSize() < n
                ? miniBatch() : lloyd();
        return new Result(java.util.Arrays.copyOf(labels, n), centroids.clone(), k, iterations);
    }

    private int lloyd() {
        int it = 0;
        while (it < settings.iterations()) {
            System.arraycopy(labels, 0, previous, 0, n);
            assignAll();
            it++;
            if (settings.earlyStop() && it > 1 && java.util.Arrays.equals(labels, 0, n, previous, 0, n)) {
                break; // centroids are already the means of these labels
            }
            updateMeans();
        }
        return it;
    }

    private int miniBatch() {
        int b = settings.batchSize();
        int padded = SimilarityKernels.paddedRows(b);
        float[] batch = new float[padded * d];  // (paddedRows(b), d) normalised keys of the batch
        int[] members = new int[b];
        int[] batchLabels = new int[padded];
        float[] batchBest = new float[padded];
        long[] seen = new long[k];
        for (int step = 0; step < settings.iterations(); step++) {
            for (int j = 0; j < b; j++) {
                int i = random.nextInt(n);
                members[j] = i;
                System.arraycopy(unit, i * d, batch, j * d, d);
            }
            packed.load(centroids);
            SimilarityKernels.assign(batch, b, d, packed, batchLabels, batchBest);
            for (int j = 0; j < b; j++) {
                int c = batchLabels[j];
                float eta = 1f / ++seen[c];
                int co = c * d;
                int ko = members[j] * d;
                for (int t = 0; t < d; t++) {
                    centroids[co + t] += eta * (raw[ko + t] - centroids[co + t]);
                }
            }
        }
        assignAll();
        updateMeans();
        return settings.iterations();
    }

    private void assignAll() {
        packed.load(centroids);
        SimilarityKernels.assign(unit, n, d, packed, labels, best);
    }

    private void updateMeans() {
        java.util.Arrays.fill(sums, 0f);
        java.util.Arrays.fill(counts, 0);
        for (int i = 0; i < n; i++) {
            int c = labels[i];
            counts[c]++;
            int so = c * d;
            int ko = i * d;
            for (int t = 0; t < d; t++) {
                sums[so + t] += raw[ko + t];
            }
        }
        for (int c = 0; c < k; c++) {
            if (counts[c] > 0) {
                float inv = 1f / counts[c];
                int o = c * d;
                for (int t = 0; t < d; t++) {
                    centroids[o + t] = sums[o + t] * inv;
                }
            }
        }
    }

    /** The first {@code count} entries of a seeded shuffle of {@code 0 .. n-1} (partial Fisher–Yates). */
    private int[] draw(int count) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = 0; i < count; i++) {
            int j = i + random.nextInt(n - i);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    private void initRandom() {
        int[] order = draw(k);
        for (int c = 0; c < k; c++) {
            System.arraycopy(raw, order[c] * d, centroids, c * d, d);
        }
    }

    private void initPlusPlus() {
        int s = settings.initSample() == 0 ? n : Math.min(n, Math.max(settings.initSample(), k));
        int[] sample = draw(s);
        double[] weight = new double[s]; // (s) 1 - cos to the nearest chosen centroid
        java.util.Arrays.fill(weight, Double.MAX_VALUE);
        int chosen = sample[random.nextInt(s)];
        for (int c = 0; c < k; c++) {
            System.arraycopy(raw, chosen * d, centroids, c * d, d);
            if (c == k - 1) {
                break;
            }
            double total = 0;
            for (int j = 0; j < s; j++) {
                double w = Math.max(0.0, 1.0 - SimilarityKernels.dot(unit, sample[j] * d, unit, chosen * d, d));
                if (w < weight[j]) {
                    weight[j] = w;
                }
                total += weight[j];
            }
            if (total <= 0) {
                chosen = sample[random.nextInt(s)];
                continue;
            }
            double target = random.nextDouble() * total;
            int j = 0;
            double acc = weight[0];
            while (acc <= target && j < s - 1) {
                acc += weight[++j];
            }
            chosen = sample[j];
        }
    }

    /**
     * The mean cosine similarity of each key to its centroid: the objective spherical k-means
     * maximises, for comparing builds.
     *
     * @param raw       keys, {@code (n, d)}
     * @param n         keys
     * @param d         channels
     * @param result    a clustering of those keys
     * @return {@code mean_i cos(x_i, centroid(label_i))}
     */
    static double meanCosine(float[] raw, int n, int d, Result result) {
        double sum = 0;
        float[] cs = result.centroids();
        for (int i = 0; i < n; i++) {
            int c = result.labels()[i];
            double dot = SimilarityKernels.dot(raw, i * d, cs, c * d, d);
            double nx = Math.sqrt(SimilarityKernels.dot(raw, i * d, raw, i * d, d));
            double nc = Math.sqrt(SimilarityKernels.dot(cs, c * d, cs, c * d, d));
            sum += nx > 0 && nc > 0 ? dot / (nx * nc) : 0;
        }
        return sum / n;
    }
}

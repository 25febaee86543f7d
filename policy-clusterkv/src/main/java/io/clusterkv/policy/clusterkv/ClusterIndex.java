package io.clusterkv.policy.clusterkv;

import java.util.Arrays;

/**
 * The clusters of one shard, append-only, stored flat (CSR-like) so that selection emits a cluster's
 * positions from one contiguous run of {@code members}. Centroids are held twice: a flat
 * {@code (count, d)} array (the canonical copy) and lane-wide panels {@code (blocks, d, LANES)} that
 * selection scores without horizontal reductions; appending a cluster fills one lane of the last panel,
 * so old panels never move.
 *
 * <p>Clusters are never changed once appended: cluster {@code c} is residency unit
 * {@code c + 1} (unit 0 is the sinks) at version 0 for the life of the shard. Appends happen only in
 * {@link ClusterKvPolicy#merge}, on the shard's thread; arrays grow by doubling there, never in
 * selection.
 */
final class ClusterIndex {

    private final int d;
    private float[] centroids = new float[0]; // (capacity, d) raw means
    private float[] panels = new float[0];    // (blocks(capacity), d, LANES) the same, lane-wide panels for scoring
    private int[] starts = {0};               // (capacity + 1) cluster c is members[starts[c] .. starts[c+1])
    private int[] members = new int[0];       // (positions indexed) positions, cluster after cluster
    private float[] logSizes = new float[0];  // (capacity) ln of each cluster's size, for the mass estimate
    private int count;

    ClusterIndex(int d) {
        this.d = d;
    }

    /** @return clusters indexed */
    int count() {
        return count;
    }

    /** @return the centroid array, {@code (>= count, d)}; read only */
    float[] centroids() {
        return centroids;
    }

    /**
     * @return the centroids again in lane-wide panels, {@code (blocks, d, LANES)}, as
     *         {@link SimilarityKernels#scorePanels} reads them; padding lanes are zero; read only
     */
    float[] panels() {
        return panels;
    }

    /** @return the member array; cluster {@code c} is {@code [start(c), start(c + 1))}; read only */
    int[] members() {
        return members;
    }

    /**
     * @param c a cluster, or {@code count()} for the end
     * @return index in {@link #members()} of its first position
     */
    int start(int c) {
        return starts[c];
    }

    /** @return the offsets, {@code (>= count + 1)}: cluster {@code c} is {@code [starts[c], starts[c + 1])}; read only */
    int[] startArray() {
        return starts;
    }

    /**
     * @return {@code ln(size)} of each cluster, {@code (>= count)}: what a cluster's size adds to its
     *         logit in the attention-mass estimate ({@link ClusterRanking#estimateMass}); read only
     */
    float[] logSizes() {
        return logSizes;
    }

    /** @return positions indexed, over all clusters */
    int positions() {
        return starts[count];
    }

    /**
     * @param c a cluster
     * @return its residency unit id
     */
    static long unitId(int c) {
        return c + 1L;
    }

    /**
     * Appends a batch's clusters after the existing ones.
     *
     * @param b the batch
     */
    void append(ClusterBatch b) {
        int newCount = count + b.count();
        if (newCount > starts.length - 1) {
            int cap = Math.max(newCount, 2 * (starts.length - 1));
            centroids = Arrays.copyOf(centroids, cap * d);
            panels = Arrays.copyOf(panels, SimilarityKernels.blocks(cap) * d * SimilarityKernels.LANES);
            starts = Arrays.copyOf(starts, cap + 1);
            logSizes = Arrays.copyOf(logSizes, cap);
        }
        int base = starts[count];
        int newPositions = base + b.members().length;
        if (newPositions > members.length) {
            members = Arrays.copyOf(members, Math.max(newPositions, 2 * members.length));
        }
        System.arraycopy(b.centroids(), 0, centroids, count * d, b.count() * d);
        int lanes = SimilarityKernels.LANES;
        for (int i = 0; i < b.count(); i++) {
            int c = count + i;
            int lane = (c / lanes) * d * lanes + c % lanes;
            for (int k = 0; k < d; k++) {
                panels[lane + k * lanes] = b.centroids()[i * d + k];
            }
        }
        System.arraycopy(b.members(), 0, members, base, b.members().length);
        for (int c = 1; c <= b.count(); c++) {
            starts[count + c] = base + b.starts()[c];
            logSizes[count + c - 1] = (float) Math.log(b.starts()[c] - b.starts()[c - 1]);
        }
        count = newCount;
    }
}

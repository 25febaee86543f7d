package io.clusterkv.policy.clusterkv;

/**
 * The clusters one maintenance task made from the keys of positions {@code [from, to)}, in the layout
 * the {@link ClusterIndex} stores: every position of the range in exactly one cluster, members of a
 * cluster in ascending position order (the fixed order a truncated selection takes a prefix of), no
 * empty cluster.
 *
 * @param ordinal   which range of the shard this is: ranges are merged in ordinal order
 * @param from      first position, inclusive
 * @param to        last position, exclusive
 * @param count     clusters, {@code >= 1}
 * @param centroids {@code (count, d)} raw means of the members
 * @param starts    {@code (count + 1)} cluster {@code c} is {@code members[starts[c] .. starts[c+1])}
 * @param members   {@code (to - from)} positions, cluster after cluster
 */
record ClusterBatch(int ordinal, int from, int to, int count, float[] centroids, int[] starts, int[] members) {

    /**
     * Groups a k-means result by label, dropping empty clusters.
     *
     * @param ordinal the range's ordinal
     * @param from    position of the first key clustered
     * @param result  labels of keys {@code from ..}, centroids
     * @param d       channels
     * @return the batch
     */
    static ClusterBatch of(int ordinal, int from, KMeans.Result result, int d) {
        int[] labels = result.labels();
        int n = labels.length;
        int k = result.k();
        int[] sizes = new int[k];
        for (int label : labels) {
            sizes[label]++;
        }
        int[] slot = new int[k]; // new index of each non-empty label
        int count = 0;
        for (int c = 0; c < k; c++) {
            slot[c] = sizes[c] > 0 ? count++ : -1;
        }
        float[] centroids = new float[count * d];
        int[] starts = new int[count + 1];
        for (int c = 0; c < k; c++) {
            if (slot[c] >= 0) {
                System.arraycopy(result.centroids(), c * d, centroids, slot[c] * d, d);
                starts[slot[c] + 1] = sizes[c];
            }
        }
        for (int c = 0; c < count; c++) {
            starts[c + 1] += starts[c];
        }
        int[] fill = java.util.Arrays.copyOf(starts, count);
        int[] members = new int[n];
        for (int i = 0; i < n; i++) { // ascending i keeps each cluster in position order
            members[fill[slot[labels[i]]]++] = from + i;
        }
        return new ClusterBatch(ordinal, from, from + n, count, centroids, starts, members);
    }
}

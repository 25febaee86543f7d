package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.MaintenanceTask;
import java.util.function.Consumer;

/**
 * One asynchronous clustering: the keys of positions {@code [from, to)} of an immutable snapshot into
 * {@code clusters} clusters. {@link #compute()} reads only what was captured at creation (the
 * snapshot, the range, the settings, a seed) and allocates its own scratch, so it may run on any
 * thread; {@link #apply} hands the result to the policy on the shard's thread.
 */
final class ClusteringTask implements MaintenanceTask<ClusterBatch> {

    private final KeyView snapshot;
    private final int ordinal;
    private final int from;
    private final int to;
    private final int clusters;
    private final KMeans.Settings settings;
    private final long seed;
    private final Consumer<ClusterBatch> merge;

    /**
     * @param snapshot an immutable view holding at least {@code to} positions
     * @param ordinal  the range's ordinal in the shard
     * @param from     first position, inclusive
     * @param to       last position, exclusive, {@code > from}
     * @param clusters clusters wanted, {@code >= 1}
     * @param settings k-means settings
     * @param seed     the seed of this range's random draws
     * @param merge    called by {@link #apply} with the result
     */
    ClusteringTask(KeyView snapshot, int ordinal, int from, int to, int clusters, KMeans.Settings settings, long seed,
                   Consumer<ClusterBatch> merge) {
        this.snapshot = snapshot;
        this.ordinal = ordinal;
        this.from = from;
        this.to = to;
        this.clusters = clusters;
        this.settings = settings;
        this.seed = seed;
        this.merge = merge;
    }

    @Override
    public String description() {
        return "cluster positions " + from + ".." + to + " into " + clusters;
    }

    @Override
    public ClusterBatch compute() {
        int d = snapshot.headDim();
        int n = to - from;
        float[] keys = new float[n * d]; // (n, d)
        snapshot.copyKeys(from, to, keys, 0);
        KMeans.Result result = new KMeans(keys, n, d, clusters, settings, seed).run();
        return ClusterBatch.of(ordinal, from, result, d);
    }

    @Override
    public void apply(ClusterBatch result) {
        merge.accept(result);
    }

    /** @return the range's ordinal */
    int ordinal() {
        return ordinal;
    }

    /** @return first position clustered */
    int from() {
        return from;
    }

    /** @return last position clustered, exclusive */
    int to() {
        return to;
    }

    /** @return clusters wanted */
    int clusters() {
        return clusters;
    }
}

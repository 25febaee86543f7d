package io.clusterkv.runtime.policy;

import io.clusterkv.spi.Queries;
import io.clusterkv.spi.ShardGeometry;

/**
 * Whom a shard's selection is for, with grouped-query attention (several query heads per KV head): each
 * query head selects its own positions, or the query heads of a group share one selection.
 *
 * <p>{@link #GROUP}: the policy sees one query per KV head, the mean of the group's queries, and all
 * heads of the group attend what it selects. For scores linear in the query (ClusterKV's
 * {@code q · centroid}, the oracle's {@code q · k}) the mean query's score is the mean of the heads'
 * scores, so the selection ranks units by the group's combined score; for Quest's page bound it is the
 * bound of the mean score (tighter than the mean of the heads' bounds). Every row the group attends is
 * then read once for all its heads: the selection's bytes per step are {@code budget} rows per KV head
 * instead of {@code groupSize * budget}, and attention runs the group's kernels over them as exact
 * attention does over the whole context. Quality differs from {@link #HEAD} where the heads of a group
 * look at different positions; the arena measures it ({@code ckv arena --selection-scope group}).
 *
 * <p>This is {@code clusterkv.runtime.selection-scope}; a policy is not told: under {@link #GROUP} it is
 * created with a {@link ShardGeometry} of one query head ({@link #policyGeometry}).
 */
public enum SelectionScope {

    /** Each query head selects its own positions (the papers' setting). */
    HEAD,

    /** The query heads of a group share one selection, made from the mean of their queries. */
    GROUP;

    /**
     * @param shard the shard's geometry
     * @return the geometry the shard's policy is created with: the shard's, or one query head under {@link #GROUP}
     */
    public ShardGeometry policyGeometry(ShardGeometry shard) {
        return this == GROUP ? new ShardGeometry(shard.layer(), shard.kvHead(), 1, shard.headDim()) : shard;
    }

    /**
     * @param groupSize query heads per KV head
     * @return query heads the shard's selection holds: {@code groupSize}, or 1 under {@link #GROUP}
     */
    public int selectionHeads(int groupSize) {
        return this == GROUP ? 1 : groupSize;
    }

    /**
     * The queries a shard's policy selects for, from its group's queries: the same ones under {@link #HEAD},
     * their mean under {@link #GROUP}. One instance per shard, confined to its thread; allocates nothing per call.
     */
    public static final class PolicyQueries {

        private final SelectionScope scope;
        private final float[] mean;
        private final Queries meanView;

        /**
         * @param scope   the scope
         * @param headDim channels per head
         */
        public PolicyQueries(SelectionScope scope, int headDim) {
            this.scope = scope;
            this.mean = new float[scope == GROUP ? headDim : 0];
            this.meanView = scope == GROUP ? Queries.wrap(mean, 1, headDim) : null;
        }

        /**
         * @param group the group's queries {@code (groupSize, headDim)}
         * @return what the policy selects for: {@code group} itself, or one query, the mean of the group's
         */
        public Queries of(Queries group) {
            if (scope == HEAD) {
                return group;
            }
            int heads = group.heads();
            int dim = mean.length;
            if (group.headDim() != dim) {
                throw new IllegalArgumentException("the queries have head dim " + group.headDim() + ", not " + dim);
            }
            group.copy(0, mean, 0);
            for (int h = 1; h < heads; h++) {
                for (int c = 0; c < dim; c++) {
                    mean[c] += group.get(h, c);
                }
            }
            float inv = 1f / heads;
            for (int c = 0; c < dim; c++) {
                mean[c] *= inv;
            }
            return meanView;
        }
    }
}

package io.clusterkv.runtime.decode;

import io.clusterkv.runtime.kv.KvShard;

/**
 * Keys and values placed in a history without running the model ({@code Session.fill} of the runtime,
 * {@link ReferenceDecoder#fill}): how benchmarks and the arena measure decoding at a long context without a
 * long prefill. A session's policy sees them as a prompt (or as appended positions, after one).
 */
public interface HistoryFill {

    /** @return positions each shard receives, {@code >= 1} */
    int positions();

    /**
     * Appends exactly {@link #positions()} keys and values to one shard. Called for every shard; in a
     * session on that shard's actor, concurrently for different shards.
     *
     * @param layer  the shard's layer
     * @param kvHead the shard's KV head
     * @param shard  the shard's host store
     */
    void fill(int layer, int kvHead, KvShard shard);

    /**
     * Fills one shard and checks that exactly {@code fill.positions()} were appended: what every decoder
     * does for each of its shards.
     *
     * @param fill   the fill
     * @param layer  the shard's layer
     * @param kvHead the shard's KV head
     * @param shard  the shard's host store
     * @throws IllegalStateException if the fill appended another number of positions, naming the shard
     */
    static void fillShard(HistoryFill fill, int layer, int kvHead, KvShard shard) {
        int before = shard.size();
        fill.fill(layer, kvHead, shard);
        if (shard.size() != before + fill.positions()) {
            throw new IllegalStateException("the history fill appended " + (shard.size() - before)
                    + " positions to shard (" + layer + ", " + kvHead + "), not " + fill.positions());
        }
    }
}

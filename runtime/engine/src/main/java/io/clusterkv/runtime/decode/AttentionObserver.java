package io.clusterkv.runtime.decode;

import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;

/**
 * Watches the attention of a {@link ReferenceDecoder}: what each (layer, kvHead) shard holds after a prefill,
 * and its queries and keys at every decode step. The arena's replay mode uses it to let every policy
 * select for the same queries over the same keys as one exact decode.
 *
 * <p>Calls come on the generation's thread, in layer order then kvHead order. The arguments are the
 * generation's own buffers and live views: valid only during the call (take a
 * {@link KvShard.View#snapshot()} or copy to keep them); an observer must not write them.
 */
public interface AttentionObserver {

    /**
     * After {@link ReferenceDecoder#prefill}: the shard holds positions {@code [0, keys.size())}.
     *
     * @param layer  the layer
     * @param kvHead the KV head
     * @param keys   the shard's keys and values
     */
    default void onPrefill(int layer, int kvHead, KvShard.View keys) {
    }

    /**
     * A decode step at one shard, after the new key and value were appended at {@code position} and
     * before attention.
     *
     * @param layer    the layer
     * @param kvHead   the KV head
     * @param position the new position ({@code keys.size() - 1})
     * @param queries  the group's queries {@code (groupSize, headDim)}
     * @param keys     the shard's keys and values, positions {@code [0, position]}
     */
    void onDecode(int layer, int kvHead, int position, Queries queries, KvShard.View keys);
}

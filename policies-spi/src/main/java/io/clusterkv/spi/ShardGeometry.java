package io.clusterkv.spi;

/**
 * Where a shard sits in the model and the shape of what it stores.
 *
 * <p>A shard is one (layer, kvHead) pair. With grouped-query attention it serves
 * {@code queryHeads} query heads, which all attend over the same keys; each gets its own selection.
 *
 * @param layer      the layer index, {@code >= 0}
 * @param kvHead     the KV head index within the layer, {@code >= 0}
 * @param queryHeads query heads served by this shard ({@code nHeads / nKvHeads}), {@code >= 1}
 * @param headDim    channels of one key or query vector, {@code >= 1}
 */
public record ShardGeometry(int layer, int kvHead, int queryHeads, int headDim) {

    /**
     * Validates the geometry.
     *
     * @throws IllegalArgumentException if a field is out of range; the message names it and its value
     */
    public ShardGeometry {
        if (layer < 0) {
            throw new IllegalArgumentException("layer must be >= 0, was " + layer);
        }
        if (kvHead < 0) {
            throw new IllegalArgumentException("kvHead must be >= 0, was " + kvHead);
        }
        if (queryHeads < 1) {
            throw new IllegalArgumentException("queryHeads must be >= 1, was " + queryHeads);
        }
        if (headDim < 1) {
            throw new IllegalArgumentException("headDim must be >= 1, was " + headDim);
        }
    }
}

package io.clusterkv.spi;

import java.util.Objects;

/**
 * One step's queries for the query heads of a shard: {@code (queryHeads, headDim)}, post-RoPE,
 * read-only for policies.
 *
 * <p>The runtime reuses one instance per shard across steps (it wraps a buffer it refills), so a
 * policy must not keep a reference to it beyond {@link RecallPolicy#select}.
 */
public final class Queries {

    private final float[] data; // (heads, headDim)
    private final int heads;
    private final int headDim;

    private Queries(float[] data, int heads, int headDim) {
        this.data = data;
        this.heads = heads;
        this.headDim = headDim;
    }

    /**
     * Wraps a head-major buffer without copying; later writes to the buffer show through.
     *
     * @param data    {@code data[h * headDim + c]}
     * @param heads   query heads
     * @param headDim channels per head
     * @return the view
     * @throws IllegalArgumentException if the buffer is shorter than {@code heads * headDim}
     */
    public static Queries wrap(float[] data, int heads, int headDim) {
        Objects.requireNonNull(data, "data");
        if (heads < 1 || headDim < 1 || (long) heads * headDim > data.length) {
            throw new IllegalArgumentException("buffer of " + data.length + " floats cannot hold " + heads
                    + " queries of dimension " + headDim);
        }
        return new Queries(data, heads, headDim);
    }

    /** @return query heads */
    public int heads() {
        return heads;
    }

    /** @return channels per head */
    public int headDim() {
        return headDim;
    }

    /**
     * @param head    a query head in {@code [0, heads())}
     * @param channel a channel in {@code [0, headDim())}
     * @return one channel of one query
     */
    public float get(int head, int channel) {
        Objects.checkIndex(head, heads);
        Objects.checkIndex(channel, headDim);
        return data[head * headDim + channel];
    }

    /**
     * Copies one head's query.
     *
     * @param head   a query head
     * @param dst    destination
     * @param offset where it goes
     */
    public void copy(int head, float[] dst, int offset) {
        Objects.checkIndex(head, heads);
        System.arraycopy(data, head * headDim, dst, offset, headDim);
    }

    /**
     * @param head a query head
     * @param keys keys to score against
     * @param position a position of {@code keys}
     * @return {@code q_head · k_position}, computed by the key view's fast path
     */
    public float dot(int head, KeyView keys, int position) {
        Objects.checkIndex(head, heads);
        return keys.dot(position, data, head * headDim);
    }

    /**
     * @param head   a query head
     * @param vector holds a {@code headDim}-vector at {@code offset}
     * @param offset where it starts
     * @return the inner product of the head's query with the vector
     */
    public float dot(int head, float[] vector, int offset) {
        Objects.checkIndex(head, heads);
        Objects.checkFromIndexSize(offset, headDim, vector.length);
        int base = head * headDim;
        float s = 0f;
        for (int c = 0; c < headDim; c++) {
            s += data[base + c] * vector[offset + c];
        }
        return s;
    }
}

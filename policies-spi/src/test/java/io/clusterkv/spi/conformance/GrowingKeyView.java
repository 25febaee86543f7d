package io.clusterkv.spi.conformance;

import io.clusterkv.spi.KeyView;
import java.util.Objects;

/**
 * A live {@link KeyView} over a fixed row-major array that grows one position at a time, as a shard's
 * view does while decoding; its snapshots are fixed-size {@link KeyView#of} views. For driving a
 * policy in a plugin's own tests.
 */
public final class GrowingKeyView implements KeyView {

    private final float[] keys; // (capacity, headDim)
    private final int headDim;
    private final int capacity;
    private int size;

    /**
     * @param keys    row-major keys, {@code (capacity, headDim)}; read, not copied
     * @param headDim channels per key
     * @param size    positions visible at first
     * @throws IllegalArgumentException if {@code size} exceeds the array's positions
     */
    public GrowingKeyView(float[] keys, int headDim, int size) {
        this.keys = Objects.requireNonNull(keys, "keys");
        this.headDim = headDim;
        this.capacity = keys.length / headDim;
        if (size < 0 || size > capacity) {
            throw new IllegalArgumentException("the array holds " + capacity + " positions, asked for " + size);
        }
        this.size = size;
    }

    /**
     * Makes the next position visible.
     *
     * @throws IllegalStateException when every position is visible
     */
    public void grow() {
        if (size == capacity) {
            throw new IllegalStateException("exhausted at " + capacity + " positions");
        }
        size++;
    }

    /** @return the backing array */
    public float[] array() {
        return keys;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public int headDim() {
        return headDim;
    }

    @Override
    public float get(int position, int channel) {
        Objects.checkIndex(position, size);
        Objects.checkIndex(channel, headDim);
        return keys[position * headDim + channel];
    }

    @Override
    public void copyKeys(int from, int to, float[] dst, int offset) {
        Objects.checkFromToIndex(from, to, size);
        System.arraycopy(keys, from * headDim, dst, offset, (to - from) * headDim);
    }

    @Override
    public float dot(int position, float[] vector, int offset) {
        Objects.checkIndex(position, size);
        Objects.checkFromIndexSize(offset, headDim, vector.length);
        float s = 0f;
        for (int c = 0; c < headDim; c++) {
            s += keys[position * headDim + c] * vector[offset + c];
        }
        return s;
    }

    @Override
    public KeyView snapshot() {
        return KeyView.of(keys, size, headDim);
    }
}

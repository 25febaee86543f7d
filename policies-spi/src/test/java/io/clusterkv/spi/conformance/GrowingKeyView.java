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
    private KeyView current;    // a fixed-size view of the visible positions; replaced on grow

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
        this.current = KeyView.of(keys, size, headDim);
    }

    /**
     * Makes the next position visible.
     *
     * @throws IllegalStateException when every position is visible
     */
    public void grow() {
        if (current.size() == capacity) {
            throw new IllegalStateException("exhausted at " + capacity + " positions");
        }
        current = KeyView.of(keys, current.size() + 1, headDim);
    }

    /** @return the backing array */
    public float[] array() {
        return keys;
    }

    @Override
    public int size() {
        return current.size();
    }

    @Override
    public int headDim() {
        return headDim;
    }

    @Override
    public float get(int position, int channel) {
        return current.get(position, channel);
    }

    @Override
    public void copyKeys(int from, int to, float[] dst, int offset) {
        current.copyKeys(from, to, dst, offset);
    }

    @Override
    public float dot(int position, float[] vector, int offset) {
        return current.dot(position, vector, offset);
    }

    @Override
    public KeyView snapshot() {
        return current;
    }
}

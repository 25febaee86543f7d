package io.clusterkv.spi;

import java.util.Objects;

/** {@link KeyView#of}: a fixed-size view over a row-major array. */
final class ArrayKeyView implements KeyView {

    private final float[] keys; // (size, headDim)
    private final int size;
    private final int headDim;

    ArrayKeyView(float[] keys, int size, int headDim) {
        Objects.requireNonNull(keys, "keys");
        if (size < 0 || headDim < 1 || (long) size * headDim > keys.length) {
            throw new IllegalArgumentException("array of " + keys.length + " floats cannot hold " + size
                    + " keys of dimension " + headDim);
        }
        this.keys = keys;
        this.size = size;
        this.headDim = headDim;
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
        int base = position * headDim;
        float s = 0f;
        for (int c = 0; c < headDim; c++) {
            s += keys[base + c] * vector[offset + c];
        }
        return s;
    }

    @Override
    public KeyView snapshot() {
        return this;
    }
}

package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.KeyView;
import java.util.Objects;
import java.util.SplittableRandom;

/** A live key view over a fixed array that grows one position at a time, with workload generators. */
final class GrowingKeys implements KeyView {

    private final float[] keys; // (capacity, d)
    private final int capacity;
    private final int d;
    private int size;

    GrowingKeys(float[] keys, int d, int size) {
        this.keys = keys;
        this.d = d;
        this.capacity = keys.length / d;
        this.size = size;
    }

    void grow() {
        if (size == capacity) {
            throw new IllegalStateException("exhausted at " + capacity);
        }
        size++;
    }

    float[] array() {
        return keys;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public int headDim() {
        return d;
    }

    @Override
    public float get(int position, int channel) {
        Objects.checkIndex(position, size);
        return keys[position * d + channel];
    }

    @Override
    public void copyKeys(int from, int to, float[] dst, int offset) {
        Objects.checkFromToIndex(from, to, size);
        System.arraycopy(keys, from * d, dst, offset, (to - from) * d);
    }

    @Override
    public float dot(int position, float[] vector, int offset) {
        Objects.checkIndex(position, size);
        float s = 0;
        for (int c = 0; c < d; c++) {
            s += keys[position * d + c] * vector[offset + c];
        }
        return s;
    }

    @Override
    public KeyView snapshot() {
        return KeyView.of(keys, size, d);
    }

    // ---- workloads ----

    static double gaussian(SplittableRandom rnd) {
        double u = 1.0 - rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd.nextDouble());
    }

    /** @return {@code (n, d)} i.i.d. standard Gaussian entries */
    static float[] gaussian(int n, int d, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] out = new float[n * d];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) gaussian(rnd);
        }
        return out;
    }

    /**
     * Keys drawn around {@code directions} random unit directions: key = scale · (u_t + noise), the
     * scale uniform in [0.5, 3] (so only a cosine metric sees the groups cleanly), the noise of norm
     * about {@code noise}, topics in runs of random length.
     *
     * @param truth out: {@code (n)} the planted direction of each key
     */
    static float[] planted(int n, int d, int directions, double noise, long seed, int[] truth) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[][] dirs = new float[directions][d];
        for (float[] u : dirs) {
            double norm = 0;
            for (int c = 0; c < d; c++) {
                u[c] = (float) gaussian(rnd);
                norm += u[c] * u[c];
            }
            for (int c = 0; c < d; c++) {
                u[c] /= (float) Math.sqrt(norm);
            }
        }
        float[] out = new float[n * d];
        int topic = 0;
        double sigma = noise / Math.sqrt(d);
        for (int i = 0; i < n; i++) {
            if (rnd.nextInt(10) == 0) {
                topic = rnd.nextInt(directions);
            }
            truth[i] = topic;
            double scale = 0.5 + 2.5 * rnd.nextDouble();
            for (int c = 0; c < d; c++) {
                out[i * d + c] = (float) (scale * (dirs[topic][c] + sigma * gaussian(rnd)));
            }
        }
        return out;
    }
}

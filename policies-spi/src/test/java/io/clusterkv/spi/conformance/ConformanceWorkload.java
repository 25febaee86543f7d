package io.clusterkv.spi.conformance;

import io.clusterkv.spi.KeyView;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * The keys and queries the conformance kit drives a policy with: a seeded Gaussian mixture of a few
 * directions (so clustering and paging policies have structure to find), the first four positions
 * with large keys (attention sinks), and queries mixing two directions. Self-contained: plugin
 * authors need only this jar and JUnit.
 */
public final class ConformanceWorkload {

    private final int headDim;
    private final int queryHeads;
    private final float[] keys;      // (capacity, headDim)
    private final float[] queries;   // (capacity, queryHeads, headDim): the queries of the step at each position
    private final int capacity;

    /**
     * @param capacity   positions generated
     * @param queryHeads query heads per step
     * @param headDim    channels
     * @param seed       seed
     */
    public ConformanceWorkload(int capacity, int queryHeads, int headDim, long seed) {
        this.capacity = capacity;
        this.queryHeads = queryHeads;
        this.headDim = headDim;
        SplittableRandom rnd = new SplittableRandom(seed);
        int topics = 8;
        float[][] dirs = new float[topics][headDim];
        for (float[] d : dirs) {
            for (int c = 0; c < headDim; c++) {
                d[c] = (float) gaussian(rnd);
            }
        }
        keys = new float[capacity * headDim];
        int topic = 0;
        for (int p = 0; p < capacity; p++) {
            if (rnd.nextInt(20) == 0) {
                topic = rnd.nextInt(topics);
            }
            float scale = p < 4 ? 4f : 1f;
            for (int c = 0; c < headDim; c++) {
                keys[p * headDim + c] = scale * (dirs[topic][c] + 0.5f * (float) gaussian(rnd));
            }
        }
        queries = new float[capacity * queryHeads * headDim];
        for (int i = 0; i < capacity * queryHeads; i++) {
            int a = rnd.nextInt(topics);
            int b = rnd.nextInt(topics);
            for (int c = 0; c < headDim; c++) {
                queries[i * headDim + c] = dirs[a][c] + 0.5f * dirs[b][c] + 0.3f * (float) gaussian(rnd);
            }
        }
    }

    private static double gaussian(SplittableRandom rnd) {
        double u = 1.0 - rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd.nextDouble());
    }

    /** @return a view over the first {@code size} keys that grows with {@link GrowingKeys#grow} */
    GrowingKeys keys(int size) {
        return new GrowingKeys(size);
    }

    /**
     * The queries of the step at {@code position}, copied into {@code dst}.
     *
     * @param position the step's position
     * @param dst      {@code (queryHeads, headDim)}
     */
    void queriesAt(int position, float[] dst) {
        System.arraycopy(queries, position * queryHeads * headDim, dst, 0, queryHeads * headDim);
    }

    /** A live key view over the workload's array: grows one position at a time, never moves a row. */
    final class GrowingKeys implements KeyView {
        private int size;

        GrowingKeys(int size) {
            if (size > capacity) {
                throw new IllegalArgumentException("workload holds " + capacity + " positions, asked for " + size);
            }
            this.size = size;
        }

        void grow() {
            if (size == capacity) {
                throw new IllegalStateException("workload exhausted at " + capacity + " positions");
            }
            size++;
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
}

package io.clusterkv.spi.conformance;

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

    /** @return a view over the first {@code size} keys that grows with {@link GrowingKeyView#grow} */
    GrowingKeyView keys(int size) {
        return new GrowingKeyView(keys, headDim, size);
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
}

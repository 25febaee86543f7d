package io.clusterkv.policy.clusterkv;

import java.util.SplittableRandom;

/** Seeded key generators for the tests. */
final class TestKeys {

    private TestKeys() {
    }

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

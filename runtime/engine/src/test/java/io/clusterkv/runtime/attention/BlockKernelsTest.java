package io.clusterkv.runtime.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The pieces of {@link BlockKernels} whose errors the attention tests would only see blurred. */
class BlockKernelsTest {

    private static final int L = BlockKernels.L;

    /**
     * {@code e^x}, {@code x <= 0}, by {@link BlockKernels#weigh}: the scores {@code x} of one head whose
     * running maximum is already 0, so the block (NaN included) does not raise it.
     */
    private static float[] exp(float... x) {
        float[] s = new float[BlockKernels.padded(x.length)];
        System.arraycopy(x, 0, s, 0, x.length);
        float[] max = {0f};
        BlockKernels.weigh(s, 0, x.length, 1, max, new double[1], 0, new float[L], L, new float[L], 0, new float[L]);
        assertEquals(0f, max[0], "the running maximum");
        return java.util.Arrays.copyOf(s, x.length);
    }

    @Test
    void expIsWithinTwoUlpOnTheWholeRangeOfShiftedScores() {
        int n = 1 << 20;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = -87f * i / (n - 1); // [-87, 0], 2^20 points
        }
        float[] e = exp(x);
        for (int i = 0; i < n; i++) {
            double exact = Math.exp(x[i]);
            double ulps = Math.abs(e[i] - exact) / Math.ulp((float) exact);
            int k = i;
            assertTrue(ulps <= 2, () -> "exp(" + x[k] + ") = " + e[k] + ", exact " + exact + ": " + ulps + " ulp");
        }
    }

    @Test
    void expEdges() {
        float[] e = exp(0f, -0f, Float.NEGATIVE_INFINITY, -1000f, Float.NaN, -87f);
        assertEquals(1f, e[0], 0f);
        assertEquals(1f, e[1], 0f);
        assertTrue(e[2] >= 0 && e[2] < 2e-38f, "exp(-inf) is about 0: " + e[2]);
        assertTrue(e[3] >= 0 && e[3] < 2e-38f, "exp(-1000) is about 0: " + e[3]);
        assertTrue(Float.isNaN(e[4]), "NaN stays NaN");
        assertEquals(Math.exp(-87), e[5], 2 * Math.ulp((float) Math.exp(-87)));
    }

    /**
     * The score and value-sum kernels compute what a float64 reference computes, within float rounding:
     * at most {@code (n + 2) * 2^-24 * sum |terms|} for a sum of {@code n} products, so a lane lost or
     * counted twice by a reduction shows. Rows at a stride wider than the channels and from an offset
     * (the kernels must keep to {@code dim} channels of each row), odd row counts (an odd last row is
     * paired with itself), 1 to 8 channel vectors. A failure shrinks to the fewest vectors and rows; the
     * values are Gaussian, drawn from {@code seed}.
     */
    @Property(tries = 200)
    void kernelsMatchAFloat64Reference(@ForAll @IntRange(min = 1, max = 8) int vectors,
            @ForAll @IntRange(min = 1, max = 40) int rows, @ForAll @IntRange(max = 32) int off,
            @ForAll @IntRange(min = 1, max = 16) int pad, @ForAll long seed) {
        int dim = vectors * L;
        int stride = dim + pad; // rows padded: the kernels must keep to dim channels
        Random r = new Random(seed);
        float[] block = new float[off + rows * stride];
        for (int i = 0; i < block.length; i++) {
            block[i] = (float) r.nextGaussian();
        }
        float[] q = new float[4 * dim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) r.nextGaussian();
        }
        for (int tile : new int[] {4, 2, 1}) {
            float[] scores = new float[rows * tile + L];
            switch (tile) {
                case 4 -> BlockKernels.scores4(block, off, stride, rows, q, 0, dim, dim, scores, 0);
                case 2 -> BlockKernels.scores2(block, off, stride, rows, q, 0, dim, dim, scores, 0);
                default -> BlockKernels.scores1(block, off, stride, rows, q, 0, dim, scores, 0);
            }
            for (int i = 0; i < rows; i++) {
                for (int h = 0; h < tile; h++) {
                    double exact = 0;
                    double magnitude = 0;
                    for (int c = 0; c < dim; c++) {
                        double t = (double) q[h * dim + c] * block[off + i * stride + c];
                        exact += t;
                        magnitude += Math.abs(t);
                    }
                    assertEquals(exact, scores[i * tile + h], (dim + 2) * 0x1p-24 * magnitude,
                            "tile " + tile + ", row " + i + ", head " + h);
                }
            }
            float[] w = new float[rows * tile + L];
            for (int i = 0; i < rows * tile; i++) {
                w[i] = r.nextFloat();
            }
            float[] acc = new float[4 * dim];
            for (int i = 0; i < acc.length; i++) {
                acc[i] = i * 0.25f; // accumulate onto something
            }
            switch (tile) {
                case 4 -> BlockKernels.accumulate4(block, off, stride, rows, w, 0, dim, acc, 0, dim);
                case 2 -> BlockKernels.accumulate2(block, off, stride, rows, w, 0, dim, acc, 0, dim);
                default -> BlockKernels.accumulate1(block, off, stride, rows, w, 0, dim, acc, 0);
            }
            for (int h = 0; h < tile; h++) {
                for (int c = 0; c < dim; c++) {
                    double exact = (h * dim + c) * 0.25;
                    double magnitude = Math.abs(exact);
                    for (int i = 0; i < rows; i++) {
                        double t = (double) w[i * tile + h] * block[off + i * stride + c];
                        exact += t;
                        magnitude += Math.abs(t);
                    }
                    assertEquals(exact, acc[h * dim + c], (rows + 2) * 0x1p-24 * magnitude,
                            "tile " + tile + ", head " + h + ", channel " + c);
                }
            }
        }
    }
}

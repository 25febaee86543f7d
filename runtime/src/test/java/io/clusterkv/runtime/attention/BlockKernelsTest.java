package io.clusterkv.runtime.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The pieces of {@link BlockKernels} whose errors the attention tests would only see blurred. */
class BlockKernelsTest {

    private static final int L = BlockKernels.L;

    private static float[] exp(float... x) {
        float[] in = new float[BlockKernels.padded(x.length)];
        System.arraycopy(x, 0, in, 0, x.length);
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i += L) {
            BlockKernels.exp(FloatVector.fromArray(BlockKernels.F, in, i)).intoArray(out, i);
        }
        return out;
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

    @Test
    void sum4PutsTheFourSumsInTheFirstLanes() {
        float[] a = new float[4 * L];
        for (int i = 0; i < a.length; i++) {
            a[i] = i * 0.5f - 7;
        }
        float[] out = new float[L];
        BlockKernels.sum4(FloatVector.fromArray(BlockKernels.F, a, 0), FloatVector.fromArray(BlockKernels.F, a, L),
                FloatVector.fromArray(BlockKernels.F, a, 2 * L), FloatVector.fromArray(BlockKernels.F, a, 3 * L))
                .intoArray(out, 0);
        for (int r = 0; r < 4; r++) {
            double expected = 0;
            for (int j = 0; j < L; j++) {
                expected += a[r * L + j];
            }
            assertEquals(expected, out[r], 1e-4, "row " + r);
        }
    }
}

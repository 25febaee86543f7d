package io.clusterkv.runtime.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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
     * The kernels over staged {@code float[]} blocks and those over segments both compute the scores
     * and the weighted value sums of a float64 reference, within float rounding: at most
     * {@code (n + 2) * 2^-24 * sum |terms|} for a sum of {@code n} products. (They are not compared
     * with each other bit for bit: the segment kernels reduce a lone row with {@code reduceLanes},
     * whose order differs between C2 and the interpreter.) Rows at a stride wider than the channels,
     * odd row counts, 1 to 8 channel vectors.
     */
    @ParameterizedTest(name = "{0} vectors, {1} rows")
    @CsvSource({"1, 1", "1, 7", "2, 16", "3, 13", "4, 32", "5, 9", "6, 3", "8, 16"})
    void arrayAndSegmentKernelsMatchAFloat64Reference(int vectors, int rows) {
        int dim = vectors * L;
        int stride = dim + L; // rows padded: the kernels must keep to dim channels
        Random r = new Random(vectors * 31L + rows);
        float[] block = new float[rows * stride];
        for (int i = 0; i < block.length; i++) {
            block[i] = (float) r.nextGaussian();
        }
        float[] q = new float[4 * dim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) r.nextGaussian();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4L * block.length + 12, 64);
            MemorySegment.copy(block, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, 12, block.length); // unaligned too
            long bytes = 4L * stride;
            for (int tile : new int[] {4, 2, 1}) {
                float[] fromSeg = new float[rows * tile + L];
                float[] fromArray = new float[rows * tile + L];
                switch (tile) {
                    case 4 -> {
                        BlockKernels.scores4(seg, 12, bytes, rows, q, 0, dim, dim, fromSeg, 0);
                        BlockKernels.scores4(block, 0, stride, rows, q, 0, dim, dim, fromArray, 0);
                    }
                    case 2 -> {
                        BlockKernels.scores2(seg, 12, bytes, rows, q, 0, dim, dim, fromSeg, 0);
                        BlockKernels.scores2(block, 0, stride, rows, q, 0, dim, dim, fromArray, 0);
                    }
                    default -> {
                        BlockKernels.scores1(seg, 12, bytes, rows, q, 0, dim, fromSeg, 0);
                        BlockKernels.scores1(block, 0, stride, rows, q, 0, dim, fromArray, 0);
                    }
                }
                for (int i = 0; i < rows; i++) {
                    for (int h = 0; h < tile; h++) {
                        double exact = 0;
                        double magnitude = 0;
                        for (int c = 0; c < dim; c++) {
                            double t = (double) q[h * dim + c] * block[i * stride + c];
                            exact += t;
                            magnitude += Math.abs(t);
                        }
                        double tol = (dim + 2) * 0x1p-24 * magnitude;
                        String where = "tile " + tile + ", row " + i + ", head " + h;
                        assertEquals(exact, fromSeg[i * tile + h], tol, "segment kernel, " + where);
                        assertEquals(exact, fromArray[i * tile + h], tol, "array kernel, " + where);
                    }
                }
                float[] w = new float[rows * tile + L];
                for (int i = 0; i < rows * tile; i++) {
                    w[i] = r.nextFloat();
                }
                float[] accSeg = new float[4 * dim];
                float[] accArray = new float[4 * dim];
                for (int i = 0; i < accSeg.length; i++) {
                    accSeg[i] = accArray[i] = i * 0.25f; // accumulate onto something
                }
                switch (tile) {
                    case 4 -> {
                        BlockKernels.accumulate4(seg, 12, bytes, rows, w, 0, dim, accSeg, 0, dim);
                        BlockKernels.accumulate4(block, 0, stride, rows, w, 0, dim, accArray, 0, dim);
                    }
                    case 2 -> {
                        BlockKernels.accumulate2(seg, 12, bytes, rows, w, 0, dim, accSeg, 0, dim);
                        BlockKernels.accumulate2(block, 0, stride, rows, w, 0, dim, accArray, 0, dim);
                    }
                    default -> {
                        BlockKernels.accumulate1(seg, 12, bytes, rows, w, 0, dim, accSeg, 0);
                        BlockKernels.accumulate1(block, 0, stride, rows, w, 0, dim, accArray, 0);
                    }
                }
                for (int h = 0; h < tile; h++) {
                    for (int c = 0; c < dim; c++) {
                        double exact = (h * dim + c) * 0.25;
                        double magnitude = Math.abs(exact);
                        for (int i = 0; i < rows; i++) {
                            double t = (double) w[i * tile + h] * block[i * stride + c];
                            exact += t;
                            magnitude += Math.abs(t);
                        }
                        double tol = (rows + 2) * 0x1p-24 * magnitude;
                        String where = "tile " + tile + ", head " + h + ", channel " + c;
                        assertEquals(exact, accSeg[h * dim + c], tol, "segment kernel, " + where);
                        assertEquals(exact, accArray[h * dim + c], tol, "array kernel, " + where);
                    }
                }
            }
        }
    }
}

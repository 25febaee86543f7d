package io.clusterkv.runtime.tensor;

import io.clusterkv.runtime.model.fixtures.ReferenceBlocks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every weight type against the float64 reference of {@link ReferenceBlocks}: dequantizeRow and dot on
 * both the Vector API and the scalar kernels, over random blocks (random quants, negative scales) of
 * several shapes; then matvec and matmul (batch 1, 3, 17, with and without a pool) against per-row dot.
 */
class WeightMatrixTest {

    private static ForkJoinPool pool;
    /** A pool whose spinning team takes the products (the caller and two helpers claiming chunks). */
    private static ComputePool team;

    @BeforeAll
    static void startPool() {
        pool = new ForkJoinPool(3);
        team = new ComputePool(3, "test-compute", java.time.Duration.ofMillis(1));
    }

    @AfterAll
    static void stopPool() {
        pool.shutdownNow();
        team.shutdownNow();
    }

    record Case(BlockMatrix m, double[][] w) {
    }

    static Case randomMatrix(GgmlType type, int rows, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        long rowBytes = type.bytesFor(cols);
        byte[] all = new byte[(int) (rows * rowBytes)];
        double[][] w = new double[rows][];
        for (int r = 0; r < rows; r++) {
            byte[] row = ReferenceBlocks.randomRow(type, cols, rnd);
            System.arraycopy(row, 0, all, (int) (r * rowBytes), row.length);
            w[r] = ReferenceBlocks.dequantize(type, row, cols);
        }
        // an off-heap copy, as weights are in practice, at an odd base address
        MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate(all.length + 3L).asSlice(3, all.length);
        MemorySegment.copy(MemorySegment.ofArray(all), 0, seg, 0, all.length);
        return new Case((BlockMatrix) WeightMatrix.of(type, seg, rows, cols), w);
    }

    static float[] randomX(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return x;
    }

    /** Float accumulation over n terms: allow 1e-5 of the sum of magnitudes. */
    static void assertDot(double expected, double magnitude, float actual, String what) {
        double tol = 1e-5 * magnitude + 1e-30;
        assertTrue(Math.abs(expected - actual) <= tol,
                what + ": expected " + expected + " got " + actual + " (tolerance " + tol + ")");
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void dequantizeAndDotMatchReference(GgmlType type) {
        int rows = 5;
        for (int cols : ReferenceBlocks.colsFor(type)) {
            Case c = randomMatrix(type, rows, cols, 31L * cols + type.ordinal());
            int xOff = 5;
            float[] x = randomX(cols + xOff, cols);
            float[] v = new float[cols + 2];
            float[] s = new float[cols + 2];
            for (int r = 0; r < rows; r++) {
                c.m.dequantizeRow(r, v, 2);
                c.m.scalarDequantize(r * c.m.rowBytes, s, 2, cols);
                double[] ref = c.w[r];
                double max = 0;
                for (double e : ref) {
                    max = Math.max(max, Math.abs(e));
                }
                for (int i = 0; i < cols; i++) {
                    double tol = 1e-6 * max;
                    String at = type + " " + rows + "x" + cols + " row " + r + " col " + i;
                    assertTrue(Math.abs(ref[i] - v[i + 2]) <= tol, at + ": vector " + v[i + 2] + " vs " + ref[i]);
                    assertTrue(Math.abs(ref[i] - s[i + 2]) <= tol, at + ": scalar " + s[i + 2] + " vs " + ref[i]);
                }
                double dot = 0;
                double mag = 0;
                for (int i = 0; i < cols; i++) {
                    dot += ref[i] * x[xOff + i];
                    mag += Math.abs(ref[i] * x[xOff + i]);
                }
                String at = type + " " + rows + "x" + cols + " row " + r;
                assertDot(dot, mag, c.m.dot(r, x, xOff), at + " dot");
                assertDot(dot, mag, c.m.scalarDot(r * c.m.rowBytes, x, xOff), at + " scalar dot");
                if (BlockMatrix.VECTOR) {
                    assertDot(dot, mag, c.m.vectorDot(r * c.m.rowBytes, x, xOff), at + " vector dot");
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void matvecAndMatmulEqualPerRowDot(GgmlType type) {
        int cols = 256;
        // just over the parallel threshold, and a partial tile at the end
        int rows = (int) (BlockMatrix.MIN_PARALLEL_BYTES / type.bytesFor(cols)) / 4 * 4 + 5;
        Case c = randomMatrix(type, rows, cols, 7 + type.ordinal());
        assertTrue(rows * c.m.rowBytes >= BlockMatrix.MIN_PARALLEL_BYTES);
        for (ForkJoinPool p : new ForkJoinPool[] {null, pool, team}) {
            float[] x = randomX(cols, 99);
            float[] out = new float[rows];
            c.m.matvec(x, out, p);
            assertRowsMatch(c, x, 1, out, type + " matvec, pool " + p);
            for (int batch : new int[] {1, 3, 17}) {
                float[] xb = randomX(batch * cols, batch);
                float[] ob = new float[batch * rows];
                c.m.matmul(xb, batch, ob, p);
                assertRowsMatch(c, xb, batch, ob, type + " matmul batch " + batch + ", pool " + p);
            }
        }
        if (!sameOperationsAsDot(type)) {
            return; // its rows agree with the reference to float accuracy (above), not with dot's operations
        }
        // matvec is the per-row dot, up to the order of the final lane sum
        float[] x = randomX(cols, 5);
        float[] out = new float[rows];
        c.m.matvec(x, out, pool);
        for (int r = 0; r < rows; r += 50) {
            assertSameDot(c, r, x, c.m.dot(r, x, 0), out[r], type + " matvec row " + r);
        }
    }

    /**
     * @return whether matvec does per row the float operations of {@code dot}: not Q4_K, whose row groups
     *         take the sums of {@code x} per sub-block once per product (the min term) and split the
     *         nibbles in 32-bit lanes
     */
    private static boolean sameOperationsAsDot(GgmlType type) {
        return type != GgmlType.Q4_K;
    }

    /** The packed scales and mins of a Q4_K block, unpacked eight at a time, against ggml's one-by-one rule. */
    @Test
    void q4_KScalesUnpackAsScaleMin() {
        if (!BlockMatrix.VECTOR) {
            return;
        }
        SplittableRandom rnd = new SplittableRandom(12);
        MemorySegment seg = java.lang.foreign.Arena.ofAuto().allocate(13).asSlice(1, 12); // odd address
        for (int t = 0; t < 2000; t++) {
            for (int i = 0; i < 12; i++) {
                seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt(256));
            }
            long lo = seg.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 0);
            int u2 = seg.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 8);
            long scales = VectorKernels.q4_KScales(lo, u2, false);
            long mins = VectorKernels.q4_KScales(lo, u2, true);
            for (int j = 0; j < 8; j++) {
                int sm = Q4_KMatrix.scaleMin(seg, 0, j);
                assertEquals(sm & 0xff, (int) (scales >>> (8 * j)) & 0xff, "scale " + j);
                assertEquals(sm >>> 8, (int) (mins >>> (8 * j)) & 0xff, "min " + j);
            }
        }
    }

    /**
     * The batched product against a naive float64 product for shapes that do not fit its blocking:
     * rows not a multiple of the micro-kernel's {@value BlockMatrix#GEMM_ROWS} nor of a tile, batches
     * that fill one to four vectors of a panel and more than one panel, columns over
     * {@value BlockMatrix#TILE_COLS} (two column blocks) and, for F32 and F16, not a multiple of the
     * vector lanes; on the calling thread and on a pool. Each output is a float sum of {@code cols}
     * products of dequantized weights, so it is within {@code (cols + 2) · 2^-24 · Σ|w·x|} of the
     * float64 product; nothing is written past the output.
     */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void matmulMatchesFloat64ForOddShapes(GgmlType type) {
        int[] colsList = switch (type.blockSize()) {
            case 1 -> new int[] {37, 530};
            case 32 -> new int[] {96, 544};
            default -> new int[] {256, 768};
        };
        for (int cols : colsList) {
            int parallelRows = (int) (BlockMatrix.MIN_PARALLEL_BYTES / type.bytesFor(cols)) + 7;
            for (int rows : new int[] {1, 5, 13, 50, parallelRows}) {
                Case c = randomMatrix(type, rows, cols, 17L * rows + cols + type.ordinal());
                for (int batch : new int[] {2, 5, 17, 40, 70}) {
                    float[] x = randomX(batch * cols, 3L * batch + cols);
                    for (ForkJoinPool p : new ForkJoinPool[] {null, pool, team}) {
                        float[] out = new float[batch * rows + 1];
                        out[batch * rows] = 12345; // past the end: untouched
                        c.m.matmul(x, batch, out, p);
                        String what = type + " " + rows + "x" + cols + " batch " + batch + ", pool " + p;
                        assertEquals(12345, out[batch * rows], what + ": wrote past the end");
                        assertRowsMatch(c, x, batch, out, what, (cols + 2) * 0x1p-24 * 1.001);
                    }
                }
            }
        }
    }

    /**
     * matvec and dot do the same float operations per row except for the order in which the lanes of
     * the last vector are summed: the Vector API leaves the order of {@code reduceLanes(ADD)} open, and
     * C2 and the interpreter take different ones (a multi-row kernel and the single-row one may run in
     * different tiers). Two orders of summing n terms differ by at most {@code 2 (n - 1) u Σ|a_i|}
     * (u = 2^-24); the lanes' magnitudes sum to at most {@code Σ|w·x|} (plus rounding), and n ≤ 16
     * lanes, so: {@code |matvec - dot| ≤ 30 · 2^-24 · Σ|w·x|}, about 1.8e-6 of it.
     */
    private static void assertSameDot(Case c, int r, float[] x, float dot, float matvec, String what) {
        double mag = 0;
        for (int i = 0; i < c.w[r].length; i++) {
            mag += Math.abs(c.w[r][i] * x[i]);
        }
        double tol = 30 * 0x1p-24 * mag * 1.001 + 1e-30;
        assertTrue(Math.abs(dot - matvec) <= tol, what + ": dot " + dot + ", matvec " + matvec + " (tolerance " + tol
                + ")");
    }

    /**
     * matvec takes rows of Q8_0, Q4_0 and Q4_K in groups of {@link VectorKernels#ROWS}, one from each
     * quarter of a range, and the rest one by one: row counts around the group size, on the calling
     * thread and on a pool, each row its {@code dot} (see {@link #assertSameDot}; Q8_0 and Q4_0) and
     * within float accuracy of the float64 reference (every type), nothing written past the rows.
     */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void matvecRowGroupsAndRemaindersEqualDot(GgmlType type) {
        int cols = ReferenceBlocks.colsFor(type)[1];
        for (int rows : new int[] {1, 2, 3, 4, 5, 7, 8, 9, 13}) {
            Case c = randomMatrix(type, rows, cols, 1000L * rows + type.ordinal());
            float[] x = randomX(cols, rows);
            for (ForkJoinPool p : new ForkJoinPool[] {null, pool, team}) {
                float[] out = new float[rows + 1];
                out[rows] = 12345; // past the end: untouched
                c.m.matvec(x, out, p);
                assertEquals(12345, out[rows], type + " " + rows + " rows: wrote past the end");
                for (int r = 0; r < rows && sameOperationsAsDot(type); r++) {
                    assertSameDot(c, r, x, c.m.dot(r, x, 0), out[r], type + " " + rows + "x" + cols + " row " + r
                            + ", pool " + p);
                }
                assertRowsMatch(c, x, 1, out, type + " " + rows + " rows, pool " + p);
            }
        }
    }

    /** {@code out[b, r]} against the float64 product of the reference rows, within {@link #assertDot}'s tolerance. */
    private static void assertRowsMatch(Case c, float[] x, int batch, float[] out, String what) {
        assertRowsMatch(c, x, batch, out, what, 1e-5);
    }

    /**
     * {@code out[b, r]} against the float64 product of the reference rows, within {@code relative} times
     * the sum of the products' magnitudes.
     */
    private static void assertRowsMatch(Case c, float[] x, int batch, float[] out, String what, double relative) {
        int rows = c.w.length;
        int cols = c.w[0].length;
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double dot = 0;
                double mag = 0;
                for (int i = 0; i < cols; i++) {
                    double t = c.w[r][i] * x[b * cols + i];
                    dot += t;
                    mag += Math.abs(t);
                }
                double tol = relative * mag + 1e-30;
                float got = out[b * rows + r];
                assertTrue(Math.abs(dot - got) <= tol, what + " b " + b + " row " + r + ": expected " + dot + " got "
                        + got + " (tolerance " + tol + ")");
            }
        }
    }

    @Test
    void f16SpecialValuesWiden() {
        short[] halves = {0, (short) 0x8000, 1, (short) 0x8001, 0x03ff, 0x0400, 0x3c00, (short) 0xbc00, 0x7bff,
                0x7c00, (short) 0xfc00, 0x7e00, 0x7c01, (short) 0xfe00, 0x3555, 0x1234};
        byte[] b = new byte[2 * halves.length];
        for (int i = 0; i < halves.length; i++) {
            b[2 * i] = (byte) halves[i];
            b[2 * i + 1] = (byte) (halves[i] >> 8);
        }
        WeightMatrix m = WeightMatrix.of(GgmlType.F16, MemorySegment.ofArray(b).asReadOnly(), 1, halves.length);
        float[] out = new float[halves.length];
        m.dequantizeRow(0, out, 0);
        for (int i = 0; i < halves.length; i++) {
            float expected = Float.float16ToFloat(halves[i]);
            assertEquals(Float.floatToIntBits(expected), Float.floatToIntBits(out[i]),
                    "half 0x" + Integer.toHexString(halves[i] & 0xffff) + ": " + expected + " vs " + out[i]);
        }
    }

    @Test
    void ofRejectsBadShapesNamingTheSizes() {
        MemorySegment small = MemorySegment.ofArray(new byte[34]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WeightMatrix.of(GgmlType.Q8_0, small, 2, 32));
        assertTrue(e.getMessage().contains("68 bytes") && e.getMessage().contains("34"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(GgmlType.Q4_K, small, 1, 32));
        assertTrue(e.getMessage().contains("block size 256"), e.getMessage());
        // sizes past 2^31 are computed in long: 300000 rows of 8192 F32 take 9830400000 bytes
        e = assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(GgmlType.F32, small, 300_000, 8192));
        assertTrue(e.getMessage().contains("9830400000"), e.getMessage());
    }

    @Test
    void rowOffsetsAreLong() {
        // the last row of a 2^20 x 4096 Q8_0 matrix starts past 2^31
        long rowBytes = GgmlType.Q8_0.bytesFor(4096);
        assertEquals(4352L * ((1 << 20) - 1), BlockMatrix.rowOffset((1 << 20) - 1, rowBytes));
        assertTrue(BlockMatrix.rowOffset((1 << 20) - 1, rowBytes) > Integer.MAX_VALUE);
    }

    @Test
    void productsRejectShortArrays() {
        Case c = randomMatrix(GgmlType.Q4_0, 4, 64, 1);
        assertThrows(IllegalArgumentException.class, () -> c.m.matvec(new float[63], new float[4], null));
        assertThrows(IllegalArgumentException.class, () -> c.m.matvec(new float[64], new float[3], null));
        assertThrows(IllegalArgumentException.class, () -> c.m.matmul(new float[64 * 2], 3, new float[12], null));
        assertThrows(IndexOutOfBoundsException.class, () -> c.m.dot(4, new float[64], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> c.m.dot(0, new float[64], 1));
    }
}

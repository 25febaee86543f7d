package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Q4_0 weights: each row {@code cols / 32} blocks of {@code f16 d, qs[16]}; element {@code j < 16} is
 * the low nibble of {@code qs[j]}, element {@code j + 16} its high nibble; x = d·(q − 8) ({@link NibbleLevelMatrix}).
 */
final class Q4_0Matrix extends NibbleLevelMatrix {

    /** The level of each nibble: {@code q − 8}. */
    private static final byte[] LEVELS = {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7};

    Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, LEVELS);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    float vectorDot(long rowOffset, float[] x, int xOff) {
        return VectorKernels.q4_0Dot(data, rowOffset, x, xOff, cols);
    }

    @Override
    int rowGroup() {
        return VectorKernels.ROWS;
    }

    @Override
    void vectorDots(long rowOffset, long rowStride, float[] x, float[] xs, float[] out, int o, int outStride) {
        VectorKernels.q4_0Dots2(data, rowOffset, rowStride, x, 0, cols, out, o, outStride);
        VectorKernels.q4_0Dots2(data, rowOffset + 2 * rowStride, rowStride, x, 0, cols, out, o + 2 * outStride,
                outStride);
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off, int n) {
        VectorKernels.q4_0Dequantize(data, rowOffset, dst, off, n);
    }
}

package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/**
 * IQ4_NL weights: each row {@code cols / 32} blocks of {@code f16 d, qs[16]}; element {@code j < 16} is
 * the low nibble of {@code qs[j]}, element {@code j + 16} its high nibble (Q4_0's layout, {@link NibbleLevelMatrix}); x = d·T[q]
 * with ggml's non-linear table {@link #LEVELS} ({@code kvalues_iq4nl}). The vector kernels look the
 * levels up with a byte shuffle of a 16-byte table; the products take rows one by one.
 */
final class IQ4_NLMatrix extends NibbleLevelMatrix {

    /** ggml's {@code kvalues_iq4nl}: the level of each nibble. */
    static final byte[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    IQ4_NLMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols, LEVELS);
    }

    @Override
    public GgmlType type() {
        return GgmlType.IQ4_NL;
    }

    @Override
    float vectorDot(long rowOffset, float[] x, int xOff) {
        return VectorKernels.iq4_nlDot(data, rowOffset, x, xOff, cols);
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off, int n) {
        VectorKernels.iq4_nlDequantize(data, rowOffset, dst, off, n);
    }
}

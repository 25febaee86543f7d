package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/** BF16 weights: {@code (rows, cols)} little-endian bfloat16 (the high half of a binary32). */
final class BF16Matrix extends BlockMatrix {

    BF16Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    private float at(long rowOffset, int c) {
        return Float.intBitsToFloat(data.get(SHORT, rowOffset + 2L * c) << 16);
    }

    @Override
    float scalarDot(long rowOffset, float[] x, int xOff) {
        float s = 0;
        for (int c = 0; c < cols; c++) {
            s += at(rowOffset, c) * x[xOff + c];
        }
        return s;
    }

    @Override
    void scalarDequantize(long rowOffset, float[] dst, int off) {
        for (int c = 0; c < cols; c++) {
            dst[off + c] = at(rowOffset, c);
        }
    }

    @Override
    float vectorDot(long rowOffset, float[] x, int xOff) {
        return VectorKernels.halfDot(data, rowOffset, x, xOff, cols, true);
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off) {
        VectorKernels.halfDequantize(data, rowOffset, dst, off, cols, true);
    }
}

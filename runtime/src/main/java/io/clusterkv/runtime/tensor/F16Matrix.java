package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/** F16 weights: {@code (rows, cols)} little-endian IEEE binary16. */
final class F16Matrix extends BlockMatrix {

    F16Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    private float at(long rowOffset, int c) {
        return Float.float16ToFloat(data.get(SHORT, rowOffset + 2L * c));
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
        return VectorKernels.halfDot(data, rowOffset, x, xOff, cols, false);
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off) {
        VectorKernels.halfDequantize(data, rowOffset, dst, off, cols, false);
    }
}

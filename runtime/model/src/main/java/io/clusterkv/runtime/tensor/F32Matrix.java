package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/** F32 weights: {@code (rows, cols)} little-endian binary32. */
final class F32Matrix extends BlockMatrix {

    F32Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    float scalarDot(long rowOffset, float[] x, int xOff) {
        float s = 0;
        for (int c = 0; c < cols; c++) {
            s += data.get(FLOAT, rowOffset + 4L * c) * x[xOff + c];
        }
        return s;
    }

    @Override
    void scalarDequantize(long rowOffset, float[] dst, int off, int n) {
        MemorySegment.copy(data, FLOAT, rowOffset, dst, off, n);
    }

    @Override
    float vectorDot(long rowOffset, float[] x, int xOff) {
        return VectorKernels.f32Dot(data, rowOffset, x, xOff, cols);
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off, int n) {
        MemorySegment.copy(data, FLOAT, rowOffset, dst, off, n);
    }
}

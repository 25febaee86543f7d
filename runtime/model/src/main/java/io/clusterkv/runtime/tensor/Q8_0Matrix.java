package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/** Q8_0 weights: each row {@code cols / 32} blocks of {@code f16 d, int8 qs[32]}; x = d·q. */
final class Q8_0Matrix extends BlockMatrix {

    Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    float scalarDot(long rowOffset, float[] x, int xOff) {
        float s = 0;
        long o = rowOffset;
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 32, o += 34) {
            float b = 0;
            for (int j = 0; j < 32; j++) {
                b += data.get(BYTE, o + 2 + j) * x[xi + j];
            }
            s += f16(data, o) * b;
        }
        return s;
    }

    @Override
    void scalarDequantize(long rowOffset, float[] dst, int off, int n) {
        long o = rowOffset;
        for (int di = off, end = off + n; di < end; di += 32, o += 34) {
            float d = f16(data, o);
            for (int j = 0; j < 32; j++) {
                dst[di + j] = d * data.get(BYTE, o + 2 + j);
            }
        }
    }

    @Override
    float vectorDot(long rowOffset, float[] x, int xOff) {
        return VectorKernels.q8_0Dot(data, rowOffset, x, xOff, cols);
    }

    @Override
    int rowGroup() {
        return VectorKernels.ROWS;
    }

    @Override
    void vectorDots(long rowOffset, long rowStride, float[] x, float[] xs, float[] out, int o, int outStride) {
        VectorKernels.q8_0Dots(data, rowOffset, rowStride, x, 0, cols, out, o, outStride);
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off, int n) {
        VectorKernels.q8_0Dequantize(data, rowOffset, dst, off, n);
    }
}

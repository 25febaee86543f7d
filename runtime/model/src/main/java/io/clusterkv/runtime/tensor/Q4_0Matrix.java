package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Q4_0 weights: each row {@code cols / 32} blocks of {@code f16 d, qs[16]}; element {@code j < 16} is
 * the low nibble of {@code qs[j]}, element {@code j + 16} its high nibble; x = d·(q − 8).
 */
final class Q4_0Matrix extends BlockMatrix {

    Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    float scalarDot(long rowOffset, float[] x, int xOff) {
        float s = 0;
        long o = rowOffset;
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 32, o += 18) {
            float b = 0;
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, o + 2 + j);
                b += ((q & 0x0f) - 8) * x[xi + j] + (((q >> 4) & 0x0f) - 8) * x[xi + 16 + j];
            }
            s += f16(data, o) * b;
        }
        return s;
    }

    @Override
    void scalarDequantize(long rowOffset, float[] dst, int off, int n) {
        long o = rowOffset;
        for (int di = off, end = off + n; di < end; di += 32, o += 18) {
            float d = f16(data, o);
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, o + 2 + j);
                dst[di + j] = d * ((q & 0x0f) - 8);
                dst[di + 16 + j] = d * (((q >> 4) & 0x0f) - 8);
            }
        }
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

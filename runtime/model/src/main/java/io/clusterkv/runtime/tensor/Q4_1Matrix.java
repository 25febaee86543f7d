package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Q4_1 weights: each row {@code cols / 32} blocks of {@code f16 d, f16 m, qs[16]}; element {@code j < 16}
 * is the low nibble of {@code qs[j]}, element {@code j + 16} its high nibble; x = d·q + m.
 */
final class Q4_1Matrix extends BlockMatrix {

    Q4_1Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_1;
    }

    @Override
    float scalarDot(long rowOffset, float[] x, int xOff) {
        float s = 0;
        long o = rowOffset;
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 32, o += 20) {
            float qx = 0;
            float xs = 0;
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, o + 4 + j) & 0xff;
                qx += (q & 0x0f) * x[xi + j] + (q >> 4) * x[xi + 16 + j];
                xs += x[xi + j] + x[xi + 16 + j];
            }
            s += f16(data, o) * qx + f16(data, o + 2) * xs;
        }
        return s;
    }

    @Override
    void scalarDequantize(long rowOffset, float[] dst, int off, int n) {
        long o = rowOffset;
        for (int di = off, end = off + n; di < end; di += 32, o += 20) {
            float d = f16(data, o);
            float m = f16(data, o + 2);
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, o + 4 + j) & 0xff;
                dst[di + j] = d * (q & 0x0f) + m;
                dst[di + 16 + j] = d * (q >> 4) + m;
            }
        }
    }

    @Override
    float vectorDot(long rowOffset, float[] x, int xOff) {
        return VectorKernels.q4_1Dot(data, rowOffset, x, xOff, cols);
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off, int n) {
        VectorKernels.q4_1Dequantize(data, rowOffset, dst, off, n);
    }
}

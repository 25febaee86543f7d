package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Q5_1 weights: each row {@code cols / 32} blocks of {@code f16 d, f16 m, qh[4], qs[16]}, the quants laid
 * out as Q5_0's; x = d·q + m.
 */
final class Q5_1Matrix extends BlockMatrix {

    Q5_1Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_1;
    }

    @Override
    float scalarDot(long rowOffset, float[] x, int xOff) {
        float s = 0;
        long o = rowOffset;
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 32, o += 24) {
            int qh = data.get(INT, o + 4);
            float qx = 0;
            float xs = 0;
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, o + 8 + j) & 0xff;
                int lo = (q & 0x0f) | ((qh >>> j) & 1) << 4;
                int hi = (q >> 4) | ((qh >>> (j + 16)) & 1) << 4;
                qx += lo * x[xi + j] + hi * x[xi + 16 + j];
                xs += x[xi + j] + x[xi + 16 + j];
            }
            s += f16(data, o) * qx + f16(data, o + 2) * xs;
        }
        return s;
    }

    @Override
    void scalarDequantize(long rowOffset, float[] dst, int off, int n) {
        long o = rowOffset;
        for (int di = off, end = off + n; di < end; di += 32, o += 24) {
            float d = f16(data, o);
            float m = f16(data, o + 2);
            int qh = data.get(INT, o + 4);
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, o + 8 + j) & 0xff;
                dst[di + j] = d * ((q & 0x0f) | ((qh >>> j) & 1) << 4) + m;
                dst[di + 16 + j] = d * ((q >> 4) | ((qh >>> (j + 16)) & 1) << 4) + m;
            }
        }
    }

    @Override
    float vectorDot(long rowOffset, float[] x, int xOff) {
        return VectorKernels.q5Dot(data, rowOffset, x, xOff, cols, true);
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off, int n) {
        VectorKernels.q5Dequantize(data, rowOffset, dst, off, n, true);
    }
}

package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Q5_0 weights: each row {@code cols / 32} blocks of {@code f16 d, qh[4], qs[16]}: {@code qh} is a
 * little-endian 32-bit word holding the fifth bit of element {@code j} in bit {@code j}; element
 * {@code j < 16} takes the low nibble of {@code qs[j]}, element {@code j + 16} its high nibble;
 * x = d·(q − 16).
 */
final class Q5_0Matrix extends BlockMatrix {

    Q5_0Matrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_0;
    }

    @Override
    float scalarDot(long rowOffset, float[] x, int xOff) {
        float s = 0;
        long o = rowOffset;
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 32, o += 22) {
            int qh = data.get(INT, o + 2);
            float b = 0;
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, o + 6 + j) & 0xff;
                int lo = ((q & 0x0f) | ((qh >>> j) & 1) << 4) - 16;
                int hi = ((q >> 4) | ((qh >>> (j + 16)) & 1) << 4) - 16;
                b += lo * x[xi + j] + hi * x[xi + 16 + j];
            }
            s += f16(data, o) * b;
        }
        return s;
    }

    @Override
    void scalarDequantize(long rowOffset, float[] dst, int off, int n) {
        long o = rowOffset;
        for (int di = off, end = off + n; di < end; di += 32, o += 22) {
            float d = f16(data, o);
            int qh = data.get(INT, o + 2);
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, o + 6 + j) & 0xff;
                dst[di + j] = d * (((q & 0x0f) | ((qh >>> j) & 1) << 4) - 16);
                dst[di + 16 + j] = d * (((q >> 4) | ((qh >>> (j + 16)) & 1) << 4) - 16);
            }
        }
    }

    @Override
    float vectorDot(long rowOffset, float[] x, int xOff) {
        return VectorKernels.q5Dot(data, rowOffset, x, xOff, cols, false);
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off, int n) {
        VectorKernels.q5Dequantize(data, rowOffset, dst, off, n, false);
    }
}

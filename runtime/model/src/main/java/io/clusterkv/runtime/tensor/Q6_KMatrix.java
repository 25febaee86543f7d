package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Q6_K weights: each row {@code cols / 256} blocks of 210 bytes: {@code ql[128]} (low 4 bits),
 * {@code qh[64]} (high 2 bits), {@code int8 scales[16]} (one per sub-block of 16), {@code f16 d}.
 * In each half {@code n} of 128 elements and for {@code l < 32}, with {@code ql' = ql + 64n},
 * {@code qh' = qh + 32n}: element {@code l} is {@code ql'[l] & 15 | (qh'[l] & 3) << 4}, element
 * {@code l + 32} is {@code ql'[l + 32] & 15 | (qh'[l] >> 2 & 3) << 4}, element {@code l + 64} is
 * {@code ql'[l] >> 4 | (qh'[l] >> 4 & 3) << 4} and element {@code l + 96} is
 * {@code ql'[l + 32] >> 4 | (qh'[l] >> 6) << 4}; x = d·scale·(q − 32).
 */
final class Q6_KMatrix extends BlockMatrix {

    Q6_KMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q6_K;
    }

    /** @return the 6-bit value of element {@code e < 256} of the block at {@code o}, minus 32 */
    private int quant(long o, int e) {
        int n = e / 128;
        int k = (e % 128) / 32;
        int l = e % 32;
        int ql = data.get(BYTE, o + 64 * n + l + 32 * (k & 1)) & 0xff;
        int qh = data.get(BYTE, o + 128 + 32 * n + l) & 0xff;
        return ((k < 2 ? ql & 0x0f : ql >> 4) | ((qh >> (2 * k)) & 3) << 4) - 32;
    }

    /** @return the signed scale of element {@code e} of the block at {@code o} */
    private int scale(long o, int e) {
        return data.get(BYTE, o + 192 + 8 * (e / 128) + (e % 32) / 16 + 2 * ((e % 128) / 32));
    }

    @Override
    float scalarDot(long rowOffset, float[] x, int xOff) {
        float s = 0;
        long o = rowOffset;
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 256, o += 210) {
            float d = f16(data, o + 208);
            for (int sub = 0; sub < 256; sub += 16) {
                float qx = 0;
                for (int e = sub; e < sub + 16; e++) {
                    qx += quant(o, e) * x[xi + e];
                }
                s += d * scale(o, sub) * qx;
            }
        }
        return s;
    }

    @Override
    void scalarDequantize(long rowOffset, float[] dst, int off, int n) {
        long o = rowOffset;
        for (int di = off, end = off + n; di < end; di += 256, o += 210) {
            float d = f16(data, o + 208);
            for (int e = 0; e < 256; e++) {
                dst[di + e] = d * scale(o, e) * quant(o, e);
            }
        }
    }

    @Override
    float vectorDot(long rowOffset, float[] x, int xOff) {
        return VectorKernels.q6_KDot(data, rowOffset, x, xOff, cols);
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off, int n) {
        VectorKernels.q6_KDequantize(data, rowOffset, dst, off, n);
    }
}

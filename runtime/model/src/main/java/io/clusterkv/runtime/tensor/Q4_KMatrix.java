package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Q4_K weights: each row {@code cols / 256} blocks of 144 bytes: {@code f16 d, f16 dmin}, 12 bytes of
 * packed 6-bit scales and mins for 8 sub-blocks of 32, then {@code qs[128]}. Bytes {@code 32j..32j+31}
 * of {@code qs} hold sub-block {@code 2j} in their low nibbles and sub-block {@code 2j + 1} in their
 * high nibbles; x = d·sc·q − dmin·m.
 */
final class Q4_KMatrix extends BlockMatrix {

    Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    /**
     * Unpacks sub-block {@code j}'s 6-bit scale and min (ggml's {@code get_scale_min_k4}): for
     * {@code j < 4}, the low 6 bits of bytes {@code j} and {@code j + 4}; otherwise the low nibble
     * (scale) or high nibble (min) of byte {@code j + 4}, with the top two bits of byte {@code j - 4}
     * (scale) or {@code j} (min) above it.
     *
     * @return {@code scale | min << 8}
     */
    static int scaleMin(MemorySegment seg, long scales, int j) {
        int sc;
        int m;
        if (j < 4) {
            sc = seg.get(BYTE, scales + j) & 63;
            m = seg.get(BYTE, scales + j + 4) & 63;
        } else {
            int b = seg.get(BYTE, scales + j + 4) & 0xff;
            sc = (b & 0x0f) | (((seg.get(BYTE, scales + j - 4) & 0xff) >> 6) << 4);
            m = (b >> 4) | (((seg.get(BYTE, scales + j) & 0xff) >> 6) << 4);
        }
        return sc | m << 8;
    }

    @Override
    float scalarDot(long rowOffset, float[] x, int xOff) {
        float s = 0;
        long o = rowOffset;
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 256, o += 144) {
            float d = f16(data, o);
            float dmin = f16(data, o + 2);
            for (int sub = 0; sub < 8; sub++) {
                int sm = scaleMin(data, o + 4, sub);
                long qs = o + 16 + 32L * (sub / 2);
                int shift = 4 * (sub & 1);
                int xb = xi + 32 * sub;
                float qx = 0;
                float xs = 0;
                for (int l = 0; l < 32; l++) {
                    int q = ((data.get(BYTE, qs + l) & 0xff) >> shift) & 0x0f;
                    qx += q * x[xb + l];
                    xs += x[xb + l];
                }
                s += d * (sm & 0xff) * qx - dmin * (sm >>> 8) * xs;
            }
        }
        return s;
    }

    @Override
    void scalarDequantize(long rowOffset, float[] dst, int off, int n) {
        long o = rowOffset;
        for (int di = off, end = off + n; di < end; di += 256, o += 144) {
            float d = f16(data, o);
            float dmin = f16(data, o + 2);
            for (int sub = 0; sub < 8; sub++) {
                int sm = scaleMin(data, o + 4, sub);
                float ds = d * (sm & 0xff);
                float m = dmin * (sm >>> 8);
                long qs = o + 16 + 32L * (sub / 2);
                int shift = 4 * (sub & 1);
                for (int l = 0; l < 32; l++) {
                    dst[di + 32 * sub + l] = ds * (((data.get(BYTE, qs + l) & 0xff) >> shift) & 0x0f) - m;
                }
            }
        }
    }

    @Override
    float vectorDot(long rowOffset, float[] x, int xOff) {
        return VectorKernels.q4_KDot(data, rowOffset, x, xOff, cols);
    }

    @Override
    int rowGroup() {
        return VectorKernels.ROWS;
    }

    @Override
    float[] vectorInputSums(float[] x) {
        float[] xs = inputSums(cols / 32);
        VectorKernels.subBlockSums(x, cols, 32, xs);
        return xs;
    }

    @Override
    void vectorDots(long rowOffset, long rowStride, float[] x, float[] xs, float[] out, int o, int outStride) {
        VectorKernels.q4_KDots(data, rowOffset, rowStride, x, xs, cols, out, o, outStride);
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off, int n) {
        VectorKernels.q4_KDequantize(data, rowOffset, dst, off, n);
    }
}

package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Q5_K weights: each row {@code cols / 256} blocks of 176 bytes: {@code f16 d, f16 dmin}, 12 bytes of
 * packed 6-bit scales and mins for 8 sub-blocks of 32 (as Q4_K's), {@code qh[32]}, then {@code qs[128]}.
 * Bytes {@code 32j..32j+31} of {@code qs} hold sub-block {@code 2j} in their low nibbles and sub-block
 * {@code 2j + 1} in their high nibbles; bit {@code s} of {@code qh[l]} is the fifth bit of element
 * {@code l} of sub-block {@code s}; x = d·sc·q − dmin·m.
 */
final class Q5_KMatrix extends BlockMatrix {

    Q5_KMatrix(MemorySegment data, int rows, int cols) {
        super(data, rows, cols);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_K;
    }

    private int quant(long o, int sub, int l) {
        int q = ((data.get(BYTE, o + 48 + 32L * (sub / 2) + l) & 0xff) >> (4 * (sub & 1))) & 0x0f;
        return q | (((data.get(BYTE, o + 16 + l) & 0xff) >> sub) & 1) << 4;
    }

    @Override
    float scalarDot(long rowOffset, float[] x, int xOff) {
        float s = 0;
        long o = rowOffset;
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 256, o += 176) {
            float d = f16(data, o);
            float dmin = f16(data, o + 2);
            for (int sub = 0; sub < 8; sub++) {
                int sm = Q4_KMatrix.scaleMin(data, o + 4, sub);
                int xb = xi + 32 * sub;
                float qx = 0;
                float xs = 0;
                for (int l = 0; l < 32; l++) {
                    qx += quant(o, sub, l) * x[xb + l];
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
        for (int di = off, end = off + n; di < end; di += 256, o += 176) {
            float d = f16(data, o);
            float dmin = f16(data, o + 2);
            for (int sub = 0; sub < 8; sub++) {
                int sm = Q4_KMatrix.scaleMin(data, o + 4, sub);
                float ds = d * (sm & 0xff);
                float m = dmin * (sm >>> 8);
                for (int l = 0; l < 32; l++) {
                    dst[di + 32 * sub + l] = ds * quant(o, sub, l) - m;
                }
            }
        }
    }

    /** A block's dequantized values and a segment view of them, per thread. */
    private record Scratch(float[] values, MemorySegment segment) {
        Scratch() {
            this(new float[256]);
        }

        private Scratch(float[] values) {
            this(values, MemorySegment.ofArray(values));
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Block by block: dequantized into the thread's scratch (it stays in L1), then an F32 dot (see VectorKernels). */
    @Override
    float vectorDot(long rowOffset, float[] x, int xOff) {
        Scratch scratch = SCRATCH.get();
        float s = 0;
        long o = rowOffset;
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 256, o += 176) {
            VectorKernels.q5_KDequantize(data, o, scratch.values(), 0, 256);
            s += VectorKernels.f32Dot(scratch.segment(), 0, x, xi, 256);
        }
        return s;
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off, int n) {
        VectorKernels.q5_KDequantize(data, rowOffset, dst, off, n);
    }
}

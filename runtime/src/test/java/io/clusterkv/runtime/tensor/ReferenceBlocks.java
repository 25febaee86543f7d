package io.clusterkv.runtime.tensor;

import java.util.SplittableRandom;

/**
 * Random stored rows of every {@link GgmlType} and an independent float64 dequantizer written from the
 * ggml block layouts (ggml-common.h / ggml-quants.c {@code dequantize_row_*}), for the tests.
 */
final class ReferenceBlocks {

    private ReferenceBlocks() {
    }

    static int u8(byte[] b, int i) {
        return b[i] & 0xff;
    }

    static double half(byte[] b, int i) {
        return Float.float16ToFloat((short) (u8(b, i) | u8(b, i + 1) << 8));
    }

    static void putHalf(byte[] b, int i, float v) {
        short h = Float.floatToFloat16(v);
        b[i] = (byte) h;
        b[i + 1] = (byte) (h >> 8);
    }

    /** A random finite scale in ±[2^-8, 2), negative half the time. */
    static float scale(SplittableRandom rnd) {
        float m = (float) Math.scalb(1 + rnd.nextDouble(), -rnd.nextInt(9));
        return rnd.nextBoolean() ? -m : m;
    }

    /** @return {@code type.bytesFor(cols)} random bytes: random quants, random signed finite scales */
    static byte[] randomRow(GgmlType type, int cols, SplittableRandom rnd) {
        byte[] b = new byte[(int) type.bytesFor(cols)];
        rnd.nextBytes(b);
        int blocks = cols / type.blockSize();
        for (int k = 0; k < blocks; k++) {
            int o = k * type.blockBytes();
            switch (type) {
                case F32 -> {
                    int bits = Float.floatToRawIntBits((float) (rnd.nextDouble() * 4 - 2));
                    for (int i = 0; i < 4; i++) {
                        b[o + i] = (byte) (bits >>> (8 * i));
                    }
                }
                case F16 -> {
                    if ((b[o + 1] & 0x7c) == 0x7c) { // inf / NaN exponent: make it finite
                        b[o + 1] &= (byte) 0xbf;
                    }
                }
                case BF16 -> {
                    b[o + 1] = (byte) ((b[o + 1] & 0x80) | (0x3c + rnd.nextInt(6))); // |x| in about [2^-7, 2^4]
                }
                case Q8_0, Q4_0 -> putHalf(b, o, scale(rnd));
                case Q4_K -> {
                    putHalf(b, o, scale(rnd));
                    putHalf(b, o + 2, scale(rnd));
                }
                case Q6_K -> putHalf(b, o + 208, scale(rnd));
            }
        }
        return b;
    }

    /** Dequantizes a row of {@code cols} elements of {@code type} in float64. */
    static double[] dequantize(GgmlType type, byte[] b, int cols) {
        double[] y = new double[cols];
        switch (type) {
            case F32 -> {
                for (int i = 0; i < cols; i++) {
                    y[i] = Float.intBitsToFloat(u8(b, 4 * i) | u8(b, 4 * i + 1) << 8 | u8(b, 4 * i + 2) << 16
                            | u8(b, 4 * i + 3) << 24);
                }
            }
            case F16 -> {
                for (int i = 0; i < cols; i++) {
                    y[i] = half(b, 2 * i);
                }
            }
            case BF16 -> {
                for (int i = 0; i < cols; i++) {
                    y[i] = Float.intBitsToFloat((u8(b, 2 * i) | u8(b, 2 * i + 1) << 8) << 16);
                }
            }
            case Q8_0 -> {
                for (int i = 0; i < cols; i++) {
                    int o = i / 32 * 34;
                    y[i] = half(b, o) * b[o + 2 + i % 32];
                }
            }
            case Q4_0 -> {
                for (int i = 0; i < cols; i++) {
                    int o = i / 32 * 18;
                    int j = i % 32;
                    int q = j < 16 ? u8(b, o + 2 + j) & 15 : u8(b, o + 2 + j - 16) >> 4;
                    y[i] = half(b, o) * (q - 8);
                }
            }
            case Q4_K -> {
                for (int blk = 0; blk < cols / 256; blk++) {
                    int o = blk * 144;
                    double d = half(b, o);
                    double dmin = half(b, o + 2);
                    int sc = o + 4;
                    int qs = o + 16;
                    for (int sub = 0; sub < 8; sub++) {
                        int scale;
                        int min;
                        if (sub < 4) {
                            scale = u8(b, sc + sub) & 63;
                            min = u8(b, sc + sub + 4) & 63;
                        } else {
                            scale = (u8(b, sc + sub + 4) & 15) | (u8(b, sc + sub - 4) >> 6) << 4;
                            min = (u8(b, sc + sub + 4) >> 4) | (u8(b, sc + sub) >> 6) << 4;
                        }
                        for (int l = 0; l < 32; l++) {
                            int byteAt = qs + 32 * (sub / 2) + l;
                            int q = sub % 2 == 0 ? u8(b, byteAt) & 15 : u8(b, byteAt) >> 4;
                            y[blk * 256 + sub * 32 + l] = d * scale * q - dmin * min;
                        }
                    }
                }
            }
            case Q6_K -> {
                for (int blk = 0; blk < cols / 256; blk++) {
                    int o = blk * 210;
                    double d = half(b, o + 208);
                    for (int n = 0; n < 2; n++) {
                        int ql = o + 64 * n;
                        int qh = o + 128 + 32 * n;
                        int sc = o + 192 + 8 * n;
                        int yb = blk * 256 + 128 * n;
                        for (int l = 0; l < 32; l++) {
                            int is = l / 16;
                            int q1 = ((u8(b, ql + l) & 15) | ((u8(b, qh + l) >> 0) & 3) << 4) - 32;
                            int q2 = ((u8(b, ql + l + 32) & 15) | ((u8(b, qh + l) >> 2) & 3) << 4) - 32;
                            int q3 = ((u8(b, ql + l) >> 4) | ((u8(b, qh + l) >> 4) & 3) << 4) - 32;
                            int q4 = ((u8(b, ql + l + 32) >> 4) | ((u8(b, qh + l) >> 6) & 3) << 4) - 32;
                            y[yb + l] = d * b[sc + is] * q1;
                            y[yb + l + 32] = d * b[sc + is + 2] * q2;
                            y[yb + l + 64] = d * b[sc + is + 4] * q3;
                            y[yb + l + 96] = d * b[sc + is + 6] * q4;
                        }
                    }
                }
            }
        }
        return y;
    }

    /** Column counts that exercise every layout: several blocks, and vector tails for 1-element blocks. */
    static int[] colsFor(GgmlType type) {
        return switch (type.blockSize()) {
            case 1 -> new int[] {1, 7, 16, 37, 64, 133};
            case 32 -> new int[] {32, 96, 320};
            default -> new int[] {256, 768};
        };
    }
}

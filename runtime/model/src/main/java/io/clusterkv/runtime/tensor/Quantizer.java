package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Converts floats to stored tensor bytes: F32, F16, BF16, and the Q8_0 and Q4_0 block quantizations
 * exactly as ggml's reference quantizers ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref})
 * do, so files written here match files written by ggml bit for bit.
 *
 * <ul>
 * <li>Q8_0, per block of 32: {@code d = max|x| / 127}, {@code q = round(x / d)} (half away from zero);
 *     {@code |x − d16·q| ≤ d/2} up to the rounding of {@code d} to F16.</li>
 * <li>Q4_0, per block of 32: {@code m} = the element of largest magnitude (the first on ties),
 *     {@code d = m / −8}, {@code q = min(15, trunc(x / d + 8.5))}; {@code |x − d16·(q − 8)| ≤ |d|/2}
 *     except where {@code x / d ≥ 7.5} (the side opposite {@code m}), where the error is up to
 *     {@code |d|}.</li>
 * </ul>
 * K-quants (Q4_K, Q6_K) are not produced here; write such tensors from pre-quantized bytes.
 */
public final class Quantizer {

    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ORDER);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ORDER);

    private Quantizer() {
    }

    /**
     * @param type a type
     * @return whether {@link #quantize} can produce it
     */
    public static boolean canQuantize(GgmlType type) {
        return switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0 -> true;
            case Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, IQ4_NL -> false;
        };
    }

    /**
     * Writes {@code n} floats as {@code type} bytes.
     *
     * @param type   F32, F16, BF16, Q8_0 or Q4_0
     * @param src    the floats
     * @param off    offset of the first float
     * @param n      floats, a multiple of the type's block size
     * @param dst    receives {@code type.bytesFor(n)} bytes at {@code dstOff}
     * @param dstOff byte offset in {@code dst}
     * @return bytes written
     * @throws IllegalArgumentException  if the type cannot be quantized here or {@code n} is not a multiple
     *                                   of its block size
     * @throws IndexOutOfBoundsException if a range is out of bounds
     */
    public static long quantize(GgmlType type, float[] src, int off, int n, MemorySegment dst, long dstOff) {
        Objects.requireNonNull(type, "type");
        if (!canQuantize(type)) {
            throw new IllegalArgumentException("cannot quantize to " + type
                    + "; supported: F32, F16, BF16, Q8_0, Q4_0 (write K-quants from pre-quantized bytes)");
        }
        long bytes = type.bytesFor(n);
        Objects.checkFromIndexSize(off, n, src.length);
        Objects.checkFromIndexSize(dstOff, bytes, dst.byteSize());
        switch (type) {
            case F32 -> MemorySegment.copy(src, off, dst, FLOAT, dstOff, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(SHORT, dstOff + 2L * i, Float.floatToFloat16(src[off + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(SHORT, dstOff + 2L * i, floatToBf16(src[off + i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    q8_0Block(src, off + 32 * b, dst, dstOff + 34L * b);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    q4_0Block(src, off + 32 * b, dst, dstOff + 18L * b);
                }
            }
            case Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K, IQ4_NL -> throw new AssertionError(type);
        }
        return bytes;
    }

    /**
     * @param type F32, F16, BF16, Q8_0 or Q4_0
     * @param src  floats, a multiple of the type's block size
     * @return their {@code type} bytes
     * @throws IllegalArgumentException as {@link #quantize(GgmlType, float[], int, int, MemorySegment, long)}
     */
    public static byte[] quantize(GgmlType type, float[] src) {
        long bytes = type.bytesFor(src.length);
        byte[] out = new byte[Math.toIntExact(bytes)];
        quantize(type, src, 0, src.length, MemorySegment.ofArray(out), 0);
        return out;
    }

    private static void q8_0Block(float[] x, int o, MemorySegment dst, long at) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[o + j]));
        }
        float d = amax / 127;
        float id = d != 0 ? 1 / d : 0;
        dst.set(SHORT, at, Float.floatToFloat16(d));
        for (int j = 0; j < 32; j++) {
            dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) roundHalfAway(x[o + j] * id));
        }
    }

    private static void q4_0Block(float[] x, int o, MemorySegment dst, long at) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < 32; j++) {
            float v = x[o + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1 / d : 0;
        dst.set(SHORT, at, Float.floatToFloat16(d));
        for (int j = 0; j < 16; j++) {
            int q0 = Math.min(15, (int) (x[o + j] * id + 8.5f));
            int q1 = Math.min(15, (int) (x[o + 16 + j] * id + 8.5f));
            dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (q0 | q1 << 4));
        }
    }

    /** C's {@code roundf}: to nearest, halves away from zero. */
    static int roundHalfAway(float v) {
        return (int) Math.copySign(Math.round(Math.abs(v)), v);
    }

    /**
     * @param f a float
     * @return its bfloat16 bits, rounded to nearest even (NaN stays a quiet NaN), as ggml's
     *         {@code ggml_compute_fp32_to_bf16}
     */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 64); // NaN: force quiet
        }
        return (short) ((bits + (0x7fff + ((bits >>> 16) & 1))) >>> 16);
    }

    /**
     * @param h bfloat16 bits
     * @return the float
     */
    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat(h << 16);
    }
}

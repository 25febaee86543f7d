package io.clusterkv.runtime.kv;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API primitives over one stored row (a key or value of {@code dim} channels at a byte offset
 * of a segment), for F32 and F16 storage. Every Vector API loop of the KV path lives here.
 *
 * <p>F16 rows are widened in registers where they are consumed at once ({@link #dot}, {@link #axpy},
 * {@link #widen(MemorySegment, long, MemorySegment, long, int)}): 16-bit lanes are zero-extended to
 * 32 bits, the exponent and mantissa shifted into binary32 position and rescaled by 2^112 (which also
 * renormalises subnormals), the sign put back, and infinities and NaNs patched. Rows copied out
 * ({@link #read}, the {@code float[]} overloads of {@code widen}) go through a plain
 * {@link Float#float16ToFloat} loop instead, which C2 vectorises to the hardware conversion
 * ({@code vcvtph2ps}): several times faster, since the Vector API has no binary16 conversion. Both
 * are exact for all 65536 bit patterns.
 */
public final class RowMath {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Short lanes matching {@link #F}'s lane count: F16 rows load as many channels as one float vector holds. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class,
            jdk.incubator.vector.VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ORDER);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ORDER);
    private static final float TWO_POW_112 = 0x1p112f;

    private RowMath() {
    }

    /** @return lanes of a float vector on this machine */
    public static int lanes() {
        return F.length();
    }

    /** @return the little-endian float layout rows are stored with */
    static ValueLayout.OfFloat floatLayout() {
        return FLOAT;
    }

    /**
     * Loads {@code F.length()} channels of an F16 row as floats.
     *
     * @param seg    segment
     * @param offset byte offset of the first channel
     * @return the widened lanes
     */
    static FloatVector loadHalf(MemorySegment seg, long offset) {
        ShortVector h = ShortVector.fromMemorySegment(S, seg, offset, ORDER);
        IntVector bits = (IntVector) h.convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
        IntVector mag = bits.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
        FloatVector f = mag.reinterpretAsFloats().mul(TWO_POW_112);
        VectorMask<Integer> special = bits.and(0x7c00).compare(VectorOperators.EQ, 0x7c00);
        IntVector out = f.reinterpretAsInts();
        if (special.anyTrue()) {
            out = out.blend(mag.or(0x70000000), special); // inf / NaN: exponent all ones
        }
        return out.or(bits.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    /**
     * @param seg    storage segment
     * @param offset byte offset of the row
     * @param format storage format
     * @param q      query
     * @param qOff   offset of the query in {@code q}
     * @param dim    channels
     * @return the inner product of the row with the query
     */
    public static float dot(MemorySegment seg, long offset, KvFormat format, float[] q, int qOff, int dim) {
        int step = F.length();
        int bound = F.loopBound(dim);
        FloatVector acc = FloatVector.zero(F);
        int c = 0;
        if (format == KvFormat.F32) {
            for (; c < bound; c += step) {
                FloatVector k = FloatVector.fromMemorySegment(F, seg, offset + 4L * c, ORDER);
                acc = k.fma(FloatVector.fromArray(F, q, qOff + c), acc);
            }
        } else {
            for (; c < bound; c += step) {
                acc = loadHalf(seg, offset + 2L * c).fma(FloatVector.fromArray(F, q, qOff + c), acc);
            }
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; c < dim; c++) {
            s += get(seg, offset, format, c) * q[qOff + c];
        }
        return s;
    }

    /**
     * {@code acc[accOff + c] += w * row[c]} for every channel.
     *
     * @param seg    storage segment
     * @param offset byte offset of the row
     * @param format storage format
     * @param w      weight
     * @param acc    accumulator
     * @param accOff offset in the accumulator
     * @param dim    channels
     */
    public static void axpy(MemorySegment seg, long offset, KvFormat format, float w, float[] acc, int accOff, int dim) {
        int step = F.length();
        int bound = F.loopBound(dim);
        int c = 0;
        FloatVector wv = FloatVector.broadcast(F, w);
        if (format == KvFormat.F32) {
            for (; c < bound; c += step) {
                FloatVector v = FloatVector.fromMemorySegment(F, seg, offset + 4L * c, ORDER);
                v.fma(wv, FloatVector.fromArray(F, acc, accOff + c)).intoArray(acc, accOff + c);
            }
        } else {
            for (; c < bound; c += step) {
                loadHalf(seg, offset + 2L * c).fma(wv, FloatVector.fromArray(F, acc, accOff + c)).intoArray(acc, accOff + c);
            }
        }
        for (; c < dim; c++) {
            acc[accOff + c] += w * get(seg, offset, format, c);
        }
    }

    /**
     * Widens {@code count} consecutive F16 channels into F32, e.g. a block of rows of one chunk into a
     * kernel's scratch. Exact: every binary16 value, subnormals, infinities and NaN payloads included,
     * becomes the binary32 value {@link Float#float16ToFloat} gives.
     *
     * @param src    F16 source
     * @param srcOff byte offset of the first channel in {@code src}
     * @param dst    F32 destination
     * @param dstOff byte offset of the first channel in {@code dst}
     * @param count  channels
     * @throws IndexOutOfBoundsException if either range falls outside its segment
     */
    public static void widen(MemorySegment src, long srcOff, MemorySegment dst, long dstOff, int count) {
        int step = F.length();
        int bound = F.loopBound(count);
        int c = 0;
        for (; c < bound; c += step) {
            loadHalf(src, srcOff + 2L * c).intoMemorySegment(dst, dstOff + 4L * c, ORDER);
        }
        for (; c < count; c++) {
            dst.set(FLOAT, dstOff + 4L * c, Float.float16ToFloat(src.get(SHORT, srcOff + 2L * c)));
        }
    }

    /**
     * Widens {@code count} consecutive F16 channels of a segment into a float array, exactly as
     * {@link #widen(MemorySegment, long, MemorySegment, long, int)} does. A plain loop on purpose: C2
     * compiles it to the hardware conversion ({@code vcvtph2ps} with F16C or AVX-512), several times
     * faster than the Vector API widening, which has no conversion operator for binary16. (C2 does
     * not vectorise the same loop into a segment: it cannot rule out that the two segments overlap.)
     *
     * @param src    F16 source
     * @param srcOff byte offset of the first channel in {@code src}
     * @param dst    destination
     * @param dstOff index of the first value in {@code dst}
     * @param count  values
     * @throws IndexOutOfBoundsException if either range is out of bounds
     */
    public static void widen(MemorySegment src, long srcOff, float[] dst, int dstOff, int count) {
        java.util.Objects.checkFromIndexSize(dstOff, count, dst.length);
        for (int i = 0; i < count; i++) {
            dst[dstOff + i] = Float.float16ToFloat(src.get(SHORT, srcOff + 2L * i));
        }
    }

    /**
     * Widens {@code count} F16 values held in a short array, as
     * {@link #widen(MemorySegment, long, float[], int, int)} does (and compiled the same way).
     *
     * @param src    F16 bits
     * @param srcOff index of the first value in {@code src}
     * @param dst    destination
     * @param dstOff index of the first value in {@code dst}
     * @param count  values
     * @throws IndexOutOfBoundsException if either range is out of bounds
     */
    public static void widen(short[] src, int srcOff, float[] dst, int dstOff, int count) {
        java.util.Objects.checkFromIndexSize(srcOff, count, src.length);
        java.util.Objects.checkFromIndexSize(dstOff, count, dst.length);
        for (int i = 0; i < count; i++) {
            dst[dstOff + i] = Float.float16ToFloat(src[srcOff + i]);
        }
    }

    /**
     * @param seg     storage segment
     * @param offset  byte offset of the row
     * @param format  storage format
     * @param channel channel
     * @return one stored channel as a float
     */
    public static float get(MemorySegment seg, long offset, KvFormat format, int channel) {
        return switch (format) {
            case F32 -> seg.get(FLOAT, offset + 4L * channel);
            case F16 -> Float.float16ToFloat(seg.get(SHORT, offset + 2L * channel));
        };
    }

    /**
     * Stores one channel, rounding to the storage format.
     *
     * @param seg     storage segment
     * @param offset  byte offset of the row
     * @param format  storage format
     * @param channel channel
     * @param value   the value
     */
    static void set(MemorySegment seg, long offset, KvFormat format, int channel, float value) {
        switch (format) {
            case F32 -> seg.set(FLOAT, offset + 4L * channel, value);
            case F16 -> seg.set(SHORT, offset + 2L * channel, Float.floatToFloat16(value));
        }
    }

    /**
     * Copies a row into a float array, widening F16.
     *
     * @param seg    storage segment
     * @param offset byte offset of the row
     * @param format storage format
     * @param dst    destination
     * @param dstOff where it goes
     * @param dim    channels
     */
    public static void read(MemorySegment seg, long offset, KvFormat format, float[] dst, int dstOff, int dim) {
        if (format == KvFormat.F32) {
            MemorySegment.copy(seg, FLOAT, offset, dst, dstOff, dim);
        } else {
            widen(seg, offset, dst, dstOff, dim);
        }
    }
}

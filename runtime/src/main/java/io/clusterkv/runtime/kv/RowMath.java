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
 * <p>F16 rows are widened in registers: 16-bit lanes are zero-extended to 32 bits, the exponent and
 * mantissa shifted into binary32 position and rescaled by 2^112 (which also renormalises
 * subnormals), the sign put back, and infinities and NaNs patched. No scalar conversion on the hot
 * path.
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
        int c = 0;
        if (format == KvFormat.F32) {
            MemorySegment.copy(seg, FLOAT, offset, dst, dstOff, dim);
            return;
        }
        int step = F.length();
        int bound = F.loopBound(dim);
        for (; c < bound; c += step) {
            loadHalf(seg, offset + 2L * c).intoArray(dst, dstOff + c);
        }
        for (; c < dim; c++) {
            dst[dstOff + c] = get(seg, offset, format, c);
        }
    }
}

package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Every Vector API kernel of the weight matrices, one pair (dot, dequantize) per {@link GgmlType}, and
 * the register-blocked micro-kernels of the batched path ({@code gemm6x4}, {@code gemm6x2},
 * {@code gemm6x1}; {@link BlockMatrix} explains their shape). Those are written out straight-line,
 * 6·nv named accumulators each: C2 keeps them in registers only if nothing crosses a call. Loaded only when {@link BlockMatrix#VECTOR} is set.
 *
 * <p>Quantized types dequantize in registers: 16 quant bytes are loaded as one 128-bit byte vector,
 * nibbles and high bits are unpacked with shifts of 32-bit lanes (C2 does not intrinsify byte-lane
 * shifts on x86) and lane masks, and the bytes are widened to floats {@code 16 / L} lanes at a time
 * ({@code L} = float lanes: 16 with AVX-512, 8 with AVX2/NEON-256, 4 with 128-bit vectors) with
 * {@code B2F} or {@code B2I} part conversions. Sums of {@code q·x} are kept per block or sub-block and
 * scaled once by {@code d·scale}.
 *
 * <p>Matrix-vector products of Q8_0, Q4_0 and Q4_K take four rows at a time ({@link #q8_0Dots},
 * {@link #q4_0Dots2} twice, {@link #q4_KDots}): the input is loaded once per block for all of them (Q4_K:
 * per pair of rows), and four streams of
 * weights are in flight ({@link BlockMatrix#matvec} takes the rows from four quarters of a range, so
 * the streams are long). That, not arithmetic, is what decode needs: a single-row kernel spends enough
 * instructions per weight byte that it keeps only a few cache lines in flight, so from memory it
 * falls far short of the bandwidth it reaches from cache (docs/BENCHMARKS.md). Per row they do the operations of the single-row kernel in the same order; only the
 * final {@code reduceLanes(ADD)} may differ in the last bits, as C2 and the interpreter sum the lanes
 * in different orders (the Vector API leaves that order open), and either kernel may run in either.
 *
 * <p>No integer dot products (quantizing {@code x} to int8 once per product, as ggml does): the
 * Vector API of JDK 25 has no widening multiply-add ({@code vpmaddwd}, {@code vpdpbusd}), so an
 * int8·int8 product costs a widening, a 16-bit multiply and three lane operations to add pairs into
 * 32-bit lanes before the conversion to float, as many vector operations per block as widening the
 * weights to float and using FMA; a four-row integer Q8_0 kernel was slower than the float one
 * (docs/BENCHMARKS-HISTORY.md), and it adds the quantization error of {@code x}. Accuracy is that
 * of float FMA. Each per-block scale costs a scalar F16 load, conversion and broadcast, a third of the
 * vector work of a Q8_0 block; converting the scales of many blocks at once (permutes from the
 * weights, or a packed copy) cost as much as it saved.
 *
 * <p>F16 is widened by bit manipulation (zero-extend, shift exponent and mantissa into binary32
 * position, rescale by 2^112, which also renormalises subnormals, patch infinities and NaNs); BF16 is
 * a 16-bit shift.
 */
final class VectorKernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() > 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64,
            F.vectorBitSize() / 2)));
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    /** Float vectors one 16-byte byte vector widens into. */
    private static final int PARTS = 16 / L;
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    /** Rows the multi-row dot kernels ({@code *Dots}) take at once. */
    static final int ROWS = 4;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ORDER);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ORDER);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ORDER);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ORDER);

    private VectorKernels() {
    }

    /** @return whether these kernels run here: 4, 8 or 16 float lanes and half-width short vectors */
    static boolean usable() {
        return (L == 4 || L == 8 || L == 16) && S.length() == L;
    }

    private static FloatVector bytesToFloats(ByteVector q, int part) {
        return (FloatVector) q.convertShape(VectorOperators.B2F, F, part);
    }

    /*
     * Byte-lane shifts are not intrinsified by C2 on x86 (JDK 25): they would fall back to boxed
     * per-lane code. Shift 32-bit lanes instead; callers mask away the bits that cross byte borders.
     */
    private static ByteVector shr(ByteVector v, int n) {
        return v.reinterpretAsInts().lanewise(VectorOperators.LSHR, n).reinterpretAsBytes();
    }

    private static ByteVector shl(ByteVector v, int n) {
        return v.reinterpretAsInts().lanewise(VectorOperators.LSHL, n).reinterpretAsBytes();
    }

    private static ByteVector load16(MemorySegment seg, long offset) {
        return ByteVector.fromMemorySegment(B, seg, offset, ORDER);
    }

    // ---- F32 ----

    static float f32Dot(MemorySegment w, long off, float[] x, int xOff, int n) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        int i = 0;
        int bound4 = n - n % (4 * L);
        for (; i < bound4; i += 4 * L) {
            long o = off + 4L * i;
            a0 = FloatVector.fromMemorySegment(F, w, o, ORDER).fma(FloatVector.fromArray(F, x, xOff + i), a0);
            a1 = FloatVector.fromMemorySegment(F, w, o + 4L * L, ORDER).fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
            a2 = FloatVector.fromMemorySegment(F, w, o + 8L * L, ORDER)
                    .fma(FloatVector.fromArray(F, x, xOff + i + 2 * L), a2);
            a3 = FloatVector.fromMemorySegment(F, w, o + 12L * L, ORDER)
                    .fma(FloatVector.fromArray(F, x, xOff + i + 3 * L), a3);
        }
        for (int bound = F.loopBound(n); i < bound; i += L) {
            a0 = FloatVector.fromMemorySegment(F, w, off + 4L * i, ORDER).fma(FloatVector.fromArray(F, x, xOff + i), a0);
        }
        float s = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += w.get(FLOAT, off + 4L * i) * x[xOff + i];
        }
        return s;
    }

    // ---- F16 / BF16 ----

    private static FloatVector loadF16(MemorySegment seg, long offset) {
        ShortVector h = ShortVector.fromMemorySegment(S, seg, offset, ORDER);
        IntVector bits = (IntVector) h.convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
        IntVector mag = bits.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
        IntVector out = mag.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> special = bits.and(0x7c00).compare(VectorOperators.EQ, 0x7c00);
        if (special.anyTrue()) {
            out = out.blend(mag.or(0x7f800000), special); // inf / NaN: exponent all ones, mantissa kept
        }
        return out.or(bits.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    private static FloatVector loadBf16(MemorySegment seg, long offset) {
        ShortVector h = ShortVector.fromMemorySegment(S, seg, offset, ORDER);
        IntVector bits = (IntVector) h.convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    static float halfDot(MemorySegment w, long off, float[] x, int xOff, int n, boolean bf16) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int i = 0;
        int bound2 = n - n % (2 * L);
        for (; i < bound2; i += 2 * L) {
            long o = off + 2L * i;
            FloatVector w0 = bf16 ? loadBf16(w, o) : loadF16(w, o);
            FloatVector w1 = bf16 ? loadBf16(w, o + 2L * L) : loadF16(w, o + 2L * L);
            a0 = w0.fma(FloatVector.fromArray(F, x, xOff + i), a0);
            a1 = w1.fma(FloatVector.fromArray(F, x, xOff + i + L), a1);
        }
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector w0 = bf16 ? loadBf16(w, off + 2L * i) : loadF16(w, off + 2L * i);
            a0 = w0.fma(FloatVector.fromArray(F, x, xOff + i), a0);
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            short h = w.get(SHORT, off + 2L * i);
            s += (bf16 ? Float.intBitsToFloat(h << 16) : Float.float16ToFloat(h)) * x[xOff + i];
        }
        return s;
    }

    static void halfDequantize(MemorySegment w, long off, float[] dst, int dOff, int n, boolean bf16) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector v = bf16 ? loadBf16(w, off + 2L * i) : loadF16(w, off + 2L * i);
            v.intoArray(dst, dOff + i);
        }
        for (; i < n; i++) {
            short h = w.get(SHORT, off + 2L * i);
            dst[dOff + i] = bf16 ? Float.intBitsToFloat(h << 16) : Float.float16ToFloat(h);
        }
    }

    // ---- Q8_0: f16 d, int8 qs[32] ----

    static float q8_0Dot(MemorySegment w, long off, float[] x, int xOff, int cols) {
        FloatVector acc = FloatVector.zero(F);
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 32, off += 34) {
            FloatVector s = FloatVector.zero(F);
            for (int h = 0; h < 32; h += 16) {
                ByteVector q = load16(w, off + 2 + h);
                for (int p = 0; p < PARTS; p++) {
                    s = bytesToFloats(q, p).fma(FloatVector.fromArray(F, x, xi + h + p * L), s);
                }
            }
            acc = s.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, off)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * {@code out[outOff + k·outStride] = row_k · x} for {@value #ROWS} rows, row {@code k} at byte
     * {@code off + k·rowStride}. Per row the same operations in the same order as {@link #q8_0Dot} (up
     * to the order of the final lane sum, see the class notes); the input vector is loaded once for all
     * four rows.
     */
    static void q8_0Dots(MemorySegment w, long off, long rowStride, float[] x, int xOff, int cols, float[] out,
                         int outOff, int outStride) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        for (int b = 0, blocks = cols / 32; b < blocks; b++) {
            // offsets from the block index, not incremented: C2 then hoists the segment bounds checks
            long o0 = off + 34L * b;
            long o1 = o0 + rowStride;
            long o2 = o1 + rowStride;
            long o3 = o2 + rowStride;
            int xi = xOff + 32 * b;
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = FloatVector.zero(F);
            FloatVector s2 = FloatVector.zero(F);
            FloatVector s3 = FloatVector.zero(F);
            ByteVector q0 = load16(w, o0 + 2);
            ByteVector q1 = load16(w, o1 + 2);
            ByteVector q2 = load16(w, o2 + 2);
            ByteVector q3 = load16(w, o3 + 2);
            for (int p = 0; p < PARTS; p++) {
                FloatVector xv = FloatVector.fromArray(F, x, xi + p * L);
                s0 = bytesToFloats(q0, p).fma(xv, s0);
                s1 = bytesToFloats(q1, p).fma(xv, s1);
                s2 = bytesToFloats(q2, p).fma(xv, s2);
                s3 = bytesToFloats(q3, p).fma(xv, s3);
            }
            q0 = load16(w, o0 + 18);
            q1 = load16(w, o1 + 18);
            q2 = load16(w, o2 + 18);
            q3 = load16(w, o3 + 18);
            for (int p = 0; p < PARTS; p++) {
                FloatVector xv = FloatVector.fromArray(F, x, xi + 16 + p * L);
                s0 = bytesToFloats(q0, p).fma(xv, s0);
                s1 = bytesToFloats(q1, p).fma(xv, s1);
                s2 = bytesToFloats(q2, p).fma(xv, s2);
                s3 = bytesToFloats(q3, p).fma(xv, s3);
            }
            a0 = s0.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, o0)), a0);
            a1 = s1.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, o1)), a1);
            a2 = s2.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, o2)), a2);
            a3 = s3.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, o3)), a3);
        }
        out[outOff] = a0.reduceLanes(VectorOperators.ADD);
        out[outOff + outStride] = a1.reduceLanes(VectorOperators.ADD);
        out[outOff + 2 * outStride] = a2.reduceLanes(VectorOperators.ADD);
        out[outOff + 3 * outStride] = a3.reduceLanes(VectorOperators.ADD);
    }

    static void q8_0Dequantize(MemorySegment w, long off, float[] dst, int dOff, int cols) {
        for (int di = dOff, end = dOff + cols; di < end; di += 32, off += 34) {
            float d = BlockMatrix.f16(w, off);
            for (int h = 0; h < 32; h += 16) {
                ByteVector q = load16(w, off + 2 + h);
                for (int p = 0; p < PARTS; p++) {
                    bytesToFloats(q, p).mul(d).intoArray(dst, di + h + p * L);
                }
            }
        }
    }

    // ---- Q4_0: f16 d, qs[16]; element j < 16 low nibble of qs[j], j + 16 its high nibble; x = d (q - 8) ----

    /*
     * A quant byte lo + 16 hi with its top bit flipped and sign-extended is v = lo + 16 (hi - 8), so one
     * arithmetic shift gives hi - 8 and one mask gives lo. The offset of the low nibbles is taken out of
     * the sum: each block's sum starts at -8 x_j (j < 16, exact in float), shared by the rows of a group.
     */
    private static IntVector flipWiden(ByteVector q, int part) {
        return (IntVector) q.lanewise(VectorOperators.XOR, (byte) 0x80).convertShape(VectorOperators.B2I, I, part);
    }

    private static FloatVector lowNibble(IntVector v) {
        return (FloatVector) v.and(0x0f).convertShape(VectorOperators.I2F, F, 0);
    }

    private static FloatVector highNibbleMinus8(IntVector v) {
        return (FloatVector) v.lanewise(VectorOperators.ASHR, 4).convertShape(VectorOperators.I2F, F, 0);
    }

    static float q4_0Dot(MemorySegment w, long off, float[] x, int xOff, int cols) {
        FloatVector acc = FloatVector.zero(F);
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 32, off += 18) {
            ByteVector q = load16(w, off + 2);
            FloatVector s = FloatVector.zero(F);
            for (int p = 0; p < PARTS; p++) {
                FloatVector xl = FloatVector.fromArray(F, x, xi + p * L);
                FloatVector xh = FloatVector.fromArray(F, x, xi + 16 + p * L);
                FloatVector m = xl.mul(-8f); // exact
                IntVector v = flipWiden(q, p);
                s = highNibbleMinus8(v).fma(xh, lowNibble(v).fma(xl, p == 0 ? m : s.add(m)));
            }
            acc = s.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, off)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * As {@link #q8_0Dots} for Q4_0 and {@link #q4_0Dot}, but two rows ({@code out[outOff]},
     * {@code out[outOff + outStride]}): four rows of this kernel exceed C2's inlining node budget
     * (NodeCountInliningCutoff), and a helper left out of line boxes its vectors.
     */
    static void q4_0Dots2(MemorySegment w, long off, long rowStride, float[] x, int xOff, int cols, float[] out,
                          int outOff, int outStride) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        for (int b = 0, blocks = cols / 32; b < blocks; b++) {
            long o0 = off + 18L * b;
            long o1 = o0 + rowStride;
            int xi = xOff + 32 * b;
            ByteVector q0 = load16(w, o0 + 2);
            ByteVector q1 = load16(w, o1 + 2);
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = FloatVector.zero(F);
            for (int p = 0; p < PARTS; p++) {
                FloatVector xl = FloatVector.fromArray(F, x, xi + p * L);
                FloatVector xh = FloatVector.fromArray(F, x, xi + 16 + p * L);
                FloatVector m = xl.mul(-8f);
                IntVector v0 = flipWiden(q0, p);
                IntVector v1 = flipWiden(q1, p);
                s0 = highNibbleMinus8(v0).fma(xh, lowNibble(v0).fma(xl, p == 0 ? m : s0.add(m)));
                s1 = highNibbleMinus8(v1).fma(xh, lowNibble(v1).fma(xl, p == 0 ? m : s1.add(m)));
            }
            a0 = s0.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, o0)), a0);
            a1 = s1.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, o1)), a1);
        }
        out[outOff] = a0.reduceLanes(VectorOperators.ADD);
        out[outOff + outStride] = a1.reduceLanes(VectorOperators.ADD);
    }

    static void q4_0Dequantize(MemorySegment w, long off, float[] dst, int dOff, int cols) {
        for (int di = dOff, end = dOff + cols; di < end; di += 32, off += 18) {
            float d = BlockMatrix.f16(w, off);
            ByteVector q = load16(w, off + 2);
            ByteVector lo = q.and((byte) 0x0f).sub((byte) 8);
            ByteVector hi = shr(q, 4).and((byte) 0x0f).sub((byte) 8);
            for (int p = 0; p < PARTS; p++) {
                bytesToFloats(lo, p).mul(d).intoArray(dst, di + p * L);
                bytesToFloats(hi, p).mul(d).intoArray(dst, di + 16 + p * L);
            }
        }
    }

    // ---- IQ4_NL: f16 d, qs[16] as Q4_0's; x = d·T[q] ----

    /** IQ4_NL's table of the 16 levels, as one 16-byte vector: a nibble picks its lane (a byte shuffle). */
    private static final ByteVector IQ4_NL_TABLE = ByteVector.fromArray(B, IQ4_NLMatrix.LEVELS, 0);

    /** @return the levels the 16 nibbles of {@code q} (each 0..15) pick from {@link #IQ4_NL_TABLE} */
    private static ByteVector iq4_nlLevels(ByteVector q) {
        return IQ4_NL_TABLE.rearrange(q.toShuffle());
    }

    static float iq4_nlDot(MemorySegment w, long off, float[] x, int xOff, int cols) {
        FloatVector acc = FloatVector.zero(F);
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 32, off += 18) {
            ByteVector q = load16(w, off + 2);
            ByteVector lo = iq4_nlLevels(q.and((byte) 0x0f));
            ByteVector hi = iq4_nlLevels(shr(q, 4).and((byte) 0x0f));
            FloatVector s = FloatVector.zero(F);
            for (int p = 0; p < PARTS; p++) {
                s = bytesToFloats(lo, p).fma(FloatVector.fromArray(F, x, xi + p * L), s);
                s = bytesToFloats(hi, p).fma(FloatVector.fromArray(F, x, xi + 16 + p * L), s);
            }
            acc = s.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, off)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    static void iq4_nlDequantize(MemorySegment w, long off, float[] dst, int dOff, int cols) {
        for (int di = dOff, end = dOff + cols; di < end; di += 32, off += 18) {
            float d = BlockMatrix.f16(w, off);
            ByteVector q = load16(w, off + 2);
            ByteVector lo = iq4_nlLevels(q.and((byte) 0x0f));
            ByteVector hi = iq4_nlLevels(shr(q, 4).and((byte) 0x0f));
            for (int p = 0; p < PARTS; p++) {
                bytesToFloats(lo, p).mul(d).intoArray(dst, di + p * L);
                bytesToFloats(hi, p).mul(d).intoArray(dst, di + 16 + p * L);
            }
        }
    }

    // ---- Q4_1: f16 d, f16 m, qs[16]; Q5_0: f16 d, qh[4], qs[16]; Q5_1: f16 d, f16 m, qh[4], qs[16] ----

    static float q4_1Dot(MemorySegment w, long off, float[] x, int xOff, int cols) {
        FloatVector acc = FloatVector.zero(F);
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 32, off += 20) {
            ByteVector q = load16(w, off + 4);
            ByteVector lo = q.and((byte) 0x0f);
            ByteVector hi = shr(q, 4).and((byte) 0x0f);
            FloatVector qx = FloatVector.zero(F);
            FloatVector xs = FloatVector.zero(F);
            for (int p = 0; p < PARTS; p++) {
                FloatVector xl = FloatVector.fromArray(F, x, xi + p * L);
                FloatVector xh = FloatVector.fromArray(F, x, xi + 16 + p * L);
                qx = bytesToFloats(hi, p).fma(xh, bytesToFloats(lo, p).fma(xl, qx));
                xs = xs.add(xl).add(xh);
            }
            acc = qx.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, off)), acc);
            acc = xs.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, off + 2)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    static void q4_1Dequantize(MemorySegment w, long off, float[] dst, int dOff, int cols) {
        for (int di = dOff, end = dOff + cols; di < end; di += 32, off += 20) {
            float d = BlockMatrix.f16(w, off);
            float m = BlockMatrix.f16(w, off + 2);
            ByteVector q = load16(w, off + 4);
            ByteVector lo = q.and((byte) 0x0f);
            ByteVector hi = shr(q, 4).and((byte) 0x0f);
            for (int p = 0; p < PARTS; p++) {
                bytesToFloats(lo, p).fma(d, m).intoArray(dst, di + p * L);
                bytesToFloats(hi, p).fma(d, m).intoArray(dst, di + 16 + p * L);
            }
        }
    }

    /**
     * The fifth bits of half a Q5_0/Q5_1 block: byte {@code j} of the result is 16 if bit {@code from + j}
     * of {@code qh} is set, else 0 ({@code Long.expand} spreads 8 bits to 8 bytes; C2 makes it a
     * {@code pdep}).
     */
    private static ByteVector fifthBits(int qh, int from) {
        int bits = qh >>> from;
        long a = Long.expand(bits & 0xff, 0x0101010101010101L) << 4;
        long b = Long.expand((bits >>> 8) & 0xff, 0x0101010101010101L) << 4;
        return LongVector.zero(LongVector.SPECIES_128).withLane(0, a).withLane(1, b).reinterpretAsBytes();
    }

    /** Q5_0 ({@code withMin} false: x = d (q - 16)) or Q5_1 ({@code withMin}: x = d q + m). */
    static float q5Dot(MemorySegment w, long off, float[] x, int xOff, int cols, boolean withMin) {
        int blockBytes = withMin ? 24 : 22;
        int qhAt = withMin ? 4 : 2;
        FloatVector acc = FloatVector.zero(F);
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 32, off += blockBytes) {
            int qh = w.get(INT, off + qhAt);
            ByteVector q = load16(w, off + qhAt + 4);
            ByteVector lo = q.and((byte) 0x0f).or(fifthBits(qh, 0));
            ByteVector hi = shr(q, 4).and((byte) 0x0f).or(fifthBits(qh, 16));
            FloatVector qx = FloatVector.zero(F);
            if (withMin) {
                FloatVector xs = FloatVector.zero(F);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector xl = FloatVector.fromArray(F, x, xi + p * L);
                    FloatVector xh = FloatVector.fromArray(F, x, xi + 16 + p * L);
                    qx = bytesToFloats(hi, p).fma(xh, bytesToFloats(lo, p).fma(xl, qx));
                    xs = xs.add(xl).add(xh);
                }
                acc = xs.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, off + 2)), acc);
            } else {
                lo = lo.sub((byte) 16);
                hi = hi.sub((byte) 16);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector xl = FloatVector.fromArray(F, x, xi + p * L);
                    FloatVector xh = FloatVector.fromArray(F, x, xi + 16 + p * L);
                    qx = bytesToFloats(hi, p).fma(xh, bytesToFloats(lo, p).fma(xl, qx));
                }
            }
            acc = qx.fma(FloatVector.broadcast(F, BlockMatrix.f16(w, off)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    static void q5Dequantize(MemorySegment w, long off, float[] dst, int dOff, int cols, boolean withMin) {
        int blockBytes = withMin ? 24 : 22;
        int qhAt = withMin ? 4 : 2;
        for (int di = dOff, end = dOff + cols; di < end; di += 32, off += blockBytes) {
            float d = BlockMatrix.f16(w, off);
            float m = withMin ? BlockMatrix.f16(w, off + 2) : -16 * d;
            int qh = w.get(INT, off + qhAt);
            ByteVector q = load16(w, off + qhAt + 4);
            ByteVector lo = q.and((byte) 0x0f).or(fifthBits(qh, 0));
            ByteVector hi = shr(q, 4).and((byte) 0x0f).or(fifthBits(qh, 16));
            for (int p = 0; p < PARTS; p++) {
                bytesToFloats(lo, p).fma(d, m).intoArray(dst, di + p * L);
                bytesToFloats(hi, p).fma(d, m).intoArray(dst, di + 16 + p * L);
            }
        }
    }

    // ---- Q4_K: f16 d, f16 dmin, scales[12], qs[128]; x = d sc q - dmin m per sub-block of 32 ----

    static float q4_KDot(MemorySegment w, long off, float[] x, int xOff, int cols) {
        float acc = 0;
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 256, off += 144) {
            acc += q4_KBlockDot(w, off, x, xi);
        }
        return acc;
    }

    private static float q4_KBlockDot(MemorySegment w, long off, float[] x, int xi) {
        FloatVector acc = FloatVector.zero(F);
        float d = BlockMatrix.f16(w, off);
        float dmin = BlockMatrix.f16(w, off + 2);
        for (int j = 0; j < 4; j++) { // 64 elements: sub-blocks 2j (low nibbles) and 2j + 1 (high)
            int sm1 = Q4_KMatrix.scaleMin(w, off + 4, 2 * j);
            int sm2 = Q4_KMatrix.scaleMin(w, off + 4, 2 * j + 1);
            FloatVector q1 = FloatVector.zero(F);
            FloatVector x1 = FloatVector.zero(F);
            FloatVector q2 = FloatVector.zero(F);
            FloatVector x2 = FloatVector.zero(F);
            int xb = xi + 64 * j;
            for (int h = 0; h < 32; h += 16) {
                ByteVector q = load16(w, off + 16 + 32 * j + h);
                ByteVector lo = q.and((byte) 0x0f);
                ByteVector hi = shr(q, 4).and((byte) 0x0f);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector xl = FloatVector.fromArray(F, x, xb + h + p * L);
                    FloatVector xh = FloatVector.fromArray(F, x, xb + 32 + h + p * L);
                    q1 = bytesToFloats(lo, p).fma(xl, q1);
                    x1 = x1.add(xl);
                    q2 = bytesToFloats(hi, p).fma(xh, q2);
                    x2 = x2.add(xh);
                }
            }
            acc = q1.fma(FloatVector.broadcast(F, d * (sm1 & 0xff)), acc);
            acc = x1.fma(FloatVector.broadcast(F, -dmin * (sm1 >>> 8)), acc);
            acc = q2.fma(FloatVector.broadcast(F, d * (sm2 & 0xff)), acc);
            acc = x2.fma(FloatVector.broadcast(F, -dmin * (sm2 >>> 8)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Sums of {@code x} over each sub-block of {@code size} (16 or 32) columns, {@code xs[k] = Σ x[size·k ..
     * size·k + size − 1]}, once per product: the min term of every Q4_K row ({@code dmin·m_k·xs[k]}) and
     * the offset of every Q6_K value need nothing else from {@code x}.
     */
    static void subBlockSums(float[] x, int cols, int size, float[] xs) {
        for (int k = 0, n = cols / size; k < n; k++) {
            float s = 0;
            for (int i = size * k, end = i + size; i < end; i++) {
                s += x[i];
            }
            xs[k] = s;
        }
    }

    /**
     * The eight 6-bit scales of a Q4_K block's 12 packed bytes (ggml's {@code utmp} unpacking), given as their
     * first eight bytes {@code lo} and last four {@code u2} (little-endian), one per byte of the result: scale
     * {@code k} is {@code (result >>> 8k) & 0xff}. With {@code mins = true}, the eight mins instead.
     */
    static long q4_KScales(long lo, int u2, boolean mins) {
        int u0 = (int) lo;
        int u1 = (int) (lo >>> 32);
        if (mins) {
            int m03 = u1 & 0x3f3f3f3f;
            int m47 = ((u2 >>> 4) & 0x0f0f0f0f) | (((u1 >>> 6) & 0x03030303) << 4);
            return (m03 & 0xffffffffL) | (long) m47 << 32;
        }
        int s03 = u0 & 0x3f3f3f3f;
        int s47 = (u2 & 0x0f0f0f0f) | (((u0 >>> 6) & 0x03030303) << 4);
        return (s03 & 0xffffffffL) | (long) s47 << 32;
    }

    private static IntVector widenU(ByteVector q, int part) {
        return (IntVector) q.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, part);
    }

    private static FloatVector toFloats(IntVector v) {
        return (FloatVector) v.convertShape(VectorOperators.I2F, F, 0);
    }

    /**
     * {@code out[outOff + k·outStride] = row_k · x} for {@value #ROWS} Q4_K rows, row {@code k} at byte
     * {@code off + k·rowStride}; {@code xs} holds {@link #subBlockSums} of {@code x}. The four rows go
     * block by block, two at a time ({@link #q4_KBlock2}), so four weight streams are in flight.
     */
    static void q4_KDots(MemorySegment w, long off, long rowStride, float[] x, float[] xs, int cols, float[] out,
                         int outOff, int outStride) {
        for (int k = 0; k < ROWS; k++) {
            out[outOff + k * outStride] = 0;
        }
        for (int b = 0, blocks = cols / 256; b < blocks; b++) {
            // one call site (see q6_KDots)
            for (int k = 0; k < ROWS; k += 2) {
                long o = off + 144L * b + k * rowStride;
                q4_KBlock2(w, o, o + rowStride, x, xs, b, out, outOff + k * outStride, outOff + (k + 1) * outStride);
            }
        }
    }

    /**
     * Adds block {@code b} of two Q4_K rows (at bytes {@code o0}, {@code o1}) dotted with {@code x} to
     * {@code out[i0]} and {@code out[i1]}. Per sub-block the rows' {@code Σ q·x} are float vectors scaled once
     * by {@code d·sc}; the min term is {@code dmin·Σ m·xs}, in scalar code; the nibbles are widened to 32-bit
     * lanes and split there (one mask, one shift). A method per block and pair of rows, with only scalars
     * crossing the call: C2 stops inlining into a method whose graph passes its node budget
     * (NodeCountInliningCutoff), and a Vector API call left out of line boxes its vectors. A kernel of four rows
     * passes it; this one, when it read the packed scales twice a row (for the scales, then for the mins: four
     * segment accesses, each a long chain of inlined checks), sat at the limit: in 4 of 12 JVMs of a Q4_K_M
     * model the conversions of the second row's high nibbles were left out (31 MB of heap a token, a quarter of
     * the speed). Each row's 12 bytes of scales and mins are now read once, as a long and an int.
     */
    private static void q4_KBlock2(MemorySegment w, long o0, long o1, float[] x, float[] xs, int b, float[] out,
                                   int i0, int i1) {
        long lo0 = w.get(LONG, o0 + 4);
        int u20 = w.get(INT, o0 + 12);
        long lo1 = w.get(LONG, o1 + 4);
        int u21 = w.get(INT, o1 + 12);
        float d0 = BlockMatrix.f16(w, o0);
        float d1 = BlockMatrix.f16(w, o1);
        float m0 = BlockMatrix.f16(w, o0 + 2) * minDot(q4_KScales(lo0, u20, true), xs, 8 * b);
        float m1 = BlockMatrix.f16(w, o1 + 2) * minDot(q4_KScales(lo1, u21, true), xs, 8 * b);
        long sc0 = q4_KScales(lo0, u20, false);
        long sc1 = q4_KScales(lo1, u21, false);
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        for (int j = 0; j < 4; j++) { // 64 elements: sub-blocks 2j (low nibbles) and 2j + 1 (high)
            FloatVector l0 = FloatVector.zero(F);
            FloatVector h0 = FloatVector.zero(F);
            FloatVector l1 = FloatVector.zero(F);
            FloatVector h1 = FloatVector.zero(F);
            int xb = 256 * b + 64 * j;
            for (int h = 0; h < 32; h += 16) {
                long q = 16 + 32 * j + h;
                ByteVector q0 = load16(w, o0 + q);
                ByteVector q1 = load16(w, o1 + q);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector xl = FloatVector.fromArray(F, x, xb + h + p * L);
                    FloatVector xh = FloatVector.fromArray(F, x, xb + 32 + h + p * L);
                    IntVector v0 = widenU(q0, p);
                    IntVector v1 = widenU(q1, p);
                    l0 = toFloats(v0.and(0x0f)).fma(xl, l0);
                    h0 = toFloats(v0.lanewise(VectorOperators.LSHR, 4)).fma(xh, h0);
                    l1 = toFloats(v1.and(0x0f)).fma(xl, l1);
                    h1 = toFloats(v1.lanewise(VectorOperators.LSHR, 4)).fma(xh, h1);
                }
            }
            int sl = 16 * j;
            int sh = 16 * j + 8;
            a0 = h0.fma(FloatVector.broadcast(F, d0 * (int) ((sc0 >>> sh) & 0xff)),
                    l0.fma(FloatVector.broadcast(F, d0 * (int) ((sc0 >>> sl) & 0xff)), a0));
            a1 = h1.fma(FloatVector.broadcast(F, d1 * (int) ((sc1 >>> sh) & 0xff)),
                    l1.fma(FloatVector.broadcast(F, d1 * (int) ((sc1 >>> sl) & 0xff)), a1));
        }
        out[i0] += a0.reduceLanes(VectorOperators.ADD) - m0;
        out[i1] += a1.reduceLanes(VectorOperators.ADD) - m1;
    }

    /** @return {@code Σ_k m_k · xs[i + k]} for the eight mins packed in {@code mins} (a byte each) */
    private static float minDot(long mins, float[] xs, int i) {
        float s = 0;
        for (int k = 0; k < 8; k++) {
            s += (int) ((mins >>> (8 * k)) & 0xff) * xs[i + k];
        }
        return s;
    }

    static void q4_KDequantize(MemorySegment w, long off, float[] dst, int dOff, int cols) {
        for (int di = dOff, end = dOff + cols; di < end; di += 256, off += 144) {
            float d = BlockMatrix.f16(w, off);
            float dmin = BlockMatrix.f16(w, off + 2);
            for (int j = 0; j < 4; j++) {
                int sm1 = Q4_KMatrix.scaleMin(w, off + 4, 2 * j);
                int sm2 = Q4_KMatrix.scaleMin(w, off + 4, 2 * j + 1);
                float d1 = d * (sm1 & 0xff);
                float m1 = -dmin * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xff);
                float m2 = -dmin * (sm2 >>> 8);
                int db = di + 64 * j;
                for (int h = 0; h < 32; h += 16) {
                    ByteVector q = load16(w, off + 16 + 32 * j + h);
                    ByteVector lo = q.and((byte) 0x0f);
                    ByteVector hi = shr(q, 4).and((byte) 0x0f);
                    for (int p = 0; p < PARTS; p++) {
                        bytesToFloats(lo, p).fma(d1, m1).intoArray(dst, db + h + p * L);
                        bytesToFloats(hi, p).fma(d2, m2).intoArray(dst, db + 32 + h + p * L);
                    }
                }
            }
        }
    }

    // ---- Q5_K: f16 d, f16 dmin, scales[12], qh[32], qs[128]; x = d sc q - dmin m per sub-block of 32 ----

    /*
     * Q5_K's products dequantize a block at a time into the caller's scratch and take an F32 dot of it
     * (Q5_KMatrix): kernels that dot the quants in registers, as Q4_K's do, ran about 10x slower than Q4_K
     * per byte (2-4% of the memory bandwidth: some vector operation in them boxed, and -XX:+PrintInlining did
     * not show which), while this dequantization runs at Q4_K's speed.
     */

    static void q5_KDequantize(MemorySegment w, long off, float[] dst, int dOff, int cols) {
        for (int di = dOff, end = dOff + cols; di < end; di += 256, off += 176) {
            float d = BlockMatrix.f16(w, off);
            float dmin = BlockMatrix.f16(w, off + 2);
            for (int j = 0; j < 4; j++) {
                int sm1 = Q4_KMatrix.scaleMin(w, off + 4, 2 * j);
                int sm2 = Q4_KMatrix.scaleMin(w, off + 4, 2 * j + 1);
                float d1 = d * (sm1 & 0xff);
                float m1 = -dmin * (sm1 >>> 8);
                float d2 = d * (sm2 & 0xff);
                float m2 = -dmin * (sm2 >>> 8);
                int db = di + 64 * j;
                int lowMask = 1 << (2 * j);
                int highMask = lowMask << 1;
                float b1 = d1 * 16f / lowMask;
                float b2 = d2 * 16f / highMask;
                for (int h = 0; h < 32; h += 16) {
                    ByteVector q = load16(w, off + 48 + 32 * j + h);
                    ByteVector qh = load16(w, off + 16 + h);
                    ByteVector lo = q.and((byte) 0x0f);
                    ByteVector hi = shr(q, 4).and((byte) 0x0f);
                    for (int p = 0; p < PARTS; p++) {
                        IntVector e = widenU(qh, p);
                        toFloats(e.and(lowMask)).fma(FloatVector.broadcast(F, b1), bytesToFloats(lo, p).fma(d1, m1))
                                .intoArray(dst, db + h + p * L);
                        toFloats(e.and(highMask)).fma(FloatVector.broadcast(F, b2), bytesToFloats(hi, p).fma(d2, m2))
                                .intoArray(dst, db + 32 + h + p * L);
                    }
                }
            }
        }
    }

    // ---- Q6_K: ql[128], qh[64], int8 scales[16], f16 d; x = d sc (q - 32) per sub-block of 16 ----

    /*
     * K-quant dots call one method per 256-element block that returns a float: C2 stops inlining a
     * large kernel at NodeCountInliningCutoff, and a vector passed to or returned from a method that
     * is not inlined is boxed (a heap object per call, an order of magnitude slower). A float crosses
     * the call boundary in a register.
     */
    static float q6_KDot(MemorySegment w, long off, float[] x, int xOff, int cols) {
        float acc = 0;
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 256, off += 210) {
            acc += q6_KBlockDot(w, off, x, xi);
        }
        return acc;
    }

    private static float q6_KBlockDot(MemorySegment w, long off, float[] x, int xi) {
        float d = BlockMatrix.f16(w, off + 208);
        FloatVector acc = FloatVector.zero(F);
        for (int n = 0; n < 2; n++) { // halves of 128 elements
            long ql = off + 64 * n;
            long qh = off + 128 + 32 * n;
            long sc = off + 192 + 8 * n;
            int xb = xi + 128 * n;
            for (int l = 0; l < 32; l += 16) {
                int is = l / 16;
                ByteVector a = load16(w, ql + l);
                ByteVector b = load16(w, ql + 32 + l);
                ByteVector h = load16(w, qh + l);
                for (int k = 0; k < 4; k++) {
                    ByteVector low = ((k & 1) == 0 ? (k < 2 ? a : shr(a, 4)) : (k < 2 ? b : shr(b, 4)))
                            .and((byte) 0x0f);
                    ByteVector high = (k == 0 ? shl(h, 4) : k == 1 ? shl(h, 2) : k == 2 ? h : shr(h, 2))
                            .and((byte) 0x30);
                    ByteVector q = low.or(high).sub((byte) 32);
                    FloatVector s = FloatVector.zero(F);
                    for (int p = 0; p < PARTS; p++) {
                        s = bytesToFloats(q, p).fma(FloatVector.fromArray(F, x, xb + 32 * k + l + p * L), s);
                    }
                    acc = s.fma(FloatVector.broadcast(F, d * w.get(ValueLayout.JAVA_BYTE, sc + is + 2 * k)), acc);
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    static void q6_KDequantize(MemorySegment w, long off, float[] dst, int dOff, int cols) {
        for (int di = dOff, end = dOff + cols; di < end; di += 256, off += 210) {
            float d = BlockMatrix.f16(w, off + 208);
            for (int n = 0; n < 2; n++) {
                long ql = off + 64 * n;
                long qh = off + 128 + 32 * n;
                long sc = off + 192 + 8 * n;
                int db = di + 128 * n;
                for (int l = 0; l < 32; l += 16) {
                    int is = l / 16;
                    ByteVector a = load16(w, ql + l);
                    ByteVector b = load16(w, ql + 32 + l);
                    ByteVector h = load16(w, qh + l);
                    for (int k = 0; k < 4; k++) {
                        ByteVector low = ((k & 1) == 0 ? (k < 2 ? a : shr(a, 4)) : (k < 2 ? b : shr(b, 4)))
                                .and((byte) 0x0f);
                        // bits 2k, 2k + 1 of h moved to bits 4, 5
                        ByteVector high = (k == 0 ? shl(h, 4) : k == 1 ? shl(h, 2) : k == 2 ? h : shr(h, 2))
                                .and((byte) 0x30);
                        ByteVector q = low.or(high).sub((byte) 32);
                        float ds = d * w.get(ValueLayout.JAVA_BYTE, sc + is + 2 * k);
                        for (int p = 0; p < PARTS; p++) {
                            bytesToFloats(q, p).mul(ds).intoArray(dst, db + 32 * k + l + p * L);
                        }
                    }
                }
            }
        }
    }

    // ---- the batched path: a register-blocked product of float tiles and input panels ----

    /** Batch columns of an input panel: four vectors, the widest micro-kernel. */
    static final int PANEL = 4 * L;

    /*
     * c[r, j] += Σ_k w[r, k] · xt[k, j] for r < 6 and j < 16·nv (nv = 4, 2, 1 vectors):
     * w at w[wOff + r·ldw + k] (a dequantized tile, row-major), xt at xt[xtOff + k·PANEL + j] (a
     * transposed input panel), c at c[cOff + r·ldc + j]. The 6·nv accumulators stay in registers over
     * the kc steps; each step loads nv panel vectors and broadcasts 6 weights for 6·nv FMAs.
     */
    static void gemm6x4(float[] w, int wOff, int ldw, float[] xt, int xtOff, int kc, float[] c, int cOff, int ldc) {
        int w0 = wOff;
        int w1 = wOff + ldw;
        int w2 = wOff + 2 * ldw;
        int w3 = wOff + 3 * ldw;
        int w4 = wOff + 4 * ldw;
        int w5 = wOff + 5 * ldw;
        int o0 = cOff;
        int o1 = cOff + ldc;
        int o2 = cOff + 2 * ldc;
        int o3 = cOff + 3 * ldc;
        int o4 = cOff + 4 * ldc;
        int o5 = cOff + 5 * ldc;
        FloatVector c00 = FloatVector.fromArray(F, c, o0);
        FloatVector c01 = FloatVector.fromArray(F, c, o0 + L);
        FloatVector c02 = FloatVector.fromArray(F, c, o0 + 2 * L);
        FloatVector c03 = FloatVector.fromArray(F, c, o0 + 3 * L);
        FloatVector c10 = FloatVector.fromArray(F, c, o1);
        FloatVector c11 = FloatVector.fromArray(F, c, o1 + L);
        FloatVector c12 = FloatVector.fromArray(F, c, o1 + 2 * L);
        FloatVector c13 = FloatVector.fromArray(F, c, o1 + 3 * L);
        FloatVector c20 = FloatVector.fromArray(F, c, o2);
        FloatVector c21 = FloatVector.fromArray(F, c, o2 + L);
        FloatVector c22 = FloatVector.fromArray(F, c, o2 + 2 * L);
        FloatVector c23 = FloatVector.fromArray(F, c, o2 + 3 * L);
        FloatVector c30 = FloatVector.fromArray(F, c, o3);
        FloatVector c31 = FloatVector.fromArray(F, c, o3 + L);
        FloatVector c32 = FloatVector.fromArray(F, c, o3 + 2 * L);
        FloatVector c33 = FloatVector.fromArray(F, c, o3 + 3 * L);
        FloatVector c40 = FloatVector.fromArray(F, c, o4);
        FloatVector c41 = FloatVector.fromArray(F, c, o4 + L);
        FloatVector c42 = FloatVector.fromArray(F, c, o4 + 2 * L);
        FloatVector c43 = FloatVector.fromArray(F, c, o4 + 3 * L);
        FloatVector c50 = FloatVector.fromArray(F, c, o5);
        FloatVector c51 = FloatVector.fromArray(F, c, o5 + L);
        FloatVector c52 = FloatVector.fromArray(F, c, o5 + 2 * L);
        FloatVector c53 = FloatVector.fromArray(F, c, o5 + 3 * L);
        for (int k = 0; k < kc; k++) {
            int xi = xtOff + k * PANEL;
            FloatVector x0 = FloatVector.fromArray(F, xt, xi);
            FloatVector x1 = FloatVector.fromArray(F, xt, xi + L);
            FloatVector x2 = FloatVector.fromArray(F, xt, xi + 2 * L);
            FloatVector x3 = FloatVector.fromArray(F, xt, xi + 3 * L);
            FloatVector b0 = FloatVector.broadcast(F, w[w0 + k]);
            c00 = x0.fma(b0, c00);
            c01 = x1.fma(b0, c01);
            c02 = x2.fma(b0, c02);
            c03 = x3.fma(b0, c03);
            FloatVector b1 = FloatVector.broadcast(F, w[w1 + k]);
            c10 = x0.fma(b1, c10);
            c11 = x1.fma(b1, c11);
            c12 = x2.fma(b1, c12);
            c13 = x3.fma(b1, c13);
            FloatVector b2 = FloatVector.broadcast(F, w[w2 + k]);
            c20 = x0.fma(b2, c20);
            c21 = x1.fma(b2, c21);
            c22 = x2.fma(b2, c22);
            c23 = x3.fma(b2, c23);
            FloatVector b3 = FloatVector.broadcast(F, w[w3 + k]);
            c30 = x0.fma(b3, c30);
            c31 = x1.fma(b3, c31);
            c32 = x2.fma(b3, c32);
            c33 = x3.fma(b3, c33);
            FloatVector b4 = FloatVector.broadcast(F, w[w4 + k]);
            c40 = x0.fma(b4, c40);
            c41 = x1.fma(b4, c41);
            c42 = x2.fma(b4, c42);
            c43 = x3.fma(b4, c43);
            FloatVector b5 = FloatVector.broadcast(F, w[w5 + k]);
            c50 = x0.fma(b5, c50);
            c51 = x1.fma(b5, c51);
            c52 = x2.fma(b5, c52);
            c53 = x3.fma(b5, c53);
        }
        c00.intoArray(c, o0);
        c01.intoArray(c, o0 + L);
        c02.intoArray(c, o0 + 2 * L);
        c03.intoArray(c, o0 + 3 * L);
        c10.intoArray(c, o1);
        c11.intoArray(c, o1 + L);
        c12.intoArray(c, o1 + 2 * L);
        c13.intoArray(c, o1 + 3 * L);
        c20.intoArray(c, o2);
        c21.intoArray(c, o2 + L);
        c22.intoArray(c, o2 + 2 * L);
        c23.intoArray(c, o2 + 3 * L);
        c30.intoArray(c, o3);
        c31.intoArray(c, o3 + L);
        c32.intoArray(c, o3 + 2 * L);
        c33.intoArray(c, o3 + 3 * L);
        c40.intoArray(c, o4);
        c41.intoArray(c, o4 + L);
        c42.intoArray(c, o4 + 2 * L);
        c43.intoArray(c, o4 + 3 * L);
        c50.intoArray(c, o5);
        c51.intoArray(c, o5 + L);
        c52.intoArray(c, o5 + 2 * L);
        c53.intoArray(c, o5 + 3 * L);
    }

    static void gemm6x2(float[] w, int wOff, int ldw, float[] xt, int xtOff, int kc, float[] c, int cOff, int ldc) {
        int w0 = wOff;
        int w1 = wOff + ldw;
        int w2 = wOff + 2 * ldw;
        int w3 = wOff + 3 * ldw;
        int w4 = wOff + 4 * ldw;
        int w5 = wOff + 5 * ldw;
        int o0 = cOff;
        int o1 = cOff + ldc;
        int o2 = cOff + 2 * ldc;
        int o3 = cOff + 3 * ldc;
        int o4 = cOff + 4 * ldc;
        int o5 = cOff + 5 * ldc;
        FloatVector c00 = FloatVector.fromArray(F, c, o0);
        FloatVector c01 = FloatVector.fromArray(F, c, o0 + L);
        FloatVector c10 = FloatVector.fromArray(F, c, o1);
        FloatVector c11 = FloatVector.fromArray(F, c, o1 + L);
        FloatVector c20 = FloatVector.fromArray(F, c, o2);
        FloatVector c21 = FloatVector.fromArray(F, c, o2 + L);
        FloatVector c30 = FloatVector.fromArray(F, c, o3);
        FloatVector c31 = FloatVector.fromArray(F, c, o3 + L);
        FloatVector c40 = FloatVector.fromArray(F, c, o4);
        FloatVector c41 = FloatVector.fromArray(F, c, o4 + L);
        FloatVector c50 = FloatVector.fromArray(F, c, o5);
        FloatVector c51 = FloatVector.fromArray(F, c, o5 + L);
        for (int k = 0; k < kc; k++) {
            int xi = xtOff + k * PANEL;
            FloatVector x0 = FloatVector.fromArray(F, xt, xi);
            FloatVector x1 = FloatVector.fromArray(F, xt, xi + L);
            FloatVector b0 = FloatVector.broadcast(F, w[w0 + k]);
            c00 = x0.fma(b0, c00);
            c01 = x1.fma(b0, c01);
            FloatVector b1 = FloatVector.broadcast(F, w[w1 + k]);
            c10 = x0.fma(b1, c10);
            c11 = x1.fma(b1, c11);
            FloatVector b2 = FloatVector.broadcast(F, w[w2 + k]);
            c20 = x0.fma(b2, c20);
            c21 = x1.fma(b2, c21);
            FloatVector b3 = FloatVector.broadcast(F, w[w3 + k]);
            c30 = x0.fma(b3, c30);
            c31 = x1.fma(b3, c31);
            FloatVector b4 = FloatVector.broadcast(F, w[w4 + k]);
            c40 = x0.fma(b4, c40);
            c41 = x1.fma(b4, c41);
            FloatVector b5 = FloatVector.broadcast(F, w[w5 + k]);
            c50 = x0.fma(b5, c50);
            c51 = x1.fma(b5, c51);
        }
        c00.intoArray(c, o0);
        c01.intoArray(c, o0 + L);
        c10.intoArray(c, o1);
        c11.intoArray(c, o1 + L);
        c20.intoArray(c, o2);
        c21.intoArray(c, o2 + L);
        c30.intoArray(c, o3);
        c31.intoArray(c, o3 + L);
        c40.intoArray(c, o4);
        c41.intoArray(c, o4 + L);
        c50.intoArray(c, o5);
        c51.intoArray(c, o5 + L);
    }

    static void gemm6x1(float[] w, int wOff, int ldw, float[] xt, int xtOff, int kc, float[] c, int cOff, int ldc) {
        int w0 = wOff;
        int w1 = wOff + ldw;
        int w2 = wOff + 2 * ldw;
        int w3 = wOff + 3 * ldw;
        int w4 = wOff + 4 * ldw;
        int w5 = wOff + 5 * ldw;
        int o0 = cOff;
        int o1 = cOff + ldc;
        int o2 = cOff + 2 * ldc;
        int o3 = cOff + 3 * ldc;
        int o4 = cOff + 4 * ldc;
        int o5 = cOff + 5 * ldc;
        FloatVector c00 = FloatVector.fromArray(F, c, o0);
        FloatVector c10 = FloatVector.fromArray(F, c, o1);
        FloatVector c20 = FloatVector.fromArray(F, c, o2);
        FloatVector c30 = FloatVector.fromArray(F, c, o3);
        FloatVector c40 = FloatVector.fromArray(F, c, o4);
        FloatVector c50 = FloatVector.fromArray(F, c, o5);
        for (int k = 0; k < kc; k++) {
            int xi = xtOff + k * PANEL;
            FloatVector x0 = FloatVector.fromArray(F, xt, xi);
            FloatVector b0 = FloatVector.broadcast(F, w[w0 + k]);
            c00 = x0.fma(b0, c00);
            FloatVector b1 = FloatVector.broadcast(F, w[w1 + k]);
            c10 = x0.fma(b1, c10);
            FloatVector b2 = FloatVector.broadcast(F, w[w2 + k]);
            c20 = x0.fma(b2, c20);
            FloatVector b3 = FloatVector.broadcast(F, w[w3 + k]);
            c30 = x0.fma(b3, c30);
            FloatVector b4 = FloatVector.broadcast(F, w[w4 + k]);
            c40 = x0.fma(b4, c40);
            FloatVector b5 = FloatVector.broadcast(F, w[w5 + k]);
            c50 = x0.fma(b5, c50);
        }
        c00.intoArray(c, o0);
        c10.intoArray(c, o1);
        c20.intoArray(c, o2);
        c30.intoArray(c, o3);
        c40.intoArray(c, o4);
        c50.intoArray(c, o5);
    }
}

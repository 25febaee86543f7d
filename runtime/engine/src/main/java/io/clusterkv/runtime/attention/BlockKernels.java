package io.clusterkv.runtime.attention;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.FMA;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.MAX;
import static jdk.incubator.vector.VectorOperators.MUL;
import static jdk.incubator.vector.VectorOperators.SUB;

/**
 * The Vector API loops of attention over one block of F32 rows, for a tile of 1, 2 or 4 query heads:
 * scores ({@code q · k}), the exponential, and the weighted value sum.
 *
 * <p>Design notes.
 *
 * <ul>
 *   <li>A block is {@code rows} rows at {@code off, off + stride, ...} of a {@code float[]} the caller
 *       staged: every row is copied (F32) or widened (F16) into a heap block first, also the F32 rows
 *       of a shard's chunk that could be read in place. Loads from a heap array cost less than loads
 *       from a segment (no session or bounds check inside the loop; a segment load also costs C2 many
 *       more nodes, which kept the segment forms of the kernels to narrower tiles, under its inlining
 *       cutoff), and the bulk copy streams memory better than loads interleaved with arithmetic, so
 *       exact attention reads more bytes per CPU-second staged than in place (docs/BENCHMARKS.md). A
 *       block is small enough to stay in L1 while the tiles of a wide group reread it, so each row
 *       comes from memory once.
 *   <li>Scores of a tile are stored row-major with the heads interleaved, {@code s[i * tile + h]}. The
 *       four-head kernel reads a key row once for all four heads (two rows, eight FMA chains at a
 *       time); the accumulators of a pair of rows are reduced together by a transposing butterfly
 *       (see the note on reductions: about three vector operations a score instead of a full
 *       horizontal reduction each) straight into that layout. The softmax then works on whole
 *       vectors whose lane {@code j} belongs to head {@code j % tile}: maxima and sums fold across
 *       lanes at the end of the block, not per score.
 *   <li>The value sum keeps a tile of the accumulator in registers across all rows of the block and
 *       broadcasts each weight once per tile of channels: four heads by four channel vectors (sixteen
 *       registers).
 *   <li>{@code dim}, the channels a loop covers, is always a multiple of the lane count: no masks and
 *       no tails, which keeps the compiled loops small enough for C2 to inline and scalarise every
 *       vector. (A masked tail, 16 accumulators over a segment, a second reduction for a tail row, or
 *       eight rows of one head reduced at once pushed C2 past its inlining node budget, and the
 *       vectors were boxed on the heap.) Rows of another width are staged into zero-padded scratch
 *       rows by the caller.
 *   <li>No vector crosses a call that C2 might not inline, or might inline without a profile: the
 *       only helper taking vectors is the tiny {@link #merge}; the softmax step ({@link #weigh}) is
 *       one method that is never inlined and leaves its lane-wise results in arrays. A vector passed
 *       to or returned from a method that is not inlined is boxed, one heap allocation each time.
 *   <li>The exponential is a polynomial (in {@link #weigh}); {@code lanewise(EXP)} calls out of line.
 * </ul>
 */
final class BlockKernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() >= 4
            ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_128;
    static final int L = F.length();
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final VectorMask<Float> BIT0 = laneBit(1);
    private static final VectorMask<Float> BIT1 = laneBit(2);
    private static final VectorMask<Float> BIT2 = laneBit(4);
    private static final IntVector PARTNER1 = partners(1);
    private static final IntVector PARTNER2 = partners(2);
    private static final IntVector PARTNER4 = partners(4);
    private static final VectorShuffle<Float> XOR1 = xorLanes(1);
    private static final VectorShuffle<Float> XOR2 = xorLanes(2);
    private static final VectorShuffle<Float> XOR4 = xorLanes(4);
    private static final VectorShuffle<Float> XOR8 = xorLanes(8);
    private static final VectorShuffle<Float> XOR16 = xorLanes(16);
    private static final VectorShuffle<Float> XOR32 = xorLanes(32);

    static {
        if (L > 64) {
            throw new ExceptionInInitializerError("vectors of " + L + " floats are not supported (at most 64)");
        }
    }

    private BlockKernels() {
    }

    private static VectorMask<Float> laneBit(int bit) {
        boolean[] set = new boolean[L];
        for (int i = 0; i < L; i++) {
            set[i] = (i & bit) != 0;
        }
        return VectorMask.fromArray(F, set, 0);
    }

    /** Lane {@code i} picks lane {@code i ^ d} of the first vector if bit {@code d} of {@code i} is clear, else of the second. */
    private static IntVector partners(int d) {
        int[] index = new int[L];
        for (int i = 0; i < L; i++) {
            index[i] = (i & d) == 0 ? i ^ d : (i ^ d) + L;
        }
        return IntVector.fromArray(I, index, 0);
    }

    private static VectorShuffle<Float> xorLanes(int d) {
        return VectorShuffle.fromOp(F, i -> d < L ? i ^ d : i);
    }

    /** @return {@code n} rounded up to a multiple of the lane count */
    static int padded(int n) {
        return (n + L - 1) / L * L;
    }

    // ---------------------------------------------------------------- reductions
    //
    // A score is the sum of the lanes of one accumulator. The kernels reduce four accumulators (four
    // heads of a row, or four rows of a head) at once with a transposing butterfly: two merge steps
    // leave in lane j the sum of the lanes j' = j (mod 4) of accumulator j % 4, and folding the
    // vector onto itself (XOR4, XOR8, ...) completes the four sums in lanes 0..3. Two such quads
    // merge once more (bit 2) before the folds, so two rows of four heads take 23 vector operations
    // instead of 32, and land in lanes 0..7 in the order the scores are stored.
    //
    // The butterfly is written out in every kernel, with merge the only helper: small enough (under
    // 35 bytes of bytecode) that C1 and C2 always inline it. Larger helpers taking vectors (sum4 and
    // sum8 as methods, the exponential) were sometimes compiled on their own, from C1's unprofiled
    // tier or before the kernel; C2 then either left them out of line or inlined them without a type
    // profile for their virtual Vector API calls, and either way boxed every vector and ran the
    // operations without intrinsics: garbage on every call, in some JVM runs and not in others.

    /**
     * Lanes with bit {@code d} clear: {@code a[i] + a[i^d]}; lanes with it set: {@code b[i] + b[i^d]}.
     * Three operations: the partner lanes of both vectors come from one two-source permutation
     * ({@code vpermi2d} with AVX-512). The integer form on purpose: the float {@code selectFrom}
     * converts its float indexes in every call, inside the loop.
     */
    private static FloatVector merge(FloatVector a, FloatVector b, VectorMask<Float> bit, IntVector partners) {
        IntVector p = partners.selectFrom(a.reinterpretAsInts(), b.reinterpretAsInts());
        return a.blend(b, bit).add(p.reinterpretAsFloats());
    }

    // ---------------------------------------------------------------- scores

    /**
     * Scores of four heads, {@code s[s0 + 4 * i + h] = q_h · k_i}, two rows at a time (eight FMA
     * chains), the two rows' accumulators reduced together. An odd last row is paired with itself.
     * Each store writes {@code L} floats from the pair's first score; later pairs overwrite the
     * excess, and {@code L} floats past the last row's scores must be writable.
     *
     * @param k       keys, F32 rows of {@code dim} channels (and any padding)
     * @param off     index of row 0
     * @param stride  floats from a row to the next
     * @param rows    rows
     * @param q       queries, head {@code h} at {@code q0 + h * qStride}
     * @param q0      index of the first head's query
     * @param qStride floats from one query to the next
     * @param dim     channels, a multiple of {@code L}
     * @param s       scores
     * @param s0      index of the first score
     */
    static void scores4(float[] k, int off, int stride, int rows, float[] q, int q0, int qStride, int dim,
                        float[] s, int s0) {
        int q1 = q0 + qStride;
        int q2 = q1 + qStride;
        int q3 = q2 + qStride;
        for (int i = 0; i < rows; i += 2, off += 2 * stride) {
            int o1 = i + 1 < rows ? off + stride : off; // an odd last row is paired with itself
            FloatVector z = FloatVector.zero(F);
            FloatVector a00 = z, a10 = z, a20 = z, a30 = z; // a{head}{row}
            FloatVector a01 = z, a11 = z, a21 = z, a31 = z;
            for (int c = 0; c < dim; c += L) {
                FloatVector k0 = FloatVector.fromArray(F, k, off + c);
                FloatVector k1 = FloatVector.fromArray(F, k, o1 + c);
                FloatVector qv = FloatVector.fromArray(F, q, q0 + c);
                a00 = k0.fma(qv, a00);
                a01 = k1.fma(qv, a01);
                qv = FloatVector.fromArray(F, q, q1 + c);
                a10 = k0.fma(qv, a10);
                a11 = k1.fma(qv, a11);
                qv = FloatVector.fromArray(F, q, q2 + c);
                a20 = k0.fma(qv, a20);
                a21 = k1.fma(qv, a21);
                qv = FloatVector.fromArray(F, q, q3 + c);
                a30 = k0.fma(qv, a30);
                a31 = k1.fma(qv, a31);
            }
            FloatVector za = merge(merge(a00, a10, BIT0, PARTNER1), merge(a20, a30, BIT0, PARTNER1), BIT1, PARTNER2);
            FloatVector zb = merge(merge(a01, a11, BIT0, PARTNER1), merge(a21, a31, BIT0, PARTNER1), BIT1, PARTNER2);
            if (L >= 8) {
                FloatVector z2 = merge(za, zb, BIT2, PARTNER4);
                if (L > 8) {
                    z2 = z2.add(z2.rearrange(XOR8));
                }
                if (L > 16) {
                    z2 = z2.add(z2.rearrange(XOR16));
                }
                if (L > 32) {
                    z2 = z2.add(z2.rearrange(XOR32));
                }
                z2.intoArray(s, s0 + 4 * i);
            } else { // four lanes: each quad holds its four sums
                za.intoArray(s, s0 + 4 * i);
                zb.intoArray(s, s0 + 4 * i + 4);
            }
        }
    }

    /** Scores of two heads over a {@code float[]} block, {@code s[s0 + 2 * i + h]}; as {@link #scores4} otherwise. */
    static void scores2(float[] k, int off, int stride, int rows, float[] q, int q0, int qStride, int dim,
                        float[] s, int s0) {
        int q1 = q0 + qStride;
        for (int i = 0; i < rows; i += 4, off += 4 * stride) {
            int last = off + (rows - 1 - i) * stride; // the last group is filled up with copies of the last row
            int o1 = Math.min(off + stride, last);
            int o2 = Math.min(off + 2 * stride, last);
            int o3 = Math.min(off + 3 * stride, last);
            FloatVector z = FloatVector.zero(F);
            FloatVector a00 = z, a01 = z, a02 = z, a03 = z; // a{head}{row}
            FloatVector a10 = z, a11 = z, a12 = z, a13 = z;
            for (int c = 0; c < dim; c += L) {
                FloatVector k0 = FloatVector.fromArray(F, k, off + c);
                FloatVector k1 = FloatVector.fromArray(F, k, o1 + c);
                FloatVector k2 = FloatVector.fromArray(F, k, o2 + c);
                FloatVector k3 = FloatVector.fromArray(F, k, o3 + c);
                FloatVector qv = FloatVector.fromArray(F, q, q0 + c);
                a00 = k0.fma(qv, a00);
                a01 = k1.fma(qv, a01);
                a02 = k2.fma(qv, a02);
                a03 = k3.fma(qv, a03);
                qv = FloatVector.fromArray(F, q, q1 + c);
                a10 = k0.fma(qv, a10);
                a11 = k1.fma(qv, a11);
                a12 = k2.fma(qv, a12);
                a13 = k3.fma(qv, a13);
            }
            FloatVector za = merge(merge(a00, a10, BIT0, PARTNER1), merge(a01, a11, BIT0, PARTNER1), BIT1, PARTNER2);
            FloatVector zb = merge(merge(a02, a12, BIT0, PARTNER1), merge(a03, a13, BIT0, PARTNER1), BIT1, PARTNER2);
            if (L >= 8) {
                FloatVector z2 = merge(za, zb, BIT2, PARTNER4);
                if (L > 8) {
                    z2 = z2.add(z2.rearrange(XOR8));
                }
                if (L > 16) {
                    z2 = z2.add(z2.rearrange(XOR16));
                }
                if (L > 32) {
                    z2 = z2.add(z2.rearrange(XOR32));
                }
                z2.intoArray(s, s0 + 2 * i);
            } else { // four lanes: each quad holds its four sums
                za.intoArray(s, s0 + 2 * i);
                zb.intoArray(s, s0 + 2 * i + 4);
            }
        }
    }

    /** Scores of one head over a {@code float[]} block, {@code s[s0 + i]}; as {@link #scores4} otherwise. */
    static void scores1(float[] k, int off, int stride, int rows, float[] q, int q0, int dim, float[] s,
                        int s0) {
        int i = 0;
        for (; i + 4 <= rows; i += 4, off += 4 * stride) {
            int o1 = off + stride;
            int o2 = o1 + stride;
            int o3 = o2 + stride;
            FloatVector z = FloatVector.zero(F);
            FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
            for (int c = 0; c < dim; c += L) {
                FloatVector qv = FloatVector.fromArray(F, q, q0 + c);
                a0 = FloatVector.fromArray(F, k, off + c).fma(qv, a0);
                a1 = FloatVector.fromArray(F, k, o1 + c).fma(qv, a1);
                a2 = FloatVector.fromArray(F, k, o2 + c).fma(qv, a2);
                a3 = FloatVector.fromArray(F, k, o3 + c).fma(qv, a3);
            }
            FloatVector zq = merge(merge(a0, a1, BIT0, PARTNER1), merge(a2, a3, BIT0, PARTNER1), BIT1, PARTNER2);
            if (L > 4) {
                zq = zq.add(zq.rearrange(XOR4));
            }
            if (L > 8) {
                zq = zq.add(zq.rearrange(XOR8));
            }
            if (L > 16) {
                zq = zq.add(zq.rearrange(XOR16));
            }
            if (L > 32) {
                zq = zq.add(zq.rearrange(XOR32));
            }
            zq.intoArray(s, s0 + i);
        }
        for (; i < rows; i++, off += stride) {
            FloatVector a = FloatVector.zero(F);
            for (int c = 0; c < dim; c += L) {
                a = FloatVector.fromArray(F, k, off + c).fma(FloatVector.fromArray(F, q, q0 + c), a);
            }
            a = a.add(a.rearrange(XOR1)); // the butterfly, not reduceLanes: its order differs between
            a = a.add(a.rearrange(XOR2)); // C2 and the interpreter
            if (L > 4) {
                a = a.add(a.rearrange(XOR4));
            }
            if (L > 8) {
                a = a.add(a.rearrange(XOR8));
            }
            if (L > 16) {
                a = a.add(a.rearrange(XOR16));
            }
            if (L > 32) {
                a = a.add(a.rearrange(XOR32));
            }
            s[s0 + i] = a.lane(0);
        }
    }

    /**
     * {@code acc[a0 + h * accStride + c] += sum_i w[w0 + 4 * i + h] * v_i[c]} for four heads over rows
     * of a {@code float[]} block: tiles of four channel vectors for the four heads (sixteen
     * accumulators: a row's weights are broadcast once per 4L channels), then of two and one.
     *
     * @param v      values, F32 rows of {@code dim} channels (and any padding)
     * @param off    index of row 0
     * @param stride floats from a row to the next
     */
    static void accumulate4(float[] v, int off, int stride, int rows, float[] w, int w0, int dim,
                            float[] acc, int a0, int accStride) {
        int a1 = a0 + accStride;
        int a2 = a1 + accStride;
        int a3 = a2 + accStride;
        int c = 0;
        for (; c + 4 * L <= dim; c += 4 * L) {
            int c1 = c + L;
            int c2 = c1 + L;
            int c3 = c2 + L;
            FloatVector x00 = FloatVector.fromArray(F, acc, a0 + c), x01 = FloatVector.fromArray(F, acc, a0 + c1);
            FloatVector x02 = FloatVector.fromArray(F, acc, a0 + c2), x03 = FloatVector.fromArray(F, acc, a0 + c3);
            FloatVector x10 = FloatVector.fromArray(F, acc, a1 + c), x11 = FloatVector.fromArray(F, acc, a1 + c1);
            FloatVector x12 = FloatVector.fromArray(F, acc, a1 + c2), x13 = FloatVector.fromArray(F, acc, a1 + c3);
            FloatVector x20 = FloatVector.fromArray(F, acc, a2 + c), x21 = FloatVector.fromArray(F, acc, a2 + c1);
            FloatVector x22 = FloatVector.fromArray(F, acc, a2 + c2), x23 = FloatVector.fromArray(F, acc, a2 + c3);
            FloatVector x30 = FloatVector.fromArray(F, acc, a3 + c), x31 = FloatVector.fromArray(F, acc, a3 + c1);
            FloatVector x32 = FloatVector.fromArray(F, acc, a3 + c2), x33 = FloatVector.fromArray(F, acc, a3 + c3);
            int o = off + c;
            for (int i = 0, wi = w0; i < rows; i++, o += stride, wi += 4) {
                FloatVector v0 = FloatVector.fromArray(F, v, o);
                FloatVector v1 = FloatVector.fromArray(F, v, o + L);
                FloatVector v2 = FloatVector.fromArray(F, v, o + 2 * L);
                FloatVector v3 = FloatVector.fromArray(F, v, o + 3 * L);
                FloatVector wv = FloatVector.broadcast(F, w[wi]);
                x00 = v0.fma(wv, x00);
                x01 = v1.fma(wv, x01);
                x02 = v2.fma(wv, x02);
                x03 = v3.fma(wv, x03);
                wv = FloatVector.broadcast(F, w[wi + 1]);
                x10 = v0.fma(wv, x10);
                x11 = v1.fma(wv, x11);
                x12 = v2.fma(wv, x12);
                x13 = v3.fma(wv, x13);
                wv = FloatVector.broadcast(F, w[wi + 2]);
                x20 = v0.fma(wv, x20);
                x21 = v1.fma(wv, x21);
                x22 = v2.fma(wv, x22);
                x23 = v3.fma(wv, x23);
                wv = FloatVector.broadcast(F, w[wi + 3]);
                x30 = v0.fma(wv, x30);
                x31 = v1.fma(wv, x31);
                x32 = v2.fma(wv, x32);
                x33 = v3.fma(wv, x33);
            }
            x00.intoArray(acc, a0 + c);
            x01.intoArray(acc, a0 + c1);
            x02.intoArray(acc, a0 + c2);
            x03.intoArray(acc, a0 + c3);
            x10.intoArray(acc, a1 + c);
            x11.intoArray(acc, a1 + c1);
            x12.intoArray(acc, a1 + c2);
            x13.intoArray(acc, a1 + c3);
            x20.intoArray(acc, a2 + c);
            x21.intoArray(acc, a2 + c1);
            x22.intoArray(acc, a2 + c2);
            x23.intoArray(acc, a2 + c3);
            x30.intoArray(acc, a3 + c);
            x31.intoArray(acc, a3 + c1);
            x32.intoArray(acc, a3 + c2);
            x33.intoArray(acc, a3 + c3);
        }
        for (; c < dim; c += L) { // at most three vectors left
            FloatVector x0 = FloatVector.fromArray(F, acc, a0 + c);
            FloatVector x1 = FloatVector.fromArray(F, acc, a1 + c);
            FloatVector x2 = FloatVector.fromArray(F, acc, a2 + c);
            FloatVector x3 = FloatVector.fromArray(F, acc, a3 + c);
            int o = off + c;
            for (int i = 0, wi = w0; i < rows; i++, o += stride, wi += 4) {
                FloatVector v0 = FloatVector.fromArray(F, v, o);
                x0 = v0.fma(FloatVector.broadcast(F, w[wi]), x0);
                x1 = v0.fma(FloatVector.broadcast(F, w[wi + 1]), x1);
                x2 = v0.fma(FloatVector.broadcast(F, w[wi + 2]), x2);
                x3 = v0.fma(FloatVector.broadcast(F, w[wi + 3]), x3);
            }
            x0.intoArray(acc, a0 + c);
            x1.intoArray(acc, a1 + c);
            x2.intoArray(acc, a2 + c);
            x3.intoArray(acc, a3 + c);
        }
    }

    /** {@link #accumulate4(float[], int, int, int, float[], int, int, float[], int, int)} for two heads, weights {@code w[w0 + 2 * i + h]}: tiles of four channel vectors. */
    static void accumulate2(float[] v, int off, int stride, int rows, float[] w, int w0, int dim,
                            float[] acc, int a0, int accStride) {
        int a1 = a0 + accStride;
        int c = 0;
        for (; c + 4 * L <= dim; c += 4 * L) {
            int c1 = c + L;
            int c2 = c1 + L;
            int c3 = c2 + L;
            FloatVector x00 = FloatVector.fromArray(F, acc, a0 + c), x01 = FloatVector.fromArray(F, acc, a0 + c1);
            FloatVector x02 = FloatVector.fromArray(F, acc, a0 + c2), x03 = FloatVector.fromArray(F, acc, a0 + c3);
            FloatVector x10 = FloatVector.fromArray(F, acc, a1 + c), x11 = FloatVector.fromArray(F, acc, a1 + c1);
            FloatVector x12 = FloatVector.fromArray(F, acc, a1 + c2), x13 = FloatVector.fromArray(F, acc, a1 + c3);
            int o = off + c;
            for (int i = 0, wi = w0; i < rows; i++, o += stride, wi += 2) {
                FloatVector v0 = FloatVector.fromArray(F, v, o);
                FloatVector v1 = FloatVector.fromArray(F, v, o + L);
                FloatVector v2 = FloatVector.fromArray(F, v, o + 2 * L);
                FloatVector v3 = FloatVector.fromArray(F, v, o + 3 * L);
                FloatVector wv = FloatVector.broadcast(F, w[wi]);
                x00 = v0.fma(wv, x00);
                x01 = v1.fma(wv, x01);
                x02 = v2.fma(wv, x02);
                x03 = v3.fma(wv, x03);
                wv = FloatVector.broadcast(F, w[wi + 1]);
                x10 = v0.fma(wv, x10);
                x11 = v1.fma(wv, x11);
                x12 = v2.fma(wv, x12);
                x13 = v3.fma(wv, x13);
            }
            x00.intoArray(acc, a0 + c);
            x01.intoArray(acc, a0 + c1);
            x02.intoArray(acc, a0 + c2);
            x03.intoArray(acc, a0 + c3);
            x10.intoArray(acc, a1 + c);
            x11.intoArray(acc, a1 + c1);
            x12.intoArray(acc, a1 + c2);
            x13.intoArray(acc, a1 + c3);
        }
        for (; c < dim; c += L) {
            FloatVector x0 = FloatVector.fromArray(F, acc, a0 + c);
            FloatVector x1 = FloatVector.fromArray(F, acc, a1 + c);
            int o = off + c;
            for (int i = 0, wi = w0; i < rows; i++, o += stride, wi += 2) {
                FloatVector v0 = FloatVector.fromArray(F, v, o);
                x0 = v0.fma(FloatVector.broadcast(F, w[wi]), x0);
                x1 = v0.fma(FloatVector.broadcast(F, w[wi + 1]), x1);
            }
            x0.intoArray(acc, a0 + c);
            x1.intoArray(acc, a1 + c);
        }
    }

    /** The same for one head, weights {@code w[w0 + i]}: tiles of four channel vectors, even and odd rows apart. */
    static void accumulate1(float[] v, int off, int stride, int rows, float[] w, int w0, int dim,
                            float[] acc, int a0) {
        int c = 0;
        FloatVector z = FloatVector.zero(F);
        for (; c + 4 * L <= dim; c += 4 * L) {
            int c1 = c + L;
            int c2 = c1 + L;
            int c3 = c2 + L;
            FloatVector x0 = FloatVector.fromArray(F, acc, a0 + c), x1 = FloatVector.fromArray(F, acc, a0 + c1);
            FloatVector x2 = FloatVector.fromArray(F, acc, a0 + c2), x3 = FloatVector.fromArray(F, acc, a0 + c3);
            FloatVector y0 = z, y1 = z, y2 = z, y3 = z;
            int o = off + c;
            int i = 0;
            for (; i + 2 <= rows; i += 2, o += 2 * stride) {
                FloatVector wv = FloatVector.broadcast(F, w[w0 + i]);
                x0 = FloatVector.fromArray(F, v, o).fma(wv, x0);
                x1 = FloatVector.fromArray(F, v, o + L).fma(wv, x1);
                x2 = FloatVector.fromArray(F, v, o + 2 * L).fma(wv, x2);
                x3 = FloatVector.fromArray(F, v, o + 3 * L).fma(wv, x3);
                int p = o + stride;
                wv = FloatVector.broadcast(F, w[w0 + i + 1]);
                y0 = FloatVector.fromArray(F, v, p).fma(wv, y0);
                y1 = FloatVector.fromArray(F, v, p + L).fma(wv, y1);
                y2 = FloatVector.fromArray(F, v, p + 2 * L).fma(wv, y2);
                y3 = FloatVector.fromArray(F, v, p + 3 * L).fma(wv, y3);
            }
            if (i < rows) {
                FloatVector wv = FloatVector.broadcast(F, w[w0 + i]);
                x0 = FloatVector.fromArray(F, v, o).fma(wv, x0);
                x1 = FloatVector.fromArray(F, v, o + L).fma(wv, x1);
                x2 = FloatVector.fromArray(F, v, o + 2 * L).fma(wv, x2);
                x3 = FloatVector.fromArray(F, v, o + 3 * L).fma(wv, x3);
            }
            x0.add(y0).intoArray(acc, a0 + c);
            x1.add(y1).intoArray(acc, a0 + c1);
            x2.add(y2).intoArray(acc, a0 + c2);
            x3.add(y3).intoArray(acc, a0 + c3);
        }
        for (; c < dim; c += L) {
            FloatVector x0 = FloatVector.fromArray(F, acc, a0 + c);
            FloatVector y0 = z;
            int o = off + c;
            int i = 0;
            for (; i + 2 <= rows; i += 2, o += 2 * stride) {
                x0 = FloatVector.fromArray(F, v, o).fma(FloatVector.broadcast(F, w[w0 + i]), x0);
                y0 = FloatVector.fromArray(F, v, o + stride).fma(FloatVector.broadcast(F, w[w0 + i + 1]), y0);
            }
            if (i < rows) {
                x0 = FloatVector.fromArray(F, v, o).fma(FloatVector.broadcast(F, w[w0 + i]), x0);
            }
            x0.add(y0).intoArray(acc, a0 + c);
        }
    }

    // ---------------------------------------------------------------- the softmax step

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;          // few mantissa bits: n * LN2_HI is exact
    private static final float LN2_LO = -2.12194440e-4f;       // ln 2 - LN2_HI
    private static final float ROUND = 0x1.8p23f;              // adding it rounds to an integer in the low bits
    private static final float EXP_MIN = -87.0f;               // exp(-87) ~ 1.6e-38, still a normal float

    /**
     * The online-softmax step of a tile of heads over one block, between its scores and its value
     * sum: raises each head's running maximum to the block's, rescaling that head's running sum and
     * accumulator by {@code exp(m_old - m_new)} when it does, then replaces the scores by their
     * weights {@code exp(score - m)} and adds them to the running sums.
     *
     * <p>One method, not a set of small ones, and large enough that C2 never inlines it: compiled on
     * its own, with its own profile, whatever state its caller's profile is in (see the note on the
     * reductions). Vectors never cross its boundary: the lane-wise maxima and sums go through
     * {@code lanes} and are folded by head in scalar code. Its operations are {@code lanewise} calls
     * on purpose: the convenience methods ({@code max}, {@code fma(float, float)}, ...) make their
     * virtual call inside the JDK, where C2 reads a type profile that only this method feeds, and
     * which was sometimes still empty when C2 compiled it (every vector boxed, no intrinsics);
     * {@code lanewise} is called from here, and this method's own profile is what made it hot.
     *
     * <p>The exponential: {@code e^x} for {@code x <= 0}, within 2 ulp: {@code x = n ln2 + r},
     * {@code |r| <= ln2 / 2}, Cephes' polynomial for {@code e^r}, times {@code 2^n} built in the
     * exponent bits. Below {@code -87} it gives about {@code 1.6e-38} instead of a smaller value or 0,
     * harmless beside the weight 1 of the maximum. NaN stays NaN. ({@code lanewise(EXP)} calls out of
     * line.)
     *
     * @param s        scores of the tile, {@code count} of them from {@code s0}, lane {@code j} of each
     *                 vector belonging to head {@code j % tile}; replaced by the weights (and garbage
     *                 up to the next multiple of {@code L}, which the caller leaves room for)
     * @param tile     heads of the tile, 1, 2 or 4
     * @param max      running maxima, the tile's heads from {@code h0}
     * @param sum      running sums of the weights, likewise
     * @param acc      accumulators, head {@code h0 + h} at {@code (h0 + h) * stride}, {@code stride}
     *                 floats each (a multiple of {@code L})
     * @param maxLanes {@code L} floats from {@code ml0}: lane {@code j} the running maximum of head
     *                 {@code h0 + j % tile}; kept up to date here
     * @param lanes    {@code L} floats of scratch
     */
    static void weigh(float[] s, int s0, int count, int tile, float[] max, double[] sum, int h0, float[] acc,
                      int stride, float[] maxLanes, int ml0, float[] lanes) {
        // No masked vector operations here: in some JVMs C2 left them (and with them every vector of this
        // method) to the boxing Java fallbacks. The lanes past count, which the caller's scratch has room
        // for, are set to -inf for the maximum, and the tail's weights are summed in scalar code below.
        int full = count & -L;
        int padded = full == count ? count : full + L;
        for (int k = count; k < padded; k++) {
            s[s0 + k] = Float.NEGATIVE_INFINITY;
        }
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < padded; j += L) {
            m = m.lanewise(MAX, FloatVector.fromArray(F, s, s0 + j));
        }
        m.intoArray(lanes, 0);
        boolean raised = false;
        for (int h = 0; h < tile; h++) {
            float blockMax = lanes[h];
            for (int k = h + tile; k < L; k += tile) {
                blockMax = Math.max(blockMax, lanes[k]);
            }
            float old = max[h0 + h];
            if (blockMax > old) { // rescale what was accumulated under the old maximum
                raised = true;
                max[h0 + h] = blockMax;
                if (old != Float.NEGATIVE_INFINITY) {
                    float correction = (float) Math.exp(old - blockMax);
                    sum[h0 + h] *= correction;
                    FloatVector c = FloatVector.broadcast(F, correction);
                    for (int a = (h0 + h) * stride, end = a + stride; a < end; a += L) {
                        FloatVector.fromArray(F, acc, a).lanewise(MUL, c).intoArray(acc, a);
                    }
                }
            }
        }
        if (raised) {
            for (int k = 0; k < L; k++) {
                maxLanes[ml0 + k] = max[h0 + k % tile];
            }
        }
        FloatVector shift = FloatVector.fromArray(F, maxLanes, ml0);
        FloatVector floor = FloatVector.broadcast(F, EXP_MIN);
        FloatVector log2e = FloatVector.broadcast(F, LOG2E);
        FloatVector round = FloatVector.broadcast(F, ROUND);
        FloatVector ln2Hi = FloatVector.broadcast(F, -LN2_HI);
        FloatVector ln2Lo = FloatVector.broadcast(F, -LN2_LO);
        FloatVector one = FloatVector.broadcast(F, 1f);
        IntVector bias = IntVector.broadcast(I, Float.floatToRawIntBits(ROUND) - 127);
        IntVector exponent = IntVector.broadcast(I, 23);
        FloatVector total = FloatVector.zero(F);
        for (int j = 0; j < padded; j += L) {
            FloatVector x = FloatVector.fromArray(F, s, s0 + j).lanewise(SUB, shift).lanewise(MAX, floor);
            FloatVector t = x.lanewise(FMA, log2e, round);              // ROUND + round(x / ln 2)
            FloatVector n = t.lanewise(SUB, round);
            FloatVector r = n.lanewise(FMA, ln2Hi, x);
            r = n.lanewise(FMA, ln2Lo, r);
            FloatVector p = FloatVector.broadcast(F, 1.9875691500e-4f);
            p = p.lanewise(FMA, r, FloatVector.broadcast(F, 1.3981999507e-3f));
            p = p.lanewise(FMA, r, FloatVector.broadcast(F, 8.3334519073e-3f));
            p = p.lanewise(FMA, r, FloatVector.broadcast(F, 4.1665795894e-2f));
            p = p.lanewise(FMA, r, FloatVector.broadcast(F, 1.6666665459e-1f));
            p = p.lanewise(FMA, r, FloatVector.broadcast(F, 5.0000001201e-1f));
            p = p.lanewise(FMA, r.lanewise(MUL, r), r).lanewise(ADD, one); // 1 + r + r^2 P(r)
            IntVector pow2 = t.reinterpretAsInts().lanewise(SUB, bias).lanewise(LSHL, exponent); // 2^n in the exponent bits
            FloatVector e = p.lanewise(MUL, pow2.reinterpretAsFloats());
            e.intoArray(s, s0 + j);
            if (j < full) {
                total = total.lanewise(ADD, e);
            }
        }
        total.intoArray(lanes, 0);
        for (int k = 0; k < count - full; k++) { // the tail's weights: lane k belongs to head k % tile, as above
            lanes[k] += s[s0 + full + k];
        }
        for (int h = 0; h < tile; h++) {
            double blockSum = 0;
            for (int k = h; k < L; k += tile) {
                blockSum += lanes[k];
            }
            sum[h0 + h] += blockSum;
        }
    }
}

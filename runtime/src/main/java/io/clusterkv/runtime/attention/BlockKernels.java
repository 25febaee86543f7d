package io.clusterkv.runtime.attention;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API loops of attention over one block of F32 rows, for a tile of 1, 2 or 4 query heads:
 * scores ({@code q · k}), the exponential, and the weighted value sum.
 *
 * <p>Design notes.
 *
 * <ul>
 *   <li>A block is {@code rows} rows at {@code off, off + stride, ...} of a segment: a run of a shard's
 *       chunk read in place, or a scratch block the F16 and gathered paths fill. It is small enough to
 *       stay in L1 while the tiles of a wide group reread it, so each row comes from memory once.
 *   <li>Scores of a tile are stored row-major with the heads interleaved, {@code s[i * tile + h]}. The
 *       four-head kernel reads a key row once for all four heads (two rows, eight FMA chains at a
 *       time); each row's four accumulators are reduced together by a transposing butterfly
 *       ({@link #sum4}, about four vector operations a score instead of a full horizontal reduction
 *       each) straight into that layout. The softmax then works on whole vectors whose lane
 *       {@code j} belongs to head {@code j % tile}: maxima and sums fold across lanes at the end of
 *       the block, not per score.
 *   <li>The value sum keeps a tile of the accumulator (heads by channel vectors, eight registers) in
 *       registers across all rows of the block and broadcasts each weight once per tile of channels.
 *   <li>{@code dim}, the channels a loop covers, is always a multiple of the lane count: no masks and
 *       no tails, which keeps the compiled loops small enough for C2 to inline and scalarise every
 *       vector. (A masked tail, or 16 accumulators in one method, pushed C2 past its inlining node
 *       budget and the vectors were boxed on the heap.) Rows of another width are staged into
 *       zero-padded scratch rows by the caller.
 *   <li>No vector crosses a call C2 might not inline ({@link #max} and {@link #expShifted} leave
 *       their results in arrays; rescaling is scalar): a vector passed to or returned from a method
 *       that is not inlined is boxed, one heap allocation each time.
 *   <li>The exponential is a polynomial ({@link #exp}); {@code lanewise(EXP)} calls out of line.
 * </ul>
 */
final class BlockKernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() >= 4
            ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_128;
    static final int L = F.length();
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    private static final VectorMask<Float> BIT0 = laneBit(1);
    private static final VectorMask<Float> BIT1 = laneBit(2);
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

    private static VectorShuffle<Float> xorLanes(int d) {
        return VectorShuffle.fromOp(F, i -> d < L ? i ^ d : i);
    }

    /** @return {@code n} rounded up to a multiple of the lane count */
    static int padded(int n) {
        return (n + L - 1) / L * L;
    }

    private static FloatVector load(MemorySegment seg, long off) {
        return FloatVector.fromMemorySegment(F, seg, off, ORDER);
    }

    /** Lanes with bit {@code d} clear: {@code a[i] + a[i^d]}; lanes with it set: {@code b[i] + b[i^d]}. */
    private static FloatVector merge(FloatVector a, FloatVector b, VectorMask<Float> bit, VectorShuffle<Float> xor) {
        return a.blend(b, bit).add(b.blend(a, bit).rearrange(xor));
    }

    /** @return a vector whose lanes 0..3 are the sums of the lanes of {@code a0..a3} (other lanes: partial sums) */
    static FloatVector sum4(FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3) {
        FloatVector z = merge(merge(a0, a1, BIT0, XOR1), merge(a2, a3, BIT0, XOR1), BIT1, XOR2);
        if (L > 4) {
            z = z.add(z.rearrange(XOR4));
        }
        if (L > 8) {
            z = z.add(z.rearrange(XOR8));
        }
        if (L > 16) {
            z = z.add(z.rearrange(XOR16));
        }
        if (L > 32) {
            z = z.add(z.rearrange(XOR32));
        }
        return z;
    }

    /**
     * Sums lanes whose indices agree modulo {@code tile} (1, 2 or 4): afterwards lane {@code j} holds
     * the sum of all lanes {@code j'} with {@code j' % tile == j % tile}.
     */
    static FloatVector foldSum(FloatVector v, int tile) {
        if (tile == 1) {
            v = v.add(v.rearrange(XOR1));
        }
        if (tile <= 2) {
            v = v.add(v.rearrange(XOR2));
        }
        if (L > 4) {
            v = v.add(v.rearrange(XOR4));
        }
        if (L > 8) {
            v = v.add(v.rearrange(XOR8));
        }
        if (L > 16) {
            v = v.add(v.rearrange(XOR16));
        }
        if (L > 32) {
            v = v.add(v.rearrange(XOR32));
        }
        return v;
    }

    /** {@link #foldSum} with the maximum instead of the sum. */
    static FloatVector foldMax(FloatVector v, int tile) {
        if (tile == 1) {
            v = v.max(v.rearrange(XOR1));
        }
        if (tile <= 2) {
            v = v.max(v.rearrange(XOR2));
        }
        if (L > 4) {
            v = v.max(v.rearrange(XOR4));
        }
        if (L > 8) {
            v = v.max(v.rearrange(XOR8));
        }
        if (L > 16) {
            v = v.max(v.rearrange(XOR16));
        }
        if (L > 32) {
            v = v.max(v.rearrange(XOR32));
        }
        return v;
    }

    // ---------------------------------------------------------------- scores

    /**
     * Scores of four heads, {@code s[s0 + 4 * i + h] = q_h · k_i}. Each store writes {@code L} floats
     * from the row's first score; later rows overwrite the excess, and {@code L} floats past the last
     * row's scores must be writable.
     *
     * @param k       keys, F32 rows of {@code dim} channels (and any padding) in a segment
     * @param off     byte offset of row 0
     * @param stride  bytes from a row to the next
     * @param rows    rows
     * @param q       queries, head {@code h} at {@code q0 + h * qStride}
     * @param q0      index of the first head's query
     * @param qStride floats from one query to the next
     * @param dim     channels, a multiple of {@code L}
     * @param s       scores
     * @param s0      index of the first score
     */
    static void scores4(MemorySegment k, long off, long stride, int rows, float[] q, int q0, int qStride, int dim,
                        float[] s, int s0) {
        int q1 = q0 + qStride;
        int q2 = q1 + qStride;
        int q3 = q2 + qStride;
        int i = 0;
        for (; i + 2 <= rows; i += 2, off += 2 * stride) {
            long o1 = off + stride;
            FloatVector z = FloatVector.zero(F);
            FloatVector a00 = z, a10 = z, a20 = z, a30 = z; // a{head}{row}
            FloatVector a01 = z, a11 = z, a21 = z, a31 = z;
            for (int c = 0; c < dim; c += L) {
                long b = 4L * c;
                FloatVector k0 = load(k, off + b);
                FloatVector k1 = load(k, o1 + b);
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
            sum4(a00, a10, a20, a30).intoArray(s, s0 + 4 * i);
            sum4(a01, a11, a21, a31).intoArray(s, s0 + 4 * i + 4);
        }
        if (i < rows) {
            FloatVector z = FloatVector.zero(F);
            FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
            for (int c = 0; c < dim; c += L) {
                FloatVector k0 = load(k, off + 4L * c);
                a0 = k0.fma(FloatVector.fromArray(F, q, q0 + c), a0);
                a1 = k0.fma(FloatVector.fromArray(F, q, q1 + c), a1);
                a2 = k0.fma(FloatVector.fromArray(F, q, q2 + c), a2);
                a3 = k0.fma(FloatVector.fromArray(F, q, q3 + c), a3);
            }
            sum4(a0, a1, a2, a3).intoArray(s, s0 + 4 * i);
        }
    }

    /** Scores of two heads, {@code s[s0 + 2 * i + h]}; as {@link #scores4} otherwise. */
    static void scores2(MemorySegment k, long off, long stride, int rows, float[] q, int q0, int qStride, int dim,
                        float[] s, int s0) {
        int q1 = q0 + qStride;
        int i = 0;
        for (; i + 4 <= rows; i += 4, off += 4 * stride) {
            long o1 = off + stride;
            long o2 = o1 + stride;
            long o3 = o2 + stride;
            FloatVector z = FloatVector.zero(F);
            FloatVector a00 = z, a01 = z, a02 = z, a03 = z; // a{head}{row}
            FloatVector a10 = z, a11 = z, a12 = z, a13 = z;
            for (int c = 0; c < dim; c += L) {
                long b = 4L * c;
                FloatVector k0 = load(k, off + b);
                FloatVector k1 = load(k, o1 + b);
                FloatVector k2 = load(k, o2 + b);
                FloatVector k3 = load(k, o3 + b);
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
            sum4(a00, a10, a01, a11).intoArray(s, s0 + 2 * i);
            sum4(a02, a12, a03, a13).intoArray(s, s0 + 2 * i + 4);
        }
        for (; i < rows; i++, off += stride) {
            FloatVector z = FloatVector.zero(F);
            FloatVector a0 = z, a1 = z;
            for (int c = 0; c < dim; c += L) {
                FloatVector k0 = load(k, off + 4L * c);
                a0 = k0.fma(FloatVector.fromArray(F, q, q0 + c), a0);
                a1 = k0.fma(FloatVector.fromArray(F, q, q1 + c), a1);
            }
            sum4(a0, a1, z, z).intoArray(s, s0 + 2 * i);
        }
    }

    /** Scores of one head, {@code s[s0 + i]}; as {@link #scores4} otherwise. */
    static void scores1(MemorySegment k, long off, long stride, int rows, float[] q, int q0, int dim, float[] s,
                        int s0) {
        int i = 0;
        for (; i + 4 <= rows; i += 4, off += 4 * stride) {
            long o1 = off + stride;
            long o2 = o1 + stride;
            long o3 = o2 + stride;
            FloatVector z = FloatVector.zero(F);
            FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
            for (int c = 0; c < dim; c += L) {
                long b = 4L * c;
                FloatVector qv = FloatVector.fromArray(F, q, q0 + c);
                a0 = load(k, off + b).fma(qv, a0);
                a1 = load(k, o1 + b).fma(qv, a1);
                a2 = load(k, o2 + b).fma(qv, a2);
                a3 = load(k, o3 + b).fma(qv, a3);
            }
            sum4(a0, a1, a2, a3).intoArray(s, s0 + i);
        }
        for (; i < rows; i++, off += stride) {
            FloatVector a = FloatVector.zero(F);
            for (int c = 0; c < dim; c += L) {
                a = load(k, off + 4L * c).fma(FloatVector.fromArray(F, q, q0 + c), a);
            }
            s[s0 + i] = a.reduceLanes(VectorOperators.ADD);
        }
    }

    // ---------------------------------------------------------------- weighted value sum

    /**
     * {@code acc[a0 + h * accStride + c] += sum_i w[w0 + 4 * i + h] * v_i[c]} for four heads.
     *
     * @param v         values, F32 rows
     * @param off       byte offset of row 0
     * @param stride    bytes from a row to the next
     * @param rows      rows
     * @param w         weights, {@code (rows, 4)} row-major from {@code w0}
     * @param w0        index of the first weight
     * @param dim       channels, a multiple of {@code L}
     * @param acc       accumulators
     * @param a0        index of the first head's accumulator
     * @param accStride floats from one head's accumulator to the next
     */
    static void accumulate4(MemorySegment v, long off, long stride, int rows, float[] w, int w0, int dim,
                            float[] acc, int a0, int accStride) {
        int a1 = a0 + accStride;
        int a2 = a1 + accStride;
        int a3 = a2 + accStride;
        int c = 0;
        for (; c + 2 * L <= dim; c += 2 * L) {
            int d = c + L;
            FloatVector x00 = FloatVector.fromArray(F, acc, a0 + c), x01 = FloatVector.fromArray(F, acc, a0 + d);
            FloatVector x10 = FloatVector.fromArray(F, acc, a1 + c), x11 = FloatVector.fromArray(F, acc, a1 + d);
            FloatVector x20 = FloatVector.fromArray(F, acc, a2 + c), x21 = FloatVector.fromArray(F, acc, a2 + d);
            FloatVector x30 = FloatVector.fromArray(F, acc, a3 + c), x31 = FloatVector.fromArray(F, acc, a3 + d);
            long o = off + 4L * c;
            for (int i = 0, wi = w0; i < rows; i++, o += stride, wi += 4) {
                FloatVector v0 = load(v, o);
                FloatVector v1 = load(v, o + 4L * L);
                FloatVector wv = FloatVector.broadcast(F, w[wi]);
                x00 = v0.fma(wv, x00);
                x01 = v1.fma(wv, x01);
                wv = FloatVector.broadcast(F, w[wi + 1]);
                x10 = v0.fma(wv, x10);
                x11 = v1.fma(wv, x11);
                wv = FloatVector.broadcast(F, w[wi + 2]);
                x20 = v0.fma(wv, x20);
                x21 = v1.fma(wv, x21);
                wv = FloatVector.broadcast(F, w[wi + 3]);
                x30 = v0.fma(wv, x30);
                x31 = v1.fma(wv, x31);
            }
            x00.intoArray(acc, a0 + c);
            x01.intoArray(acc, a0 + d);
            x10.intoArray(acc, a1 + c);
            x11.intoArray(acc, a1 + d);
            x20.intoArray(acc, a2 + c);
            x21.intoArray(acc, a2 + d);
            x30.intoArray(acc, a3 + c);
            x31.intoArray(acc, a3 + d);
        }
        if (c < dim) { // one vector left
            FloatVector x0 = FloatVector.fromArray(F, acc, a0 + c);
            FloatVector x1 = FloatVector.fromArray(F, acc, a1 + c);
            FloatVector x2 = FloatVector.fromArray(F, acc, a2 + c);
            FloatVector x3 = FloatVector.fromArray(F, acc, a3 + c);
            long o = off + 4L * c;
            for (int i = 0, wi = w0; i < rows; i++, o += stride, wi += 4) {
                FloatVector v0 = load(v, o);
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

    /** Two heads, weights {@code w[w0 + 2 * i + h]}; tiles of four channel vectors (eight accumulators). */
    static void accumulate2(MemorySegment v, long off, long stride, int rows, float[] w, int w0, int dim,
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
            long o = off + 4L * c;
            for (int i = 0, wi = w0; i < rows; i++, o += stride, wi += 2) {
                FloatVector v0 = load(v, o);
                FloatVector v1 = load(v, o + 4L * L);
                FloatVector v2 = load(v, o + 8L * L);
                FloatVector v3 = load(v, o + 12L * L);
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
            long o = off + 4L * c;
            for (int i = 0, wi = w0; i < rows; i++, o += stride, wi += 2) {
                FloatVector v0 = load(v, o);
                x0 = v0.fma(FloatVector.broadcast(F, w[wi]), x0);
                x1 = v0.fma(FloatVector.broadcast(F, w[wi + 1]), x1);
            }
            x0.intoArray(acc, a0 + c);
            x1.intoArray(acc, a1 + c);
        }
    }

    /** One head, weights {@code w[w0 + i]}; tiles of four channel vectors, even and odd rows apart (eight accumulators). */
    static void accumulate1(MemorySegment v, long off, long stride, int rows, float[] w, int w0, int dim,
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
            long o = off + 4L * c;
            int i = 0;
            for (; i + 2 <= rows; i += 2, o += 2 * stride) {
                FloatVector wv = FloatVector.broadcast(F, w[w0 + i]);
                x0 = load(v, o).fma(wv, x0);
                x1 = load(v, o + 4L * L).fma(wv, x1);
                x2 = load(v, o + 8L * L).fma(wv, x2);
                x3 = load(v, o + 12L * L).fma(wv, x3);
                long p = o + stride;
                wv = FloatVector.broadcast(F, w[w0 + i + 1]);
                y0 = load(v, p).fma(wv, y0);
                y1 = load(v, p + 4L * L).fma(wv, y1);
                y2 = load(v, p + 8L * L).fma(wv, y2);
                y3 = load(v, p + 12L * L).fma(wv, y3);
            }
            if (i < rows) {
                FloatVector wv = FloatVector.broadcast(F, w[w0 + i]);
                x0 = load(v, o).fma(wv, x0);
                x1 = load(v, o + 4L * L).fma(wv, x1);
                x2 = load(v, o + 8L * L).fma(wv, x2);
                x3 = load(v, o + 12L * L).fma(wv, x3);
            }
            x0.add(y0).intoArray(acc, a0 + c);
            x1.add(y1).intoArray(acc, a0 + c1);
            x2.add(y2).intoArray(acc, a0 + c2);
            x3.add(y3).intoArray(acc, a0 + c3);
        }
        for (; c < dim; c += L) {
            FloatVector x0 = FloatVector.fromArray(F, acc, a0 + c);
            FloatVector y0 = z;
            long o = off + 4L * c;
            int i = 0;
            for (; i + 2 <= rows; i += 2, o += 2 * stride) {
                x0 = load(v, o).fma(FloatVector.broadcast(F, w[w0 + i]), x0);
                y0 = load(v, o + stride).fma(FloatVector.broadcast(F, w[w0 + i + 1]), y0);
            }
            if (i < rows) {
                x0 = load(v, o).fma(FloatVector.broadcast(F, w[w0 + i]), x0);
            }
            x0.add(y0).intoArray(acc, a0 + c);
        }
    }

    // ---------------------------------------------------------------- softmax pieces

    /**
     * Maxima of a tile's scores by head. Vectors never cross a method boundary here: a vector passed to
     * or returned from a method C2 does not inline is boxed on the heap.
     *
     * @param s     scores of a tile, {@code count} of them from {@code s0}, lane {@code j} of each
     *              vector belonging to head {@code j % tile}
     * @param tile  heads of the tile, 1, 2 or 4
     * @param out   receives {@code L} floats from {@code out0}: lane {@code j} the maximum score of
     *              head {@code j % tile}
     */
    static void max(float[] s, int s0, int count, int tile, float[] out, int out0) {
        FloatVector m = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (; j + L <= count; j += L) {
            m = m.max(FloatVector.fromArray(F, s, s0 + j));
        }
        if (j < count) {
            m = m.max(FloatVector.fromArray(F, s, s0 + j).blend(Float.NEGATIVE_INFINITY, F.indexInRange(j, count).not()));
        }
        foldMax(m, tile).intoArray(out, out0);
    }

    /**
     * Replaces a tile's scores by {@code exp(score - max)} (and garbage up to the next multiple of
     * {@code L}, which the caller leaves room for).
     *
     * @param max   {@code L} floats from {@code max0}, lane {@code j} the maximum of head {@code j % tile}
     * @param out   receives {@code L} floats from {@code out0}: lane {@code j} the sum of the new
     *              values of head {@code j % tile}
     */
    static void expShifted(float[] s, int s0, int count, float[] max, int max0, int tile, float[] out, int out0) {
        FloatVector m = FloatVector.fromArray(F, max, max0);
        FloatVector sum = FloatVector.zero(F);
        int j = 0;
        for (; j + L <= count; j += L) {
            FloatVector e = exp(FloatVector.fromArray(F, s, s0 + j).sub(m));
            e.intoArray(s, s0 + j);
            sum = sum.add(e);
        }
        if (j < count) {
            FloatVector e = exp(FloatVector.fromArray(F, s, s0 + j).sub(m));
            e.intoArray(s, s0 + j);
            sum = sum.add(e, F.indexInRange(j, count));
        }
        foldSum(sum, tile).intoArray(out, out0);
    }

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;          // few mantissa bits: n * LN2_HI is exact
    private static final float LN2_LO = -2.12194440e-4f;       // ln 2 - LN2_HI
    private static final float ROUND = 0x1.8p23f;              // adding it rounds to an integer in the low bits
    private static final float EXP_MIN = -87.0f;               // exp(-87) ~ 1.6e-38, still a normal float

    /**
     * {@code e^x} for {@code x <= 0} (scores minus their maximum), within 2 ulp: {@code x = n ln2 + r},
     * {@code |r| <= ln2 / 2}, Cephes' polynomial for {@code e^r}, times {@code 2^n} built in the
     * exponent bits. Below {@code -87} it returns about {@code 1.6e-38} instead of a smaller value or
     * 0, harmless beside the weight 1 of the maximum. NaN stays NaN.
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(EXP_MIN);
        FloatVector t = x.fma(LOG2E, ROUND);                           // ROUND + round(x / ln 2)
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, 1.9875691500e-4f);
        p = p.fma(r, FloatVector.broadcast(F, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(F, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(F, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(F, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(F, 5.0000001201e-1f));
        p = p.fma(r.mul(r), r).add(1f);                                // 1 + r + r^2 P(r)
        IntVector pow2 = t.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND) - 127)
                .lanewise(VectorOperators.LSHL, 23);                  // 2^n in the exponent bits
        return p.mul(pow2.reinterpretAsFloats());
    }

    /** {@code x[x0 .. x0 + n) *= f}, {@code n} a multiple of {@code L}. */
    static void scale(float[] x, int x0, int n, float f) {
        FloatVector fv = FloatVector.broadcast(F, f);
        for (int i = 0; i < n; i += L) {
            FloatVector.fromArray(F, x, x0 + i).mul(fv).intoArray(x, x0 + i);
        }
    }
}

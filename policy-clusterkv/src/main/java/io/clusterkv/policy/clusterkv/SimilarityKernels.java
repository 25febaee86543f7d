package io.clusterkv.policy.clusterkv;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * All Vector API code of the policy: row normalisation, dot products, scoring one query against all
 * centroids ({@link #scorePanels}, the selection hot path; {@link #dotRows} is the same over the flat
 * {@code (C, d)} layout, kept as its reference), and the blocked product behind k-means assignment.
 *
 * <h2>Assignment as a blocked matrix product</h2>
 * Assignment computes {@code argmax_c x_i · m_c} for every normalised key {@code x_i} against every
 * normalised centroid {@code m_c}: the product {@code X (n, d) × Mᵀ (d, C)} reduced by a row-wise
 * argmax, never stored. Centroids are packed in panels of {@link #PANEL} columns laid out
 * {@code (panel, d, PANEL)}, so that one step of the inner loop loads {@link #TILE_VECTORS} contiguous
 * vectors of centroid columns and broadcasts one channel of each of {@link #TILE_ROWS} keys: a
 * register tile of {@code TILE_ROWS × TILE_VECTORS} accumulators (12, which fit the 16 registers of
 * AVX2 and leave room on AVX-512). Loops run: key blocks of {@link #ROW_BLOCK} rows (kept in L2),
 * then panels ({@code d × PANEL} floats, kept in L1), then tiles of rows. After each tile, every lane
 * of each row's scores is folded into that row's per-lane running maximum and its column (compare and
 * blend, no horizontal reduction); each row's lanes are reduced once per key block. Ties go to the
 * lower centroid index, so the result does not depend on the blocking. Its speed:
 * {@code ClusteringBenchmark.assignmentPass} (test sources), figures in {@code docs/BENCHMARKS.md}.
 *
 * <h2>Scoring for selection</h2>
 * Selection reads every centroid once per step: at 400 centroids of 128 channels that is 200 KB, out
 * of L1, so scoring is bound by reading them. {@link #scorePanels} therefore scores all query heads
 * of a shard (GQA) in one pass, from centroids laid out in lane-wide panels so that the inner loop is
 * FMAs on whole vectors with no horizontal reduction.
 */
final class SimilarityKernels {

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();
    /** Keys per register tile. Buffers of keys handed to {@link #assign} hold a multiple of it rows. */
    static final int TILE_ROWS = 4;
    /** Vectors of centroid columns per register tile. */
    static final int TILE_VECTORS = 3;
    /** Centroid columns per packed panel. */
    static final int PANEL = TILE_VECTORS * LANES;
    /** Keys per cache block of the assignment. */
    static final int ROW_BLOCK = 128;

    private SimilarityKernels() {
    }

    /**
     * @param rows a row count
     * @return {@code rows} rounded up to a multiple of {@link #TILE_ROWS}
     */
    static int paddedRows(int rows) {
        return (rows + TILE_ROWS - 1) / TILE_ROWS * TILE_ROWS;
    }

    /**
     * @param a   first vector at {@code aOff}
     * @param aOff where it starts
     * @param b   second vector at {@code bOff}
     * @param bOff where it starts
     * @param d   length
     * @return {@code a · b}
     */
    static float dot(float[] a, int aOff, float[] b, int bOff, int d) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int k = 0;
        for (int bound = SPECIES.loopBound(d); k < bound; k += LANES) {
            acc = FloatVector.fromArray(SPECIES, a, aOff + k).fma(FloatVector.fromArray(SPECIES, b, bOff + k), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; k < d; k++) {
            s += a[aOff + k] * b[bOff + k];
        }
        return s;
    }

    /**
     * Scores one vector against the first {@code count} rows of a row-major matrix, four rows at a time
     * so that each load of the vector serves four rows.
     *
     * @param q     the vector, {@code (d)} at {@code qOff}
     * @param qOff  where it starts
     * @param m     the rows, {@code (count, d)}
     * @param count rows to score
     * @param d     channels
     * @param out   {@code out[r] = q · m_r}, {@code (count)}
     */
    static void dotRows(float[] q, int qOff, float[] m, int count, int d, float[] out) {
        int bound = SPECIES.loopBound(d);
        int r = 0;
        for (; r + 4 <= count; r += 4) {
            int b0 = r * d;
            int b1 = b0 + d;
            int b2 = b1 + d;
            int b3 = b2 + d;
            FloatVector a0 = FloatVector.zero(SPECIES);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            int k = 0;
            for (; k < bound; k += LANES) {
                FloatVector qv = FloatVector.fromArray(SPECIES, q, qOff + k);
                a0 = FloatVector.fromArray(SPECIES, m, b0 + k).fma(qv, a0);
                a1 = FloatVector.fromArray(SPECIES, m, b1 + k).fma(qv, a1);
                a2 = FloatVector.fromArray(SPECIES, m, b2 + k).fma(qv, a2);
                a3 = FloatVector.fromArray(SPECIES, m, b3 + k).fma(qv, a3);
            }
            float s0 = a0.reduceLanes(VectorOperators.ADD);
            float s1 = a1.reduceLanes(VectorOperators.ADD);
            float s2 = a2.reduceLanes(VectorOperators.ADD);
            float s3 = a3.reduceLanes(VectorOperators.ADD);
            for (; k < d; k++) {
                float qk = q[qOff + k];
                s0 += m[b0 + k] * qk;
                s1 += m[b1 + k] * qk;
                s2 += m[b2 + k] * qk;
                s3 += m[b3 + k] * qk;
            }
            out[r] = s0;
            out[r + 1] = s1;
            out[r + 2] = s2;
            out[r + 3] = s3;
        }
        for (; r < count; r++) {
            out[r] = dot(q, qOff, m, r * d, d);
        }
    }

    /**
     * Scores the queries of several heads against centroids stored in lane-wide panels,
     * {@code (blocks, d, LANES)}: centroid {@code c} is lane {@code c % LANES} of block
     * {@code c / LANES}. Scoring is bound by reading the centroids (they live in L2), so heads are
     * scored four at a time in one pass: a register tile of two blocks by four heads loads each
     * centroid vector once for four broadcast query channels, eight FMA chains, no horizontal
     * reduction. Heads left over are scored one at a time, four blocks at once.
     *
     * @param q      queries, {@code (heads, d)}
     * @param heads  query heads
     * @param panels the centroids, {@code (>= blocks(count), d, LANES)}
     * @param count  centroids to score
     * @param d      channels
     * @param out    {@code out[h * stride + c] = q_h · centroid_c}; lanes past {@code count} get what
     *               the panel padding gives
     * @param stride row length of {@code out}, {@code >= blocks(count) * LANES}
     */
    static void scorePanels(float[] q, int heads, float[] panels, int count, int d, float[] out, int stride) {
        int h = 0;
        for (; h + 4 <= heads; h += 4) {
            scoreFourHeads(q, h * d, panels, count, d, out, h * stride, stride);
        }
        for (; h < heads; h++) {
            scoreOneHead(q, h * d, panels, count, d, out, h * stride);
        }
    }

    private static void scoreFourHeads(float[] q, int q0, float[] panels, int count, int d, float[] out, int out0,
                                       int stride) {
        int blocks = blocks(count);
        int block = d * LANES;
        int q1 = q0 + d;
        int q2 = q1 + d;
        int q3 = q2 + d;
        int b = 0;
        for (; b + 2 <= blocks; b += 2) {
            int p0 = b * block;
            int p1 = p0 + block;
            FloatVector a00 = FloatVector.zero(SPECIES);
            FloatVector a01 = a00;
            FloatVector a02 = a00;
            FloatVector a03 = a00;
            FloatVector a10 = a00;
            FloatVector a11 = a00;
            FloatVector a12 = a00;
            FloatVector a13 = a00;
            for (int k = 0; k < d; k++) {
                FloatVector m0 = FloatVector.fromArray(SPECIES, panels, p0 + k * LANES);
                FloatVector m1 = FloatVector.fromArray(SPECIES, panels, p1 + k * LANES);
                FloatVector v = FloatVector.broadcast(SPECIES, q[q0 + k]);
                a00 = m0.fma(v, a00);
                a10 = m1.fma(v, a10);
                v = FloatVector.broadcast(SPECIES, q[q1 + k]);
                a01 = m0.fma(v, a01);
                a11 = m1.fma(v, a11);
                v = FloatVector.broadcast(SPECIES, q[q2 + k]);
                a02 = m0.fma(v, a02);
                a12 = m1.fma(v, a12);
                v = FloatVector.broadcast(SPECIES, q[q3 + k]);
                a03 = m0.fma(v, a03);
                a13 = m1.fma(v, a13);
            }
            int o = out0 + b * LANES;
            a00.intoArray(out, o);
            a10.intoArray(out, o + LANES);
            a01.intoArray(out, o + stride);
            a11.intoArray(out, o + stride + LANES);
            a02.intoArray(out, o + 2 * stride);
            a12.intoArray(out, o + 2 * stride + LANES);
            a03.intoArray(out, o + 3 * stride);
            a13.intoArray(out, o + 3 * stride + LANES);
        }
        if (b < blocks) {
            int p0 = b * block;
            FloatVector a0 = FloatVector.zero(SPECIES);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int k = 0; k < d; k++) {
                FloatVector m0 = FloatVector.fromArray(SPECIES, panels, p0 + k * LANES);
                a0 = m0.fma(FloatVector.broadcast(SPECIES, q[q0 + k]), a0);
                a1 = m0.fma(FloatVector.broadcast(SPECIES, q[q1 + k]), a1);
                a2 = m0.fma(FloatVector.broadcast(SPECIES, q[q2 + k]), a2);
                a3 = m0.fma(FloatVector.broadcast(SPECIES, q[q3 + k]), a3);
            }
            int o = out0 + b * LANES;
            a0.intoArray(out, o);
            a1.intoArray(out, o + stride);
            a2.intoArray(out, o + 2 * stride);
            a3.intoArray(out, o + 3 * stride);
        }
    }

    private static void scoreOneHead(float[] q, int q0, float[] panels, int count, int d, float[] out, int out0) {
        int blocks = blocks(count);
        int block = d * LANES;
        int b = 0;
        for (; b + 4 <= blocks; b += 4) {
            int p0 = b * block;
            int p1 = p0 + block;
            int p2 = p1 + block;
            int p3 = p2 + block;
            FloatVector a0 = FloatVector.zero(SPECIES);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int k = 0; k < d; k++) {
                FloatVector v = FloatVector.broadcast(SPECIES, q[q0 + k]);
                int o = k * LANES;
                a0 = FloatVector.fromArray(SPECIES, panels, p0 + o).fma(v, a0);
                a1 = FloatVector.fromArray(SPECIES, panels, p1 + o).fma(v, a1);
                a2 = FloatVector.fromArray(SPECIES, panels, p2 + o).fma(v, a2);
                a3 = FloatVector.fromArray(SPECIES, panels, p3 + o).fma(v, a3);
            }
            int o = out0 + b * LANES;
            a0.intoArray(out, o);
            a1.intoArray(out, o + LANES);
            a2.intoArray(out, o + 2 * LANES);
            a3.intoArray(out, o + 3 * LANES);
        }
        for (; b < blocks; b++) {
            int p0 = b * block;
            FloatVector a = FloatVector.zero(SPECIES);
            for (int k = 0; k < d; k++) {
                a = FloatVector.fromArray(SPECIES, panels, p0 + k * LANES).fma(FloatVector.broadcast(SPECIES, q[q0 + k]), a);
            }
            a.intoArray(out, out0 + b * LANES);
        }
    }

    /**
     * @param count centroids
     * @return lane-wide blocks that hold them, {@code ceil(count / LANES)}
     */
    static int blocks(int count) {
        return (count + LANES - 1) / LANES;
    }

    /**
     * Writes each row of {@code src} divided by its L2 norm into {@code dst} (a zero row stays zero).
     *
     * @param src    rows, {@code (rows, d)} at {@code srcOff}
     * @param srcOff where the first row starts
     * @param dst    destination rows, {@code (rows, d)} at {@code dstOff}; may be {@code src}
     * @param dstOff where the first row goes
     * @param rows   rows
     * @param d      channels
     */
    static void normalizeRows(float[] src, int srcOff, float[] dst, int dstOff, int rows, int d) {
        for (int r = 0; r < rows; r++) {
            int s = srcOff + r * d;
            float norm = (float) Math.sqrt(dot(src, s, src, s, d));
            float inv = norm > 0f ? 1f / norm : 0f;
            int t = dstOff + r * d;
            int k = 0;
            for (int bound = SPECIES.loopBound(d); k < bound; k += LANES) {
                FloatVector.fromArray(SPECIES, src, s + k).mul(inv).intoArray(dst, t + k);
            }
            for (; k < d; k++) {
                dst[t + k] = src[s + k] * inv;
            }
        }
    }

    /**
     * Normalised centroids packed for {@link #assign}: {@code (panels, d, PANEL)}, columns past
     * {@code count} zero and masked out by a bias of {@code -∞}. Reused across iterations.
     */
    static final class PackedCentroids {
        private final int d;
        private final int count;
        private final int panels;
        private final float[] packed;   // (panels, d, PANEL) normalised centroid columns
        private final float[] lastBias; // (PANEL) 0 for real columns of the last panel, -inf for padding
        private final float[] noBias = new float[PANEL];  // (PANEL) zeros
        private final float[] columns = new float[PANEL]; // (PANEL) 0, 1, .. PANEL-1

        /** @throws IllegalArgumentException beyond 2^24 centroids, where a column no longer fits a float exactly */
        PackedCentroids(int count, int d) {
            if (count < 1 || count > 1 << 24) {
                throw new IllegalArgumentException("centroids must be in [1, 2^24], was " + count);
            }
            this.d = d;
            this.count = count;
            this.panels = (count + PANEL - 1) / PANEL;
            this.packed = new float[panels * d * PANEL];
            this.lastBias = new float[PANEL];
            int real = count - (panels - 1) * PANEL;
            for (int j = real; j < PANEL; j++) {
                lastBias[j] = Float.NEGATIVE_INFINITY;
            }
            for (int j = 0; j < PANEL; j++) {
                columns[j] = j;
            }
        }

        /** @return centroids held */
        int count() {
            return count;
        }

        /**
         * Packs and normalises centroids.
         *
         * @param centroids raw centroids, {@code (count, d)}
         */
        void load(float[] centroids) {
            for (int c = 0; c < count; c++) {
                int s = c * d;
                float norm = (float) Math.sqrt(dot(centroids, s, centroids, s, d));
                float inv = norm > 0f ? 1f / norm : 0f;
                int base = (c / PANEL) * d * PANEL + (c % PANEL);
                for (int k = 0; k < d; k++) {
                    packed[base + k * PANEL] = centroids[s + k] * inv;
                }
            }
        }
    }

    /**
     * For each row {@code i < rows} of {@code x}, the column of the packed centroids with the largest
     * inner product (ties: the lower column).
     *
     * @param x      normalised keys, {@code (paddedRows(rows), d)}; padding rows are read, not reported
     * @param rows   keys to assign
     * @param d      channels
     * @param m      packed centroids
     * @param labels out: {@code (paddedRows(rows))}, the best centroid of each key
     * @param best   out: {@code (paddedRows(rows))}, its inner product
     */
    static void assign(float[] x, int rows, int d, PackedCentroids m, int[] labels, float[] best) {
        int padded = paddedRows(rows);
        float[] laneBest = new float[ROW_BLOCK * LANES];   // (ROW_BLOCK, LANES) running max per row and lane
        float[] laneColumn = new float[ROW_BLOCK * LANES]; // (ROW_BLOCK, LANES) its column, exact as float
        for (int rb = 0; rb < padded; rb += ROW_BLOCK) {
            int rEnd = Math.min(padded, rb + ROW_BLOCK);
            java.util.Arrays.fill(laneBest, Float.NEGATIVE_INFINITY);
            java.util.Arrays.fill(laneColumn, 0f);
            for (int p = 0; p < m.panels; p++) {
                float[] bias = p == m.panels - 1 ? m.lastBias : m.noBias;
                for (int r = rb; r < rEnd; r += TILE_ROWS) {
                    tile(x, r, d, m.packed, p, bias, m.columns, laneBest, laneColumn, (r - rb) * LANES);
                }
            }
            for (int r = rb; r < rEnd; r++) {
                int o = (r - rb) * LANES;
                float max = FloatVector.fromArray(SPECIES, laneBest, o).reduceLanes(VectorOperators.MAX);
                float column = Float.MAX_VALUE;
                for (int j = 0; j < LANES; j++) {
                    if (laneBest[o + j] == max && laneColumn[o + j] < column) {
                        column = laneColumn[o + j];
                    }
                }
                best[r] = max;
                labels[r] = (int) column;
            }
        }
    }

    /**
     * One register tile: rows {@code r .. r+3} against the {@link #PANEL} columns of panel {@code p},
     * folded into each row's per-lane running maximum and its column. Within a lane columns arrive in
     * increasing order, so a strict comparison keeps the lowest column among equals. No vector crosses
     * a call boundary, so nothing is boxed.
     */
    private static void tile(float[] x, int r, int d, float[] packed, int p, float[] bias, float[] columns,
                             float[] laneBest, float[] laneColumn, int lane0) {
        int x0 = r * d;
        int x1 = x0 + d;
        int x2 = x1 + d;
        int x3 = x2 + d;
        int base = p * d * PANEL;
        FloatVector c00 = FloatVector.zero(SPECIES);
        FloatVector c01 = c00;
        FloatVector c02 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c12 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c22 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        FloatVector c32 = c00;
        for (int k = 0; k < d; k++) {
            int o = base + k * PANEL;
            FloatVector m0 = FloatVector.fromArray(SPECIES, packed, o);
            FloatVector m1 = FloatVector.fromArray(SPECIES, packed, o + LANES);
            FloatVector m2 = FloatVector.fromArray(SPECIES, packed, o + 2 * LANES);
            FloatVector v = FloatVector.broadcast(SPECIES, x[x0 + k]);
            c00 = m0.fma(v, c00);
            c01 = m1.fma(v, c01);
            c02 = m2.fma(v, c02);
            v = FloatVector.broadcast(SPECIES, x[x1 + k]);
            c10 = m0.fma(v, c10);
            c11 = m1.fma(v, c11);
            c12 = m2.fma(v, c12);
            v = FloatVector.broadcast(SPECIES, x[x2 + k]);
            c20 = m0.fma(v, c20);
            c21 = m1.fma(v, c21);
            c22 = m2.fma(v, c22);
            v = FloatVector.broadcast(SPECIES, x[x3 + k]);
            c30 = m0.fma(v, c30);
            c31 = m1.fma(v, c31);
            c32 = m2.fma(v, c32);
        }
        FloatVector b0 = FloatVector.fromArray(SPECIES, bias, 0);
        FloatVector b1 = FloatVector.fromArray(SPECIES, bias, LANES);
        FloatVector b2 = FloatVector.fromArray(SPECIES, bias, 2 * LANES);
        float first = p * PANEL;
        FloatVector i0 = FloatVector.fromArray(SPECIES, columns, 0).add(first);
        FloatVector i1 = FloatVector.fromArray(SPECIES, columns, LANES).add(first);
        FloatVector i2 = FloatVector.fromArray(SPECIES, columns, 2 * LANES).add(first);
        // the fold, unrolled by row: (row t) max and column per lane, updated where this panel is better
        int o;
        FloatVector bv;
        FloatVector bc;
        FloatVector s;
        VectorMask<Float> up;
        o = lane0 + 0 * LANES;
        bv = FloatVector.fromArray(SPECIES, laneBest, o);
        bc = FloatVector.fromArray(SPECIES, laneColumn, o);
        s = c00.add(b0);
        up = s.compare(VectorOperators.GT, bv);
        bv = bv.blend(s, up);
        bc = bc.blend(i0, up);
        s = c01.add(b1);
        up = s.compare(VectorOperators.GT, bv);
        bv = bv.blend(s, up);
        bc = bc.blend(i1, up);
        s = c02.add(b2);
        up = s.compare(VectorOperators.GT, bv);
        bv = bv.blend(s, up);
        bc = bc.blend(i2, up);
        bv.intoArray(laneBest, o);
        bc.intoArray(laneColumn, o);
        o = lane0 + 1 * LANES;
        bv = FloatVector.fromArray(SPECIES, laneBest, o);
        bc = FloatVector.fromArray(SPECIES, laneColumn, o);
        s = c10.add(b0);
        up = s.compare(VectorOperators.GT, bv);
        bv = bv.blend(s, up);
        bc = bc.blend(i0, up);
        s = c11.add(b1);
        up = s.compare(VectorOperators.GT, bv);
        bv = bv.blend(s, up);
        bc = bc.blend(i1, up);
        s = c12.add(b2);
        up = s.compare(VectorOperators.GT, bv);
        bv = bv.blend(s, up);
        bc = bc.blend(i2, up);
        bv.intoArray(laneBest, o);
        bc.intoArray(laneColumn, o);
        o = lane0 + 2 * LANES;
        bv = FloatVector.fromArray(SPECIES, laneBest, o);
        bc = FloatVector.fromArray(SPECIES, laneColumn, o);
        s = c20.add(b0);
        up = s.compare(VectorOperators.GT, bv);
        bv = bv.blend(s, up);
        bc = bc.blend(i0, up);
        s = c21.add(b1);
        up = s.compare(VectorOperators.GT, bv);
        bv = bv.blend(s, up);
        bc = bc.blend(i1, up);
        s = c22.add(b2);
        up = s.compare(VectorOperators.GT, bv);
        bv = bv.blend(s, up);
        bc = bc.blend(i2, up);
        bv.intoArray(laneBest, o);
        bc.intoArray(laneColumn, o);
        o = lane0 + 3 * LANES;
        bv = FloatVector.fromArray(SPECIES, laneBest, o);
        bc = FloatVector.fromArray(SPECIES, laneColumn, o);
        s = c30.add(b0);
        up = s.compare(VectorOperators.GT, bv);
        bv = bv.blend(s, up);
        bc = bc.blend(i0, up);
        s = c31.add(b1);
        up = s.compare(VectorOperators.GT, bv);
        bv = bv.blend(s, up);
        bc = bc.blend(i1, up);
        s = c32.add(b2);
        up = s.compare(VectorOperators.GT, bv);
        bv = bv.blend(s, up);
        bc = bc.blend(i2, up);
        bv.intoArray(laneBest, o);
        bc.intoArray(laneColumn, o);
    }
}

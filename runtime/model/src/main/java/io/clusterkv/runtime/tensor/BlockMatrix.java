package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * The one abstract weight matrix: fields, argument checks, the parallel row loops of {@link #matvec}
 * and {@link #matmul}, and the choice between the Vector API kernels and the scalar fallback. Each
 * {@link GgmlType} has one final subclass that supplies only its inner kernels: a dot product of one
 * row with a float vector and the dequantization of one row, each in a scalar and a vector form.
 *
 * <p>Design notes.
 * <ul>
 * <li><b>Addressing.</b> A row is {@code rowBytes = cols / blockSize * blockBytes} bytes and row
 *     {@code r} starts at byte {@code (long) r * rowBytes}: offsets are {@code long} everywhere, so a
 *     matrix may span more than 2^31 bytes of a mapped file.</li>
 * <li><b>Vector API behind one flag.</b> {@link #VECTOR} is true when {@code jdk.incubator.vector} is
 *     resolved and the system property {@code clusterkv.tensor.vector} is not {@code false}. Every
 *     Vector API call of the weight kernels lives in {@link VectorKernels}, which is loaded only when
 *     the flag is set; {@code -Dclusterkv.tensor.vector=false} runs the scalar kernels. The flag
 *     covers the weight kernels only: attention ({@code BlockKernels}, {@code RowMath}), the synthetic
 *     workload and the policies use the Vector API without a scalar path, so the runtime needs the
 *     module. On the module path it always has it (this module {@code requires} it); on the class path
 *     the launcher must add it ({@code --add-modules jdk.incubator.vector}), and without it the weight
 *     kernels fall back to scalar but the first attention step fails with
 *     {@link NoClassDefFoundError}.</li>
 * <li><b>Parallelism.</b> Rows are split into contiguous ranges by a {@link RecursiveAction} on the
 *     caller's pool (never the common pool); {@code null} or a pool of parallelism 1, or a matrix
 *     under {@value #MIN_PARALLEL_BYTES} bytes, runs on the calling thread. Each output element is
 *     written by exactly one task, so no synchronisation is needed beyond the join.</li>
 * <li><b>Matrix-vector products.</b> {@link #matvec} takes rows of Q8_0, Q4_0 and Q4_K in groups of
 *     {@value VectorKernels#ROWS} ({@link #vectorDots}), one row from each quarter of a task's range.
 *     Their kernels are bound by the instructions they spend per weight byte, not by arithmetic: a
 *     group loads each input vector once for all its rows and keeps four long sequential streams of
 *     weights in flight, which the hardware prefetchers follow better than one stream (or than four
 *     adjacent short rows). In Q8_0 and Q4_0 each row still gets the operations of {@link #dot} in the same order, up
 *     to the order in which the lanes of the last vector are summed (open in the Vector API, and
 *     different in C2 and the interpreter), so {@code matvec} and {@code dot} agree to about 1e-7 of
 *     {@code Σ|w·x|}. Q4_K's groups differ from its {@link #dot} in order, not in accuracy: the sums of
 *     {@code x} per sub-block of 32 (its min term) are taken once per product before the rows are split
 *     ({@link #vectorInputSums}), and a group goes block by block, two rows per kernel call (four rows
 *     in one method pass C2's inlining budget and box their vectors). Other types (Q6_K, F32, F16,
 *     BF16) take rows one by one, in order.</li>
 * <li><b>Batched products.</b> {@link #matmul} is a small GEMM (the prefill path, batches of up to
 *     64 tokens). The batch is first copied into transposed panels of {@code 4·L} inputs
 *     ({@code L} float lanes), {@code (cols, 4·L)} each, so that one vector holds one input element of
 *     {@code L} batch rows. A task dequantizes a tile of whole weight rows (up to {@value #TILE_ROWS}
 *     rows, {@value #TILE_FLOATS} floats: it stays in L2; whole rows keep the weight reads sequential
 *     for the prefetchers, which pieces of 512 columns from 48 rows did not) - the only read
 *     of those weight bytes, so weight traffic does not grow with the batch - and multiplies it with
 *     every panel by micro-kernels that keep a block of {@value #GEMM_ROWS} rows by 4 vectors of
 *     outputs (24 of the 32 AVX-512 registers) as accumulators: per input element, 4 panel loads and 6
 *     broadcasts of weights feed 24 FMAs, and no output needs a lane reduction. (With 16 vector
 *     registers, AVX2 or NEON, the accumulators spill; a smaller block would suit those, not measured.)
 *     One input vector against 4 rows instead (5 loads per 4 FMAs and a {@code reduceLanes} per
 *     output) is bound by loads. Columns go {@value #TILE_COLS} at a time so that the part of the panel being read
 *     (128 KiB) stays in L2 across the row blocks of a tile; the sums wait in a per-thread buffer.
 *     Each output is one float FMA chain over the columns in order (not split over lanes), so it is
 *     within about {@code cols · 2^-24 · Σ|w·x|} of the exact product (typically far less), and it may
 *     differ from {@link #matvec} in the last bits. Scratch buffers are per thread and kept, so a
 *     product allocates no buffers once they have grown. The scalar path keeps the simple tile loop.</li>
 * </ul>
 */
abstract sealed class BlockMatrix implements WeightMatrix
        permits F32Matrix, HalfMatrix, Q8_0Matrix, NibbleLevelMatrix, Q4_1Matrix, Q5_0Matrix, Q5_1Matrix, Q4_KMatrix,
        Q5_KMatrix, Q6_KMatrix {

    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ORDER);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ORDER);
    static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ORDER);
    static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    /** Whether the Vector API kernels are used; see the class notes. Initialised after the layouts. */
    static final boolean VECTOR = vectorAvailable();

    /** Rows the scalar {@link #matmul} dequantizes at once. */
    static final int TILE = 4;
    /** Rows a vector {@link #matmul} tile dequantizes at once: a multiple of {@link #GEMM_ROWS}. */
    static final int TILE_ROWS = 48;
    /** Floats a vector {@link #matmul} tile holds at most (384 KiB): it stays in L2 beside the panels. */
    static final int TILE_FLOATS = 96 * 1024;
    /** Columns a vector {@link #matmul} micro-kernel call takes. */
    static final int TILE_COLS = 512;
    /** Rows of the micro-kernels ({@code VectorKernels.gemm6x*}). */
    static final int GEMM_ROWS = 6;
    /** Matrices smaller than this run on the calling thread. */
    static final long MIN_PARALLEL_BYTES = 1 << 16;

    final MemorySegment data; // (rows, rowBytes)
    final int rows;
    final int cols;
    final long rowBytes;

    BlockMatrix(MemorySegment data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = type().bytesFor(cols);
    }

    private static boolean vectorAvailable() {
        if (!Boolean.parseBoolean(System.getProperty("clusterkv.tensor.vector", "true"))) {
            return false;
        }
        try {
            return VectorKernels.usable();
        } catch (LinkageError e) {
            return false; // jdk.incubator.vector not resolved: scalar kernels
        }
    }

    /**
     * @param row      a row index
     * @param rowBytes bytes a row takes
     * @return the byte offset of the row, computed in {@code long}
     */
    static long rowOffset(long row, long rowBytes) {
        return row * rowBytes;
    }

    static float f16(MemorySegment seg, long offset) {
        return Float.float16ToFloat(seg.get(SHORT, offset));
    }

    // ---- the kernels each type supplies; offsets are byte offsets of a row in data ----

    /** @return row · x, scalar */
    abstract float scalarDot(long rowOffset, float[] x, int xOff);

    /**
     * Dequantizes {@code n} elements from a block boundary, scalar: a whole row from its offset, or
     * whole blocks from the middle of one ({@code n} a multiple of the block size).
     */
    abstract void scalarDequantize(long rowOffset, float[] dst, int off, int n);

    /** @return row · x with the Vector API; only called when {@link #VECTOR} */
    abstract float vectorDot(long rowOffset, float[] x, int xOff);

    /** As {@link #scalarDequantize}, with the Vector API; only called when {@link #VECTOR}. */
    abstract void vectorDequantize(long rowOffset, float[] dst, int off, int n);

    /**
     * @return rows {@link #vectorDots} takes at once: 1 (the default) when the type has no multi-row
     *         kernel, and {@link #matvec} then takes rows one by one in order
     */
    int rowGroup() {
        return 1;
    }

    /**
     * {@code out[o + k·outStride] = row_k · x} for {@link #rowGroup()} rows, row {@code k} at byte
     * {@code rowOffset + k·rowStride}, with the Vector API; only called when {@link #VECTOR} and
     * {@code rowGroup() > 1}. {@code xs} is {@link #vectorInputSums} of {@code x}. Each result must agree
     * with {@link #vectorDot} of its row to float accuracy (Q8_0, Q4_0: the same operations in the same
     * order up to the order of the final lane sum).
     */
    void vectorDots(long rowOffset, long rowStride, float[] x, float[] xs, float[] out, int o, int outStride) {
        throw new UnsupportedOperationException(type() + " has no multi-row kernel");
    }

    /**
     * What {@link #vectorDots} needs of {@code x} beyond {@code x} itself, computed once per product on
     * the calling thread before the rows are split (Q4_K: sums of {@code x} per sub-block); {@code null}
     * (the default) when nothing. The array is the calling thread's scratch, reused by its next product.
     */
    float[] vectorInputSums(float[] x) {
        return null;
    }

    /** Per-thread scratch of {@link #vectorInputSums}, grown on demand and kept. */
    static float[] inputSums(int n) {
        float[] s = INPUT_SUMS.get();
        if (s.length < n) {
            s = new float[n];
            INPUT_SUMS.set(s);
        }
        return s;
    }

    private static final ThreadLocal<float[]> INPUT_SUMS = ThreadLocal.withInitial(() -> new float[0]);

    final float rowDot(long rowOffset, float[] x, int xOff) {
        return VECTOR ? vectorDot(rowOffset, x, xOff) : scalarDot(rowOffset, x, xOff);
    }

    final void rowDequantize(long rowOffset, float[] dst, int off) {
        if (VECTOR) {
            vectorDequantize(rowOffset, dst, off, cols);
        } else {
            scalarDequantize(rowOffset, dst, off, cols);
        }
    }

    // ---- WeightMatrix ----

    @Override
    public final int rows() {
        return rows;
    }

    @Override
    public final int cols() {
        return cols;
    }

    @Override
    public final MemorySegment data() {
        return data;
    }

    @Override
    public final float dot(int row, float[] x, int xOff) {
        Objects.checkIndex(row, rows);
        Objects.checkFromIndexSize(xOff, cols, x.length);
        return rowDot(rowOffset(row, rowBytes), x, xOff);
    }

    @Override
    public final void dequantizeRow(int row, float[] dst, int off) {
        Objects.checkIndex(row, rows);
        Objects.checkFromIndexSize(off, cols, dst.length);
        rowDequantize(rowOffset(row, rowBytes), dst, off);
    }

    @Override
    public final void matvec(float[] x, float[] out, ForkJoinPool pool) {
        if (x.length < cols || out.length < rows) {
            throw new IllegalArgumentException("matvec of a " + rows + "x" + cols + " matrix needs x of at least "
                    + cols + " and out of at least " + rows + " floats, got " + x.length + " and " + out.length);
        }
        int group = VECTOR ? rowGroup() : 1;
        float[] xs = group > 1 ? vectorInputSums(x) : null;
        forRows(pool, group, (lo, hi) -> {
            int r = lo;
            if (group > 1) {
                // a group takes one row from each of `group` equal parts of the range: long streams
                int part = (hi - lo) / group;
                for (int i = 0; i < part; i++) {
                    vectorDots(rowOffset(lo + i, rowBytes), part * rowBytes, x, xs, out, lo + i, part);
                }
                r = lo + group * part;
            }
            for (; r < hi; r++) {
                out[r] = rowDot(rowOffset(r, rowBytes), x, 0);
            }
        });
    }

    @Override
    public final void matmul(float[] x, int batch, float[] out, ForkJoinPool pool) {
        if (batch < 0 || x.length < (long) batch * cols || out.length < (long) batch * rows) {
            throw new IllegalArgumentException("matmul of a " + rows + "x" + cols + " matrix with a batch of " + batch
                    + " needs x of at least " + (long) batch * cols + " and out of at least " + (long) batch * rows
                    + " floats, got " + x.length + " and " + out.length);
        }
        if (batch == 0) {
            return;
        }
        if (batch == 1) {
            matvec(x, out, pool);
            return;
        }
        if (!VECTOR) {
            forRows(pool, TILE, (lo, hi) -> scalarMatmulRows(lo, hi, x, batch, out));
            return;
        }
        int panel = VectorKernels.PANEL;
        int panels = (batch + panel - 1) / panel;
        float[] xt = PANELS.get().floats(panels * panel * cols);
        packPanels(x, batch, cols, xt, panel);
        forRows(pool, GEMM_ROWS, (lo, hi) -> gemmRows(lo, hi, xt, batch, panels, out));
    }

    private void scalarMatmulRows(int lo, int hi, float[] x, int batch, float[] out) {
        float[] tile = TILES.get().floats(TILE * cols); // (TILE, cols), dequantized weights
        for (int r = lo; r < hi; r += TILE) {
            int n = Math.min(TILE, hi - r);
            for (int t = 0; t < n; t++) {
                scalarDequantize(rowOffset(r + t, rowBytes), tile, t * cols, cols);
            }
            scalarTileDots(tile, n, cols, x, batch, out, rows, r);
        }
    }

    /**
     * Copies {@code x (batch, cols)} into panels of {@code panel} batch rows, each transposed to
     * {@code (cols, panel)}: element {@code (b, k)} at {@code (b / panel)·panel·cols + k·panel + b % panel}.
     * The columns of the last panel past the batch are zero. Blocks of 16 columns keep the writes in 16
     * cache lines per input row.
     */
    static void packPanels(float[] x, int batch, int cols, float[] xt, int panel) {
        for (int b0 = 0; b0 < batch; b0 += panel) {
            int nb = Math.min(panel, batch - b0);
            int base = b0 * cols;
            for (int k0 = 0; k0 < cols; k0 += 16) {
                int k1 = Math.min(cols, k0 + 16);
                for (int j = 0; j < nb; j++) {
                    int xo = (b0 + j) * cols;
                    for (int k = k0; k < k1; k++) {
                        xt[base + k * panel + j] = x[xo + k];
                    }
                }
                for (int k = k0; k < k1 && nb < panel; k++) {
                    Arrays.fill(xt, base + k * panel + nb, base + (k + 1) * panel, 0f);
                }
            }
        }
    }

    /**
     * The rows {@code [lo, hi)} of a batched product: tiles of whole rows (at most {@value #TILE_ROWS},
     * at most {@value #TILE_FLOATS} floats) are dequantized once, then multiplied with every panel by
     * the {@value #GEMM_ROWS}-row micro-kernels, {@value #TILE_COLS} columns at a time so that the
     * part of the panel they read stays in L2 for all row groups of the tile; sums accumulate in a
     * {@code (tile rows, batch)} buffer and are then copied to {@code out}.
     */
    private void gemmRows(int lo, int hi, float[] xt, int batch, int panels, float[] out) {
        int panel = VectorKernels.PANEL;
        int lanes = VectorKernels.L;
        int ldc = panels * panel;
        int tileRows = Math.max(GEMM_ROWS, Math.min(TILE_ROWS, TILE_FLOATS / cols / GEMM_ROWS * GEMM_ROWS));
        TileBuffers s = TILES.get();
        float[] tile = s.floats(tileRows * cols); // (tileRows, cols)
        float[] acc = s.acc(tileRows * ldc); // (tileRows, panels * panel)
        for (int r0 = lo; r0 < hi; r0 += tileRows) {
            int nr = Math.min(tileRows, hi - r0);
            int padded = (nr + GEMM_ROWS - 1) / GEMM_ROWS * GEMM_ROWS;
            for (int t = 0; t < nr; t++) {
                vectorDequantize(rowOffset(r0 + t, rowBytes), tile, t * cols, cols);
            }
            Arrays.fill(tile, nr * cols, padded * cols, 0f);
            Arrays.fill(acc, 0, padded * ldc, 0f);
            for (int k0 = 0; k0 < cols; k0 += TILE_COLS) {
                int kc = Math.min(TILE_COLS, cols - k0);
                for (int p = 0; p < panels; p++) {
                    int nv = (Math.min(panel, batch - p * panel) + lanes - 1) / lanes;
                    int xo = p * panel * cols + k0 * panel;
                    for (int g = 0; g < padded; g += GEMM_ROWS) {
                        int wo = g * cols + k0;
                        int co = g * ldc + p * panel;
                        switch (nv) {
                            case 4 -> VectorKernels.gemm6x4(tile, wo, cols, xt, xo, kc, acc, co, ldc);
                            case 3 -> {
                                VectorKernels.gemm6x2(tile, wo, cols, xt, xo, kc, acc, co, ldc);
                                VectorKernels.gemm6x1(tile, wo, cols, xt, xo + 2 * lanes, kc, acc, co + 2 * lanes,
                                        ldc);
                            }
                            case 2 -> VectorKernels.gemm6x2(tile, wo, cols, xt, xo, kc, acc, co, ldc);
                            default -> VectorKernels.gemm6x1(tile, wo, cols, xt, xo, kc, acc, co, ldc);
                        }
                    }
                }
            }
            for (int b = 0; b < batch; b++) {
                int o = b * rows + r0;
                for (int t = 0; t < nr; t++) {
                    out[o + t] = acc[t * ldc + b];
                }
            }
        }
    }

    /** Per-thread scratch of the batched path, grown on demand and kept: no allocation per call. */
    private static final class TileBuffers {
        private float[] floats = new float[0];
        private float[] acc = new float[0];

        float[] floats(int n) {
            if (floats.length < n) {
                floats = new float[n];
            }
            return floats;
        }

        float[] acc(int n) {
            if (acc.length < n) {
                acc = new float[n];
            }
            return acc;
        }
    }

    /** The input panels of the thread that calls {@link #matmul}. */
    private static final ThreadLocal<TileBuffers> PANELS = ThreadLocal.withInitial(TileBuffers::new);
    /** The weight tile and sums of the threads that run the row ranges. */
    private static final ThreadLocal<TileBuffers> TILES = ThreadLocal.withInitial(TileBuffers::new);

    /**
     * {@code out[b, row0 + t] = tile[t] · x[b]} for {@code t < n}, every {@code b < batch}.
     *
     * @param tile  {@code (n, cols)}
     * @param x     {@code (batch, cols)}
     * @param out   {@code (batch, outRows)}
     */
    static void scalarTileDots(float[] tile, int n, int cols, float[] x, int batch, float[] out, int outRows,
                               int row0) {
        for (int b = 0; b < batch; b++) {
            int xo = b * cols;
            for (int t = 0; t < n; t++) {
                int wo = t * cols;
                float s = 0;
                for (int c = 0; c < cols; c++) {
                    s += tile[wo + c] * x[xo + c];
                }
                out[b * outRows + row0 + t] = s;
            }
        }
    }

    /** A body run over a range of rows. */
    @FunctionalInterface
    interface RowRange {
        void run(int lo, int hi);
    }

    /**
     * Runs {@code body} over {@code [0, rows)}, split into ranges whose starts are multiples of
     * {@code unit}, on the pool or the calling thread.
     */
    final void forRows(ForkJoinPool pool, int unit, RowRange body) {
        int par = pool == null ? 1 : pool.getParallelism();
        if (par <= 1 || rows <= unit || rowOffset(rows, rowBytes) < MIN_PARALLEL_BYTES) {
            body.run(0, rows);
            return;
        }
        if (pool instanceof ComputePool cp && cp.tryRun(rows, unit, body)) {
            return;
        }
        int grain = Math.max(unit, (rows + 4 * par - 1) / (4 * par));
        grain = (grain + unit - 1) / unit * unit;
        pool.invoke(new RowTask(0, rows, grain, unit, body));
    }

    private static final class RowTask extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final int lo;
        private final int hi;
        private final int grain;
        private final int unit;
        private final transient RowRange body;

        RowTask(int lo, int hi, int grain, int unit, RowRange body) {
            this.lo = lo;
            this.hi = hi;
            this.grain = grain;
            this.unit = unit;
            this.body = body;
        }

        @Override
        protected void compute() {
            if (hi - lo <= grain) {
                body.run(lo, hi);
                return;
            }
            int mid = lo + (hi - lo) / 2 / unit * unit;
            if (mid == lo) {
                mid = lo + unit;
            }
            invokeAll(new RowTask(lo, mid, grain, unit, body), new RowTask(mid, hi, grain, unit, body));
        }
    }

    @Override
    public String toString() {
        return type() + " matrix " + rows + "x" + cols;
    }
}

package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
 *     Vector API call lives in {@link VectorKernels}, which is loaded only when the flag is set, so
 *     the runtime still works (scalar) when the module is absent.</li>
 * <li><b>Parallelism.</b> Rows are split into contiguous ranges by a {@link RecursiveAction} on the
 *     caller's pool (never the common pool); {@code null} or a pool of parallelism 1, or a matrix
 *     under {@value #MIN_PARALLEL_BYTES} bytes, runs on the calling thread. Each output element is
 *     written by exactly one task, so no synchronisation is needed beyond the join.</li>
 * <li><b>Matrix-vector products.</b> {@link #matvec} takes rows of Q8_0 and Q4_0 in groups of
 *     {@value VectorKernels#ROWS} ({@link #vectorDots}), one row from each quarter of a task's range.
 *     Their kernels are bound by the instructions they spend per weight byte, not by arithmetic: a
 *     group loads each input vector once for all its rows and keeps four long sequential streams of
 *     weights in flight, which the hardware prefetchers follow better than one stream (or than four
 *     adjacent short rows). Each row still gets the operations of {@link #dot} in the same order, up
 *     to the order in which the lanes of the last vector are summed (open in the Vector API, and
 *     different in C2 and the interpreter), so {@code matvec} and {@code dot} agree to about 1e-7 of
 *     {@code Σ|w·x|}. Other types take rows one by one, in order.</li>
 * <li><b>Batched products.</b> {@link #matmul} walks tiles of {@value #TILE} rows: it dequantizes the
 *     tile once into a float buffer (the only read of those weight bytes) and then takes the dot
 *     product of every batch row with all rows of the tile, loading each input vector once for the
 *     tile. Weight traffic is therefore independent of the batch size.</li>
 * </ul>
 */
abstract sealed class BlockMatrix implements WeightMatrix
        permits F32Matrix, HalfMatrix, Q8_0Matrix, Q4_0Matrix, Q4_KMatrix, Q6_KMatrix {

    static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ORDER);
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ORDER);
    static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    /** Whether the Vector API kernels are used; see the class notes. Initialised after the layouts. */
    static final boolean VECTOR = vectorAvailable();

    /** Rows a {@link #matmul} tile dequantizes at once. */
    static final int TILE = 4;
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

    /** Dequantizes a row, scalar. */
    abstract void scalarDequantize(long rowOffset, float[] dst, int off);

    /** @return row · x with the Vector API; only called when {@link #VECTOR} */
    abstract float vectorDot(long rowOffset, float[] x, int xOff);

    /** Dequantizes a row with the Vector API; only called when {@link #VECTOR}. */
    abstract void vectorDequantize(long rowOffset, float[] dst, int off);

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
     * {@code rowGroup() > 1}. Each result must be {@link #vectorDot} of its row, the same operations in
     * the same order up to the order of the final lane sum.
     */
    void vectorDots(long rowOffset, long rowStride, float[] x, float[] out, int o, int outStride) {
        throw new UnsupportedOperationException(type() + " has no multi-row kernel");
    }

    final float rowDot(long rowOffset, float[] x, int xOff) {
        return VECTOR ? vectorDot(rowOffset, x, xOff) : scalarDot(rowOffset, x, xOff);
    }

    final void rowDequantize(long rowOffset, float[] dst, int off) {
        if (VECTOR) {
            vectorDequantize(rowOffset, dst, off);
        } else {
            scalarDequantize(rowOffset, dst, off);
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
        forRows(pool, group, (lo, hi) -> {
            int r = lo;
            if (group > 1) {
                // a group takes one row from each of `group` equal parts of the range: long streams
                int part = (hi - lo) / group;
                for (int i = 0; i < part; i++) {
                    vectorDots(rowOffset(lo + i, rowBytes), part * rowBytes, x, out, lo + i, part);
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
        forRows(pool, TILE, (lo, hi) -> {
            float[] tile = new float[TILE * cols]; // (TILE, cols), dequantized weights
            for (int r = lo; r < hi; r += TILE) {
                int n = Math.min(TILE, hi - r);
                for (int t = 0; t < n; t++) {
                    rowDequantize(rowOffset(r + t, rowBytes), tile, t * cols);
                }
                if (VECTOR) {
                    VectorKernels.tileDots(tile, n, cols, x, batch, out, rows, r);
                } else {
                    scalarTileDots(tile, n, cols, x, batch, out, rows, r);
                }
            }
        });
    }

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

package io.clusterkv.runtime.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * Matrices that multiply the same input ({@code wq}, {@code wk}, {@code wv} of a layer; its
 * {@code gate} and {@code up}), multiplied in one parallel pass: their rows are cut into pieces of
 * about equal bytes, and one fork-join over all the pieces replaces one per matrix. A decode step then
 * waits for the pool's workers 3 times a layer instead of 6, and the small K and V projections no
 * longer run as parallel products of their own, each too short to occupy the workers.
 *
 * <p>Each piece is a row range of one matrix, run as {@link WeightMatrix#matvec} runs a range (rows in
 * groups of four from the quarters of the piece), so every output equals that of the matrix's own
 * {@code matvec} on the same range, and agrees with it to float accuracy for any split. The plan of the
 * pieces is made for a pool's parallelism on first use and kept; a product allocates only its tasks.
 * Immutable apart from that cache, and thread-safe.
 */
public final class MatrixGroup {

    private final BlockMatrix[] matrices;
    private final int cols;
    private volatile Plan plan; // for plan.parallelism

    /** Row pieces: piece {@code i} is rows {@code [lo[i], hi[i])} of {@code matrices[matrix[i]]}. */
    private record Plan(int parallelism, int[] matrix, int[] lo, int[] hi) {
    }

    /**
     * @param matrices matrices of the same number of columns, at least one
     * @throws IllegalArgumentException if there are none or their columns differ, naming them
     */
    public MatrixGroup(WeightMatrix... matrices) {
        if (matrices.length == 0) {
            throw new IllegalArgumentException("a matrix group needs at least one matrix");
        }
        this.matrices = new BlockMatrix[matrices.length];
        this.cols = matrices[0].cols();
        for (int i = 0; i < matrices.length; i++) {
            WeightMatrix m = Objects.requireNonNull(matrices[i], "matrix " + i);
            if (m.cols() != cols) {
                throw new IllegalArgumentException("the matrices of a group take the same input: " + matrices[0]
                        + " and " + m + " differ in columns");
            }
            this.matrices[i] = (BlockMatrix) m;
        }
    }

    /**
     * {@code outs[i] = matrix_i · x} for every matrix of the group, split over the pool.
     *
     * @param x    {@code (cols)}
     * @param outs one output per matrix, {@code (rows_i)} each
     * @param pool the pool; {@code null} runs on the calling thread
     * @throws IllegalArgumentException if {@code x} or an output is too short, or the outputs are not one
     *                                  per matrix
     */
    public void matvec(float[] x, float[][] outs, ForkJoinPool pool) {
        if (outs.length != matrices.length) {
            throw new IllegalArgumentException("a group of " + matrices.length + " matrices needs as many outputs, got "
                    + outs.length);
        }
        int par = pool == null ? 1 : pool.getParallelism();
        if (par <= 1) {
            for (int i = 0; i < matrices.length; i++) {
                matrices[i].matvec(x, outs[i], null);
            }
            return;
        }
        for (int i = 0; i < matrices.length; i++) {
            matrices[i].checkMatvec(x, outs[i]);
        }
        Plan p = plan;
        if (p == null || p.parallelism != par) {
            p = plan(par);
            plan = p;
        }
        // the input sums of each matrix that needs them, before the split (per thread scratch, one per type)
        float[][] xs = new float[matrices.length][];
        for (int i = 0; i < matrices.length; i++) {
            xs[i] = matrices[i].groupInputSums(x, matrices, i, xs);
        }
        pool.invoke(new Pieces(p, 0, p.matrix.length, x, xs, outs));
    }

    /** Pieces of about {@code total bytes / (4·par)}, none across a matrix's end, row counts multiples of 4. */
    private Plan plan(int par) {
        long total = 0;
        for (BlockMatrix m : matrices) {
            total += m.rows * m.rowBytes;
        }
        long target = Math.max(1, total / (4L * par));
        List<int[]> pieces = new ArrayList<>();
        for (int i = 0; i < matrices.length; i++) {
            BlockMatrix m = matrices[i];
            int n = (int) Math.max(1, Math.round((double) (m.rows * m.rowBytes) / target));
            int step = Math.max(VectorKernels.ROWS, (m.rows + n - 1) / n / VectorKernels.ROWS * VectorKernels.ROWS);
            for (int lo = 0; lo < m.rows; lo += step) {
                pieces.add(new int[] {i, lo, Math.min(m.rows, lo + step)});
            }
        }
        int[] mi = new int[pieces.size()];
        int[] lo = new int[pieces.size()];
        int[] hi = new int[pieces.size()];
        for (int k = 0; k < mi.length; k++) {
            mi[k] = pieces.get(k)[0];
            lo[k] = pieces.get(k)[1];
            hi[k] = pieces.get(k)[2];
        }
        return new Plan(par, mi, lo, hi);
    }

    private final class Pieces extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final transient Plan p;
        private final int from;
        private final int to;
        private final transient float[] x;
        private final transient float[][] xs;
        private final transient float[][] outs;

        Pieces(Plan p, int from, int to, float[] x, float[][] xs, float[][] outs) {
            this.p = p;
            this.from = from;
            this.to = to;
            this.x = x;
            this.xs = xs;
            this.outs = outs;
        }

        @Override
        protected void compute() {
            if (to - from == 1) {
                int i = p.matrix[from];
                matrices[i].matvecRows(p.lo[from], p.hi[from], x, xs[i], outs[i]);
                return;
            }
            int mid = (from + to) >>> 1;
            invokeAll(new Pieces(p, from, mid, x, xs, outs), new Pieces(p, mid, to, x, xs, outs));
        }
    }

    @Override
    public String toString() {
        return "group of " + matrices.length + " matrices, " + cols + " columns";
    }
}

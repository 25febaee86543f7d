package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.ForkJoinPool;

/** F32 weights: a scalar reference implementation, to be replaced by Vector API kernels. */
final class F32Matrix implements WeightMatrix {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment data; // (rows, cols)
    private final int rows;
    private final int cols;

    F32Matrix(MemorySegment data, int rows, int cols) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public GgmlType type() { return GgmlType.F32; }
    @Override public MemorySegment data() { return data; }

    @Override
    public float dot(int row, float[] x, int xOff) {
        long base = (long) row * cols * 4;
        float s = 0;
        for (int c = 0; c < cols; c++) {
            s += data.get(F, base + 4L * c) * x[xOff + c];
        }
        return s;
    }

    @Override
    public void dequantizeRow(int row, float[] dst, int off) {
        MemorySegment.copy(data, F, (long) row * cols * 4, dst, off, cols);
    }

    @Override
    public void matvec(float[] x, float[] out, ForkJoinPool pool) {
        for (int r = 0; r < rows; r++) {
            out[r] = dot(r, x, 0);
        }
    }

    @Override
    public void matmul(float[] x, int batch, float[] out, ForkJoinPool pool) {
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                out[b * rows + r] = dot(r, x, b * cols);
            }
        }
    }
}

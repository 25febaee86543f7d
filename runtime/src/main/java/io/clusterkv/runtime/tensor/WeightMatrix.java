package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;

/**
 * A weight matrix of {@code (rows, cols)} elements of one {@link GgmlType}, stored row after row in a
 * segment (usually a slice of a memory-mapped model file, never copied). Row {@code r} holds
 * {@code cols / blockSize} blocks.
 *
 * <p>Products: {@link #matvec} ({@code out = W·x}, one token) and {@link #matmul} (a batch of tokens,
 * the prefill path: each row of {@code W} is read once for the whole batch). Parallel variants run on
 * the caller's pool (the runtime's own, never the common pool).
 */
public interface WeightMatrix {

    /** @return output features */
    int rows();

    /** @return input features */
    int cols();

    /** @return element type */
    GgmlType type();

    /** @return the stored bytes */
    MemorySegment data();

    /**
     * @param row  a row
     * @param x    holds {@code cols()} inputs at {@code xOff}
     * @param xOff offset of the inputs
     * @return row · x
     */
    float dot(int row, float[] x, int xOff);

    /**
     * Dequantizes one row.
     *
     * @param row a row
     * @param dst receives {@code cols()} floats at {@code off}
     * @param off offset
     */
    void dequantizeRow(int row, float[] dst, int off);

    /**
     * {@code out[r] = row_r · x} for every row, split over the pool.
     *
     * @param x    {@code (cols)}
     * @param out  {@code (rows)}
     * @param pool the pool; {@code null} runs on the calling thread
     */
    void matvec(float[] x, float[] out, ForkJoinPool pool);

    /**
     * {@code out[b, r] = row_r · x[b]} for a batch, split over the pool.
     *
     * @param x     {@code (batch, cols)}
     * @param batch rows of {@code x}
     * @param out   {@code (batch, rows)}
     * @param pool  the pool; {@code null} runs on the calling thread
     */
    void matmul(float[] x, int batch, float[] out, ForkJoinPool pool);

    /**
     * Wraps stored weights.
     *
     * @param type element type
     * @param data {@code rows * type.bytesFor(cols)} bytes
     * @param rows rows
     * @param cols columns, a multiple of the type's block size
     * @return the matrix
     * @throws IllegalArgumentException if the sizes do not match, naming them
     */
    static WeightMatrix of(GgmlType type, MemorySegment data, int rows, int cols) {
        Objects.requireNonNull(type, "type");
        long need = rows * type.bytesFor(cols);
        if (data.byteSize() != need) {
            throw new IllegalArgumentException("a " + type + " matrix of " + rows + "x" + cols + " takes " + need
                    + " bytes, the segment has " + data.byteSize());
        }
        return switch (type) {
            case F32 -> new F32Matrix(data, rows, cols);
            case F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K -> throw new UnsupportedOperationException(
                    "weights of type " + type + " are not implemented yet");
        };
    }
}

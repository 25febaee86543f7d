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
 *
 * <p>Implementations are immutable and thread-safe; products allocate nothing per row (the batched
 * path keeps its scratch buffers per thread, grown on demand). Byte offsets are {@code long}: a matrix may span more
 * than 2^31 bytes. Products sum in float in an order that depends on the vector width, so results
 * agree with a float64 reference to about {@code 1e-6 · Σ|w·x|}, not bit for bit across machines.
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
     * @throws IndexOutOfBoundsException if the row or the input range is out of bounds
     */
    float dot(int row, float[] x, int xOff);

    /**
     * Dequantizes one row.
     *
     * @param row a row
     * @param dst receives {@code cols()} floats at {@code off}
     * @param off offset
     * @throws IndexOutOfBoundsException if the row or the destination range is out of bounds
     */
    void dequantizeRow(int row, float[] dst, int off);

    /**
     * {@code out[r] = row_r · x} for every row, split over the pool.
     *
     * @param x    {@code (cols)}
     * @param out  {@code (rows)}
     * @param pool the pool; {@code null} runs on the calling thread
     * @throws IllegalArgumentException if {@code x} or {@code out} is too short
     */
    void matvec(float[] x, float[] out, ForkJoinPool pool);

    /**
     * {@code out[b, r] = row_r · x[b]} for a batch, split over the pool.
     *
     * @param x     {@code (batch, cols)}
     * @param batch rows of {@code x}
     * @param out   {@code (batch, rows)}
     * @param pool  the pool; {@code null} runs on the calling thread
     * @throws IllegalArgumentException if {@code batch < 0} or {@code x} or {@code out} is too short
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
        Objects.requireNonNull(data, "data");
        if (rows < 0 || cols <= 0) {
            throw new IllegalArgumentException("a matrix needs rows >= 0 and cols > 0, got " + rows + "x" + cols);
        }
        long need = rows * type.bytesFor(cols); // long: a matrix may exceed 2^31 bytes
        if (data.byteSize() != need) {
            throw new IllegalArgumentException("a " + type + " matrix of " + rows + "x" + cols + " takes " + need
                    + " bytes, the segment has " + data.byteSize());
        }
        return switch (type) {
            case F32 -> new F32Matrix(data, rows, cols);
            case F16 -> new HalfMatrix(data, rows, cols, false);
            case BF16 -> new HalfMatrix(data, rows, cols, true);
            case Q8_0 -> new Q8_0Matrix(data, rows, cols);
            case Q4_0 -> new Q4_0Matrix(data, rows, cols);
            case Q4_1 -> new Q4_1Matrix(data, rows, cols);
            case Q5_0 -> new Q5_0Matrix(data, rows, cols);
            case Q5_1 -> new Q5_1Matrix(data, rows, cols);
            case Q4_K -> new Q4_KMatrix(data, rows, cols);
            case Q5_K -> new Q5_KMatrix(data, rows, cols);
            case Q6_K -> new Q6_KMatrix(data, rows, cols);
            case IQ4_NL -> new IQ4_NLMatrix(data, rows, cols);
        };
    }

    /**
     * @return whether the Vector API kernels are in use (false when {@code jdk.incubator.vector} is not
     *         resolved or the system property {@code clusterkv.tensor.vector} is {@code false})
     */
    static boolean vectorized() {
        return BlockMatrix.VECTOR;
    }
}

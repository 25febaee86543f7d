package io.clusterkv.runtime.model.gguf;

import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a GGUF file.
 *
 * @param name   its name, e.g. {@code blk.0.attn_q.weight}
 * @param dims   its shape, innermost first as ggml writes it: a matrix of {@code rows} rows of
 *               {@code cols} elements is {@code [cols, rows]}
 * @param type   element type
 * @param offset byte offset of its data from the start of the data section
 * @param data   its bytes, a slice of the mapped file (no copy)
 */
public record GgufTensorInfo(String name, long[] dims, GgmlType type, long offset, MemorySegment data) {

    /** @return elements, the product of the dims */
    public long elements() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** @return elements of the innermost dimension (a row) */
    public long cols() {
        return dims.length == 0 ? 1 : dims[0];
    }

    /** @return elements / cols */
    public long rows() {
        long c = cols();
        return c == 0 ? 0 : elements() / c;
    }

    /**
     * Views this tensor as a weight matrix of {@link #rows()} rows of {@link #cols()} elements, over
     * the mapped bytes (no copy).
     *
     * @return the matrix
     * @throws IllegalArgumentException if the tensor has more than 2^31 − 1 rows or columns
     */
    public WeightMatrix asMatrix() {
        long rows = rows();
        long cols = cols();
        if (rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE || cols == 0) {
            throw new IllegalArgumentException("tensor '" + name + "' " + Arrays.toString(dims)
                    + " cannot be a matrix: rows must be in [0, 2^31) and cols in [1, 2^31), were " + rows + " and " + cols);
        }
        return WeightMatrix.of(type, data, (int) rows, (int) cols);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && t.name.equals(name) && Arrays.equals(t.dims, dims) && t.type == type
                && t.offset == offset;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(dims);
    }
}

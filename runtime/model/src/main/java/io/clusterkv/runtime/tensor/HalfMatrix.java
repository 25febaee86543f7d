package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/**
 * 16-bit float weights: {@code (rows, cols)} little-endian IEEE binary16 (F16) or bfloat16 (BF16, the
 * high half of a binary32). The two differ only in how a 16-bit lane widens to a float.
 */
final class HalfMatrix extends BlockMatrix {

    private final boolean bf16;

    HalfMatrix(MemorySegment data, int rows, int cols, boolean bf16) {
        super(data, rows, cols);
        this.bf16 = bf16;
    }

    @Override
    public GgmlType type() {
        return bf16 ? GgmlType.BF16 : GgmlType.F16;
    }

    private float at(long rowOffset, int c) {
        short h = data.get(SHORT, rowOffset + 2L * c);
        return bf16 ? Float.intBitsToFloat(h << 16) : Float.float16ToFloat(h);
    }

    @Override
    float scalarDot(long rowOffset, float[] x, int xOff) {
        float s = 0;
        for (int c = 0; c < cols; c++) {
            s += at(rowOffset, c) * x[xOff + c];
        }
        return s;
    }

    @Override
    void scalarDequantize(long rowOffset, float[] dst, int off, int n) {
        for (int c = 0; c < n; c++) {
            dst[off + c] = at(rowOffset, c);
        }
    }

    @Override
    float vectorDot(long rowOffset, float[] x, int xOff) {
        return VectorKernels.halfDot(data, rowOffset, x, xOff, cols, bf16);
    }

    @Override
    void vectorDequantize(long rowOffset, float[] dst, int off, int n) {
        VectorKernels.halfDequantize(data, rowOffset, dst, off, n, bf16);
    }
}

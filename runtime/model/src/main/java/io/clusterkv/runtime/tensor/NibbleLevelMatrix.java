package io.clusterkv.runtime.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The block layout Q4_0 and IQ4_NL share: each row {@code cols / 32} blocks of {@code f16 d, qs[16]}; element
 * {@code j < 16} is the low nibble of {@code qs[j]}, element {@code j + 16} its high nibble; x = d·level[q]. The
 * types differ only in their 16 levels ({@code q − 8} for Q4_0, ggml's non-linear table for IQ4_NL), so the scalar
 * kernels are here; the vector kernels are each type's own.
 */
abstract sealed class NibbleLevelMatrix extends BlockMatrix permits Q4_0Matrix, IQ4_NLMatrix {

    private final byte[] levels;

    NibbleLevelMatrix(MemorySegment data, int rows, int cols, byte[] levels) {
        super(data, rows, cols);
        this.levels = levels;
    }

    @Override
    final float scalarDot(long rowOffset, float[] x, int xOff) {
        float s = 0;
        long o = rowOffset;
        for (int xi = xOff, end = xOff + cols; xi < end; xi += 32, o += 18) {
            float b = 0;
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, o + 2 + j);
                b += levels[q & 0x0f] * x[xi + j] + levels[(q >> 4) & 0x0f] * x[xi + 16 + j];
            }
            s += f16(data, o) * b;
        }
        return s;
    }

    @Override
    final void scalarDequantize(long rowOffset, float[] dst, int off, int n) {
        long o = rowOffset;
        for (int di = off, end = off + n; di < end; di += 32, o += 18) {
            float d = f16(data, o);
            for (int j = 0; j < 16; j++) {
                int q = data.get(BYTE, o + 2 + j);
                dst[di + j] = d * levels[q & 0x0f];
                dst[di + 16 + j] = d * levels[(q >> 4) & 0x0f];
            }
        }
    }
}

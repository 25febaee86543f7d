package io.clusterkv.runtime.tensor;

/**
 * Tensor element types this runtime reads, with their ggml codes and block layouts: a block of
 * {@link #blockSize()} elements takes {@link #blockBytes()} bytes.
 *
 * <ul>
 * <li>F32, F16, BF16: one element a block.</li>
 * <li>Q8_0: 32 elements; {@code f16 d} then 32 {@code int8}; x = d·q.</li>
 * <li>Q4_0: 32 elements; {@code f16 d} then 16 bytes; element j &lt; 16 is the low nibble of byte j,
 * element j + 16 its high nibble; x = d·(q − 8).</li>
 * <li>Q4_1: 32 elements; {@code f16 d, f16 m} then 16 bytes of nibbles as Q4_0's; x = d·q + m.</li>
 * <li>Q5_0: 32 elements; {@code f16 d}, a 32-bit word of fifth bits (bit j for element j), 16 bytes of
 * nibbles as Q4_0's; x = d·(q − 16).</li>
 * <li>Q5_1: 32 elements; {@code f16 d, f16 m}, then as Q5_0; x = d·q + m.</li>
 * <li>Q4_K: 256 elements in 8 sub-blocks of 32; {@code f16 d, f16 dmin}, 12 bytes of 6-bit
 * sub-block scales and mins, 128 bytes of nibbles; x = d·sc·q − dmin·m.</li>
 * <li>Q5_K: 256 elements as Q4_K, with 32 bytes of fifth bits (bit s of byte l for element l of
 * sub-block s) before the nibbles.</li>
 * <li>Q6_K: 256 elements in 16 sub-blocks of 16; 128 bytes low nibbles, 64 bytes high 2 bits,
 * 16 {@code int8} scales, {@code f16 d}; x = d·sc·(q − 32).</li>
 * <li>IQ4_NL: 32 elements; {@code f16 d} then 16 bytes of nibbles as Q4_0's; x = d·T[q] with ggml's
 * non-linear table {@code T = (−127, −104, −83, −65, −49, −35, −22, −10, 1, 13, 25, 38, 53, 69, 89, 113)}.</li>
 * </ul>
 */
public enum GgmlType {
    /** IEEE binary32 */ F32(0, 1, 4),
    /** IEEE binary16 */ F16(1, 1, 2),
    /** 4-bit, 32 a block, one scale */ Q4_0(2, 32, 18),
    /** 4-bit, 32 a block, scale and offset */ Q4_1(3, 32, 20),
    /** 5-bit, 32 a block, one scale */ Q5_0(6, 32, 22),
    /** 5-bit, 32 a block, scale and offset */ Q5_1(7, 32, 24),
    /** 8-bit, 32 a block, one scale */ Q8_0(8, 32, 34),
    /** 4-bit k-quant, 256 a block */ Q4_K(12, 256, 144),
    /** 5-bit k-quant, 256 a block */ Q5_K(13, 256, 176),
    /** 6-bit k-quant, 256 a block */ Q6_K(14, 256, 210),
    /** 4-bit non-linear, 32 a block, one scale */ IQ4_NL(20, 32, 18),
    /** bfloat16 */ BF16(30, 1, 2);

    private final int code;
    private final int blockSize;
    private final int blockBytes;

    GgmlType(int code, int blockSize, int blockBytes) {
        this.code = code;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** @return the ggml type code */
    public int code() {
        return code;
    }

    /** @return elements per block */
    public int blockSize() {
        return blockSize;
    }

    /** @return bytes per block */
    public int blockBytes() {
        return blockBytes;
    }

    /**
     * @param elements element count, a multiple of {@link #blockSize()}
     * @return bytes they take
     * @throws IllegalArgumentException if not a multiple of the block size
     */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(elements + " elements are not a multiple of the " + this
                    + " block size " + blockSize);
        }
        return elements / blockSize * blockBytes;
    }

    /**
     * @param code a ggml type code
     * @return the type, or {@code null} if this runtime does not support it
     */
    public static GgmlType ofCode(long code) {
        for (GgmlType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }

    /**
     * @param code a ggml type code
     * @return its ggml name, for messages about types this runtime does not support
     */
    public static String nameOfCode(long code) {
        String[] names = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K",
                "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S",
                "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16"};
        return code >= 0 && code < names.length ? names[(int) code] : "type code " + code;
    }
}

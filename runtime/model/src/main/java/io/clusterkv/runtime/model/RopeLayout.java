package io.clusterkv.runtime.model;

/**
 * Which channels of a head RoPE rotates together. Both use the frequency
 * {@code theta^(-2i / headDim)} for pair {@code i}; they differ only in which two channels form it.
 */
public enum RopeLayout {
    /**
     * Pairs {@code (2i, 2i + 1)}: Meta's original Llama code, llama2.c, and llama.cpp's
     * {@code LLAMA_ROPE_TYPE_NORM}, used for GGUF {@code llama} (its converter permutes the Hugging
     * Face Q/K rows back into this order).
     */
    ADJACENT_PAIRS,
    /**
     * Pairs {@code (i, i + headDim / 2)}: GPT-NeoX, Hugging Face {@code rotate_half}, and llama.cpp's
     * {@code LLAMA_ROPE_TYPE_NEOX}, used for GGUF {@code qwen2}.
     */
    HALVES
}

package io.clusterkv.runtime.tokenizer;

/**
 * What a vocabulary entry stands for, with the codes of GGUF's {@code tokenizer.ggml.token_type}
 * (the same as llama.cpp's {@code llama_token_type}).
 *
 * <p>How each type is treated:
 * <ul>
 *   <li>{@link #NORMAL}, {@link #UNDEFINED}: ordinary text, formed by merges.
 *   <li>{@link #BYTE}: a byte-fallback token {@code <0xNN>}, standing for one raw byte.
 *   <li>{@link #USER_DEFINED}: added text; always matched whole in the input (also when special tokens
 *       are not parsed, as llama.cpp and Hugging Face do) and always rendered as text.
 *   <li>{@link #CONTROL}, {@link #UNKNOWN}: markers such as {@code <s>}, {@code <|endoftext|>}, {@code <unk>};
 *       matched in the input only when special tokens are parsed, rendered only when asked to.
 *   <li>{@link #UNUSED}: reserved; never produced by encoding, rendered only when asked to.
 * </ul>
 */
public enum TokenType {
    /** Code 0: no type given; treated as {@link #NORMAL}. */
    UNDEFINED,
    /** Code 1: ordinary text. */
    NORMAL,
    /** Code 2: the unknown token. */
    UNKNOWN,
    /** Code 3: a control token (BOS, EOS, chat markers). */
    CONTROL,
    /** Code 4: user-defined text matched whole. */
    USER_DEFINED,
    /** Code 5: reserved, unused. */
    UNUSED,
    /** Code 6: a byte-fallback token {@code <0xNN>}. */
    BYTE;

    private static final TokenType[] BY_CODE = values();

    /** @return the GGUF code */
    public int code() {
        return ordinal();
    }

    /**
     * @param code a GGUF {@code token_type} code
     * @return the type, or {@code null} if the code is not one of 0..6
     */
    public static TokenType ofCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    /** @return whether the token is rendered by decoding only when special tokens are asked for */
    boolean renderedOnlyWhenSpecial() {
        return this == CONTROL || this == UNKNOWN || this == UNUSED;
    }
}

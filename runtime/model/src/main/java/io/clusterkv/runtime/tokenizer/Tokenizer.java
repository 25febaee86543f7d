package io.clusterkv.runtime.tokenizer;

import java.util.OptionalInt;

/**
 * Text to token ids and back, for one model's vocabulary. Obtain one from {@link Tokenizers}.
 *
 * <p>Two families are implemented, matching llama.cpp (and through it SentencePiece and Hugging Face
 * tokenizers) on its known-answer tests:
 * <ul>
 *   <li><b>SentencePiece-style BPE</b> (GGUF {@code tokenizer.ggml.model = llama}, llama2.c
 *       {@code tokenizer.bin}): spaces are written {@code "▁"} (U+2581), a space is put in front of
 *       the text (the "dummy prefix"), pieces are merged by score, and characters with no piece are
 *       spelled as byte tokens {@code <0xNN>}. Decoding removes the dummy prefix again: one leading
 *       space of the first piece that renders any bytes, so {@code decode(encode(s, false, false))}
 *       equals {@code s}, unless {@code s} holds the text of a special token that is recognised: the text
 *       that follows such a token gets a dummy prefix of its own, as in llama.cpp, which decoding keeps
 *       ({@code "a<|user|>b"} decodes as {@code "a<|user|> b"}); and a {@code "▁"} in the text is the
 *       vocabulary's space, so it decodes as a space.
 *   <li><b>Byte-level BPE</b> (GGUF {@code tokenizer.ggml.model = gpt2}): the text is split into
 *       words by the model's pre-tokenizer regex, each word's UTF-8 bytes are written with the GPT-2
 *       byte-to-character alphabet, and pairs are merged by rank.
 * </ul>
 *
 * <p>Special tokens: {@link TokenType#CONTROL} and {@link TokenType#UNKNOWN} tokens are recognised in
 * the input text only when {@code parseSpecial} is true; otherwise their text (e.g. {@code "<s>"}) is
 * tokenised as ordinary characters. {@link TokenType#USER_DEFINED} tokens are always recognised, as in
 * llama.cpp and Hugging Face.
 *
 * <p>Decoding works on bytes: a token may carry part of a UTF-8 character (byte-fallback tokens, or a
 * byte-level BPE token that splits a character). {@link #decode(int[])} joins all bytes before making
 * text; for token-by-token output use a {@link StreamingDecoder} from {@link #decoder()}, which holds
 * back an incomplete character until the token that completes it arrives.
 *
 * <p>Implementations are immutable and safe to share between threads; {@link StreamingDecoder}s are not.
 */
public interface Tokenizer {

    /**
     * Tokenises text.
     *
     * @param text         the text; empty text gives no ids (or just BOS)
     * @param addBos       whether to put the BOS token first; ignored when the vocabulary has none
     *                     ({@link #bosId()} empty). {@link #addBosByDefault()} says what the model expects.
     * @param parseSpecial whether the text of control tokens (e.g. {@code "<s>"}, {@code "<|endoftext|>"})
     *                     becomes those tokens; when false it is tokenised as plain text
     * @return the token ids
     * @throws IllegalArgumentException if the text holds a character the vocabulary cannot spell at all
     *                                  (no piece, no byte token and no unknown token)
     */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    /**
     * Tokenises text as a prompt: BOS as the model asks ({@link #addBosByDefault()}), special tokens not
     * parsed.
     *
     * @param text the text
     * @return the token ids
     * @throws IllegalArgumentException as {@link #encode(String, boolean, boolean)}
     */
    default int[] encode(String text) {
        return encode(text, addBosByDefault(), false);
    }

    /**
     * Decodes ids to text, leaving out control, unknown and unused tokens (see {@link #isSpecial(int)}).
     * For SentencePiece vocabularies the dummy-prefix space is removed.
     *
     * @param ids token ids
     * @return the text; bytes that do not form valid UTF-8 become U+FFFD
     * @throws IllegalArgumentException if an id is outside {@code [0, vocabSize())}
     */
    default String decode(int[] ids) {
        return decode(ids, false);
    }

    /**
     * Decodes ids to text.
     *
     * @param ids           token ids
     * @param renderSpecial whether control, unknown and unused tokens appear as their text
     *                      (e.g. {@code "</s>"}) instead of nothing
     * @return the text; bytes that do not form valid UTF-8 become U+FFFD
     * @throws IllegalArgumentException if an id is outside {@code [0, vocabSize())}
     */
    String decode(int[] ids, boolean renderSpecial);

    /**
     * A decoder for token-by-token output of a text's start: special tokens left out, the
     * SentencePiece dummy prefix removed. Same as {@code decoder(false, true)}.
     *
     * @return a new decoder
     */
    default StreamingDecoder decoder() {
        return decoder(false, true);
    }

    /**
     * A decoder for token-by-token output.
     *
     * @param renderSpecial whether control, unknown and unused tokens appear as their text
     * @param atTextStart   whether the first token decoded starts the text, so that a SentencePiece
     *                      dummy-prefix space is removed from it; pass false when streaming a
     *                      continuation of a prompt (its first word's space is real)
     * @return a new decoder
     */
    StreamingDecoder decoder(boolean renderSpecial, boolean atTextStart);

    /**
     * The bytes one token stands for, without any dummy-prefix handling: byte tokens give their byte,
     * SentencePiece pieces give their text with {@code "▁"} as a space, byte-level BPE tokens give the
     * bytes their characters encode.
     *
     * @param id            a token id
     * @param renderSpecial whether control, unknown and unused tokens give their text instead of nothing
     * @return a fresh array, possibly empty, possibly an incomplete UTF-8 sequence
     * @throws IllegalArgumentException if the id is outside {@code [0, vocabSize())}
     */
    byte[] pieceBytes(int id, boolean renderSpecial);

    /** @return the number of tokens in the vocabulary; ids are {@code 0 .. vocabSize() - 1} */
    int vocabSize();

    /**
     * @param id a token id
     * @return the token's text as stored in the vocabulary (e.g. {@code "▁Hello"}, {@code "ĠHello"},
     *         {@code "<0x0A>"}, {@code "<s>"})
     * @throws IllegalArgumentException if the id is outside {@code [0, vocabSize())}
     */
    String tokenText(int id);

    /**
     * @param id a token id
     * @return its type
     * @throws IllegalArgumentException if the id is outside {@code [0, vocabSize())}
     */
    TokenType tokenType(int id);

    /**
     * @param tokenText a token's text exactly as stored in the vocabulary
     * @return its id; where several tokens share the text, the last
     */
    OptionalInt tokenId(String tokenText);

    /**
     * @param id a token id
     * @return whether it is a control token (BOS, EOS, chat markers)
     * @throws IllegalArgumentException if the id is outside {@code [0, vocabSize())}
     */
    default boolean isControl(int id) {
        return tokenType(id) == TokenType.CONTROL;
    }

    /**
     * @param id a token id
     * @return whether it does not stand for text: a control, unknown or unused token, left out of
     *         decoded text unless special tokens are rendered
     * @throws IllegalArgumentException if the id is outside {@code [0, vocabSize())}
     */
    default boolean isSpecial(int id) {
        return tokenType(id).renderedOnlyWhenSpecial();
    }

    /**
     * @param id a token id
     * @return whether generation should stop at it: it is {@link #eosId()} or {@link #eotId()}
     */
    default boolean isEndOfGeneration(int id) {
        return (eosId().isPresent() && eosId().getAsInt() == id) || (eotId().isPresent() && eotId().getAsInt() == id);
    }

    /** @return the beginning-of-sequence token ({@code tokenizer.ggml.bos_token_id}), if any */
    OptionalInt bosId();

    /** @return the end-of-sequence token ({@code tokenizer.ggml.eos_token_id}), if any */
    OptionalInt eosId();

    /**
     * @return the end-of-turn token of chat models ({@code tokenizer.ggml.eot_token_id}, or else a control
     *         token named {@code <|eot_id|>}, {@code <|im_end|>}, {@code <|end|>} or {@code <end_of_turn>}),
     *         if any
     */
    OptionalInt eotId();

    /** @return the unknown token ({@code tokenizer.ggml.unknown_token_id}), if any */
    OptionalInt unknownId();

    /**
     * @return whether the model expects BOS in front of a prompt ({@code tokenizer.ggml.add_bos_token};
     *         when absent, true for SentencePiece vocabularies and false for byte-level BPE, as llama.cpp)
     */
    boolean addBosByDefault();
}

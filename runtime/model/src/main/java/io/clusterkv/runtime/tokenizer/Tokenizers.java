package io.clusterkv.runtime.tokenizer;

import io.clusterkv.runtime.model.ModelFormatException;
import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.model.gguf.GgufType;
import io.clusterkv.runtime.model.gguf.GgufValue;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Builds {@link Tokenizer}s from model files.
 *
 * <p>GGUF keys read ({@link #fromGguf}):
 * <ul>
 *   <li>{@code tokenizer.ggml.model} (required): {@code llama} (SentencePiece-style BPE) or {@code gpt2}
 *       (byte-level BPE).
 *   <li>{@code tokenizer.ggml.tokens} (required), {@code tokenizer.ggml.scores} (SentencePiece; zeros when
 *       absent), {@code tokenizer.ggml.token_type} ({@link TokenType} codes; NORMAL when absent),
 *       {@code tokenizer.ggml.merges} (required for {@code gpt2}), {@code tokenizer.ggml.pre} (the
 *       pre-tokenizer of {@code gpt2}: {@code gpt-2}/{@code default} when absent, {@code llama-bpe}/{@code llama3},
 *       {@code qwen2} and a few aliases).
 *   <li>{@code tokenizer.ggml.bos_token_id}, {@code eos_token_id}, {@code eot_token_id},
 *       {@code unknown_token_id}; for {@code llama}, BOS 1, EOS 2 and unknown 0 when absent (as llama.cpp);
 *       -1 (or 0xFFFFFFFF) means none; any other id outside the vocabulary is an error.
 *   <li>{@code tokenizer.ggml.add_bos_token} (default true for {@code llama}, false for {@code gpt2}),
 *       {@code tokenizer.ggml.add_space_prefix} ({@code llama} only, default true).
 * </ul>
 *
 * <p>A model file without {@code tokenizer.ggml.model} has no vocabulary: callers then work in token ids
 * and cannot decode; this class reports that as an error rather than guessing.
 */
public final class Tokenizers {
    static final String MODEL = "tokenizer.ggml.model";
    static final String TOKENS = "tokenizer.ggml.tokens";
    static final String SCORES = "tokenizer.ggml.scores";
    static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
    static final String MERGES = "tokenizer.ggml.merges";
    static final String PRE = "tokenizer.ggml.pre";
    static final String BOS = "tokenizer.ggml.bos_token_id";
    static final String EOS = "tokenizer.ggml.eos_token_id";
    static final String EOT = "tokenizer.ggml.eot_token_id";
    static final String UNK = "tokenizer.ggml.unknown_token_id";
    static final String ADD_BOS = "tokenizer.ggml.add_bos_token";
    static final String ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";

    private Tokenizers() {
    }

    /**
     * Builds the tokenizer a GGUF file describes in its {@code tokenizer.ggml.*} metadata.
     *
     * @param file an open GGUF file (it may be closed afterwards: nothing is kept from the mapping)
     * @return the tokenizer
     * @throws ModelFormatException if the file has no vocabulary, an unsupported {@code tokenizer.ggml.model}
     *                              or {@code tokenizer.ggml.pre}, or inconsistent tokenizer metadata; the
     *                              message names the file, the key and the value
     */
    public static Tokenizer fromGguf(GgufFile file) {
        return fromMetadata(file.path(), file.metadata());
    }

    /** {@link #fromGguf} on bare metadata, for tests. */
    static Tokenizer fromMetadata(Path source, Map<String, GgufValue> metadata) {
        Metadata md = new Metadata(source, metadata);
        String model = md.string(MODEL);
        String[] tokens = md.stringArray(TOKENS).clone(); // the metadata's arrays stay the caller's
        if (tokens.length == 0) {
            throw md.error(TOKENS, "the vocabulary is empty");
        }
        int n = tokens.length;
        TokenType[] types = md.types(n);
        return switch (model) {
            case "llama" -> {
                float[] scores = md.has(SCORES) ? md.floatArray(SCORES, n).clone() : new float[n];
                Vocabulary vocab = new Vocabulary(tokens, types, scores, md.tokenId(BOS, n, 1), md.tokenId(EOS, n, 2),
                        md.tokenId(EOT, n, -1), md.tokenId(UNK, n, 0), md.bool(ADD_BOS, true));
                yield new SentencePieceTokenizer(vocab, md.bool(ADD_SPACE_PREFIX, true));
            }
            case "gpt2" -> {
                String pre = md.has(PRE) ? md.string(PRE) : "gpt-2";
                PreTokenizer preTokenizer = PreTokenizer.forName(pre);
                if (preTokenizer == null) {
                    throw md.error(PRE, "unsupported pre-tokenizer '" + pre + "' for tokenizer model gpt2; supported: "
                            + PreTokenizer.knownNames());
                }
                String[] merges = md.stringArray(MERGES);
                for (int i = 0; i < merges.length; i++) {
                    if (merges[i].indexOf(' ', 1) < 0) {
                        throw md.error(MERGES, "entry " + i + " '" + merges[i] + "' is not a pair 'left right'");
                    }
                }
                Vocabulary vocab = new Vocabulary(tokens, types, new float[n], md.tokenId(BOS, n, -1),
                        md.tokenId(EOS, n, -1), md.tokenId(EOT, n, -1), md.tokenId(UNK, n, -1), md.bool(ADD_BOS, false));
                yield new ByteLevelBpeTokenizer(vocab, ByteLevelBpeTokenizer.ranksOf(merges), preTokenizer);
            }
            default -> throw md.error(MODEL, "unsupported tokenizer model '" + model
                    + "'; supported: llama (SentencePiece-style BPE), gpt2 (byte-level BPE)");
        };
    }

    /**
     * Reads a llama2.c {@code tokenizer.bin}: a little-endian int32 {@code max_token_length}, then for each
     * token a float32 score, an int32 byte length and that many UTF-8 bytes. The file does not record how
     * many tokens it holds: that is the model's {@code vocab_size}. It gives the same SentencePiece-style
     * tokenizer as a GGUF {@code llama} vocabulary, with llama2.c's fixed ids (unknown 0, BOS 1, EOS 2),
     * a dummy prefix and BOS by default. llama2.c's exporter writes spaces as {@code ' '} and BOS/EOS as
     * {@code "\n<s>\n"}/{@code "\n</s>\n"}; they are read back as {@code "▁"}, {@code "<s>"} and {@code "</s>"}.
     *
     * @param file      the file
     * @param vocabSize the number of tokens, from the model's config
     * @return the tokenizer
     * @throws ModelFormatException     if the file is truncated or a length is impossible (names the token
     *                                  and the offset)
     * @throws IllegalArgumentException if {@code vocabSize} is not positive
     * @throws IOException              if the file cannot be read
     */
    public static Tokenizer fromLlama2c(Path file, int vocabSize) throws IOException {
        Objects.requireNonNull(file, "file");
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocabSize must be positive, was " + vocabSize);
        }
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (buf.remaining() < 4) {
            throw new ModelFormatException(file, "max_token_length", 0, "needs 4 bytes, " + buf.remaining() + " left");
        }
        int maxTokenLength = buf.getInt();
        String[] texts = new String[vocabSize];
        float[] scores = new float[vocabSize];
        TokenType[] types = new TokenType[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            int at = buf.position();
            if (buf.remaining() < 8) {
                throw new ModelFormatException(file, "token #" + i, at, "needs 8 bytes for score and length, "
                        + buf.remaining() + " left (truncated file, or vocabSize " + vocabSize + " larger than the file's "
                        + i + " tokens?)");
            }
            scores[i] = buf.getFloat();
            int len = buf.getInt();
            if (len < 0 || len > buf.remaining() || len > Math.max(maxTokenLength, 0)) {
                throw new ModelFormatException(file, "token #" + i + " length", at + 4, "length " + Integer.toUnsignedString(len)
                        + " is impossible: max_token_length is " + maxTokenLength + ", " + buf.remaining() + " bytes left");
            }
            byte[] bytes = new byte[len];
            buf.get(bytes);
            String text = new String(bytes, StandardCharsets.UTF_8);
            TokenType type = TokenType.NORMAL;
            if (i == 1 || i == 2) {
                type = TokenType.CONTROL;
                text = text.strip();
            } else if (i == 0 && text.equals("<unk>")) {
                type = TokenType.UNKNOWN;
            } else if (AbstractTokenizer.byteOfFallbackText(text) >= 0) {
                type = TokenType.BYTE;
            } else {
                text = text.replace(' ', '\u2581');
            }
            texts[i] = text;
            types[i] = type;
        }
        Vocabulary vocab = new Vocabulary(texts, types, scores, vocabSize > 1 ? 1 : -1, vocabSize > 2 ? 2 : -1, -1,
                types[0] == TokenType.UNKNOWN ? 0 : -1, true);
        return new SentencePieceTokenizer(vocab, true);
    }

    /** Typed access to tokenizer metadata, with errors naming the file and the key. */
    private record Metadata(Path file, Map<String, GgufValue> values) {

        ModelFormatException error(String key, String problem) {
            return new ModelFormatException(file, "metadata '" + key + "'", -1, problem);
        }

        boolean has(String key) {
            return values.containsKey(key);
        }

        private GgufValue get(String key) {
            GgufValue v = values.get(key);
            if (v == null) {
                throw error(key, key.equals(MODEL) ? "missing: the file has no tokenizer (work in token ids instead)"
                        : "missing");
            }
            return v;
        }

        private ModelFormatException typeError(String key, GgufValue v, String expected) {
            return error(key, "expected " + expected + ", found "
                    + (v.type() == GgufType.ARRAY ? "an array of " + v.elementType() : v.type()));
        }

        String string(String key) {
            GgufValue v = get(key);
            if (v.value() instanceof String s) {
                return s;
            }
            throw typeError(key, v, "a string");
        }

        String[] stringArray(String key) {
            GgufValue v = get(key);
            if (v.value() instanceof String[] a) {
                return a;
            }
            throw typeError(key, v, "an array of strings");
        }

        float[] floatArray(String key, int n) {
            GgufValue v = get(key);
            if (!(v.value() instanceof float[] a)) {
                throw typeError(key, v, "an array of FLOAT32");
            }
            if (a.length != n) {
                throw error(key, "has " + a.length + " entries for " + n + " tokens");
            }
            return a;
        }

        TokenType[] types(int n) {
            TokenType[] types = new TokenType[n];
            if (!has(TOKEN_TYPE)) {
                java.util.Arrays.fill(types, TokenType.NORMAL);
                return types;
            }
            GgufValue v = get(TOKEN_TYPE);
            if (!(v.value() instanceof int[] codes)) {
                throw typeError(TOKEN_TYPE, v, "an array of INT32");
            }
            if (codes.length != n) {
                throw error(TOKEN_TYPE, "has " + codes.length + " entries for " + n + " tokens");
            }
            for (int i = 0; i < n; i++) {
                types[i] = TokenType.ofCode(codes[i]);
                if (types[i] == null) {
                    throw error(TOKEN_TYPE, "entry " + i + " is " + codes[i] + ", not a token type (0..6)");
                }
            }
            return types;
        }

        int tokenId(String key, int n, int fallback) {
            if (!has(key)) {
                return fallback < n ? fallback : -1;
            }
            GgufValue v = get(key);
            if (v.type() == GgufType.ARRAY || !(v.value() instanceof Long id)) {
                throw typeError(key, v, "an integer");
            }
            if (id == -1 || id == 0xFFFF_FFFFL) {
                return -1; // written as "none" by some converters
            }
            if (id < 0 || id >= n) {
                throw error(key, "token id " + id + " is outside the vocabulary [0, " + n + ")");
            }
            return (int) (long) id;
        }

        boolean bool(String key, boolean fallback) {
            if (!has(key)) {
                return fallback;
            }
            GgufValue v = get(key);
            if (v.value() instanceof Boolean b) {
                return b;
            }
            throw typeError(key, v, "a BOOL");
        }
    }
}

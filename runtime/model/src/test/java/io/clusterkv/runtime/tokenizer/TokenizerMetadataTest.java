package io.clusterkv.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.model.ModelFormatException;
import io.clusterkv.runtime.model.gguf.GgufType;
import io.clusterkv.runtime.model.gguf.GgufValue;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * Tokenizers built from hand-written GGUF metadata: the errors for bad metadata, defaults, and
 * behaviour that needs no downloaded vocabulary (user-defined tokens, byte fallback, merge order).
 */
class TokenizerMetadataTest {
    private static final Path FILE = Path.of("model.gguf");

    /** A tiny SentencePiece vocabulary: unk, BOS, EOS, 256 byte tokens, a few pieces, one user-defined token. */
    static Map<String, GgufValue> spm() {
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<Integer> types = new ArrayList<>(List.of(2, 3, 3));
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
            types.add(6);
        }
        String[] pieces = {"▁", "a", "b", "▁a", "ab", "▁ab", "<|user|>", "<s"};
        float[] pieceScores = {-10, -20, -20, -1, -2, -0.5f, 0, -3};
        for (int i = 0; i < pieces.length; i++) {
            tokens.add(pieces[i]);
            types.add(pieces[i].equals("<|user|>") ? 4 : 1);
        }
        float[] scores = new float[tokens.size()];
        System.arraycopy(pieceScores, 0, scores, 259, pieceScores.length);
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put(Tokenizers.MODEL, GgufValue.of("llama"));
        md.put(Tokenizers.TOKENS, GgufValue.array(GgufType.STRING, tokens.toArray(String[]::new)));
        md.put(Tokenizers.SCORES, GgufValue.array(GgufType.FLOAT32, scores));
        md.put(Tokenizers.TOKEN_TYPE, GgufValue.array(GgufType.INT32, types.stream().mapToInt(Integer::intValue).toArray()));
        return md;
    }

    /** A tiny byte-level BPE vocabulary over "a", "b", "Ġ" with two merges and an end-of-text token. */
    static Map<String, GgufValue> gpt2() {
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put(Tokenizers.MODEL, GgufValue.of("gpt2"));
        md.put(Tokenizers.TOKENS, GgufValue.array(GgufType.STRING, new String[] {"a", "b", "Ġ", "ab", "Ġab", "<|endoftext|>"}));
        md.put(Tokenizers.TOKEN_TYPE, GgufValue.array(GgufType.INT32, new int[] {1, 1, 1, 1, 1, 3}));
        md.put(Tokenizers.MERGES, GgufValue.array(GgufType.STRING, new String[] {"a b", "Ġ ab"}));
        md.put(Tokenizers.EOS, GgufValue.ofInteger(GgufType.UINT32, 5));
        return md;
    }

    private static ModelFormatException failure(Map<String, GgufValue> md) {
        return assertThrows(ModelFormatException.class, () -> Tokenizers.fromMetadata(FILE, md));
    }

    private static void assertNames(ModelFormatException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), () -> "'" + e.getMessage() + "' does not name " + p);
        }
    }

    @Test
    void unknownModelNamesTheKeyAndTheValue() {
        Map<String, GgufValue> md = spm();
        md.put(Tokenizers.MODEL, GgufValue.of("t5"));
        ModelFormatException e = failure(md);
        assertNames(e, "model.gguf", "tokenizer.ggml.model", "'t5'", "llama", "gpt2");
        assertEquals("metadata 'tokenizer.ggml.model'", e.field());
    }

    @Test
    void missingModelSaysThereIsNoTokenizer() {
        Map<String, GgufValue> md = spm();
        md.remove(Tokenizers.MODEL);
        assertNames(failure(md), "tokenizer.ggml.model", "missing", "token ids");
    }

    @Test
    void missingTokensNamesTheKey() {
        Map<String, GgufValue> md = spm();
        md.remove(Tokenizers.TOKENS);
        assertNames(failure(md), "tokenizer.ggml.tokens", "missing");
    }

    @Test
    void tokensOfTheWrongTypeNameTheKey() {
        Map<String, GgufValue> md = spm();
        md.put(Tokenizers.TOKENS, GgufValue.array(GgufType.INT32, new int[] {1, 2}));
        assertNames(failure(md), "tokenizer.ggml.tokens", "an array of strings", "INT32");
    }

    @Test
    void emptyVocabularyIsRejected() {
        Map<String, GgufValue> md = spm();
        md.put(Tokenizers.TOKENS, GgufValue.array(GgufType.STRING, new String[0]));
        assertNames(failure(md), "tokenizer.ggml.tokens", "empty");
    }

    @Test
    void arraysOfTheWrongLengthAreRejected() {
        Map<String, GgufValue> md = spm();
        md.put(Tokenizers.SCORES, GgufValue.array(GgufType.FLOAT32, new float[3]));
        assertNames(failure(md), "tokenizer.ggml.scores", "3 entries", "267 tokens");
        md = spm();
        md.put(Tokenizers.TOKEN_TYPE, GgufValue.array(GgufType.INT32, new int[5]));
        assertNames(failure(md), "tokenizer.ggml.token_type", "5 entries");
    }

    @Test
    void badTokenTypeCodeIsRejected() {
        Map<String, GgufValue> md = spm();
        int[] types = ((int[]) md.get(Tokenizers.TOKEN_TYPE).value()).clone();
        types[7] = 9;
        md.put(Tokenizers.TOKEN_TYPE, GgufValue.array(GgufType.INT32, types));
        assertNames(failure(md), "tokenizer.ggml.token_type", "entry 7", "9");
    }

    @Test
    void specialIdOutsideTheVocabularyIsRejected() {
        Map<String, GgufValue> md = spm();
        md.put(Tokenizers.BOS, GgufValue.ofInteger(GgufType.UINT32, 99_999));
        assertNames(failure(md), "tokenizer.ggml.bos_token_id", "99999");
    }

    @Test
    void minusOneMeansNoSuchToken() {
        Map<String, GgufValue> md = spm();
        md.put(Tokenizers.EOS, GgufValue.ofInteger(GgufType.INT32, -1));
        md.put(Tokenizers.UNK, GgufValue.ofInteger(GgufType.UINT32, 0xFFFF_FFFFL));
        Tokenizer tok = Tokenizers.fromMetadata(FILE, md);
        assertEquals(OptionalInt.empty(), tok.eosId());
        assertEquals(OptionalInt.empty(), tok.unknownId());
    }

    @Test
    void gpt2NeedsMergesAndAKnownPreTokenizer() {
        Map<String, GgufValue> md = gpt2();
        md.remove(Tokenizers.MERGES);
        assertNames(failure(md), "tokenizer.ggml.merges", "missing");
        md = gpt2();
        md.put(Tokenizers.PRE, GgufValue.of("chameleon"));
        assertNames(failure(md), "tokenizer.ggml.pre", "'chameleon'", "llama-bpe", "qwen2");
        md = gpt2();
        md.put(Tokenizers.MERGES, GgufValue.array(GgufType.STRING, new String[] {"a b", "ab"}));
        assertNames(failure(md), "tokenizer.ggml.merges", "entry 1", "'ab'");
    }

    @Test
    void spmDefaultsFollowLlamaCpp() {
        Tokenizer tok = Tokenizers.fromMetadata(FILE, spm());
        assertEquals(OptionalInt.of(1), tok.bosId());
        assertEquals(OptionalInt.of(2), tok.eosId());
        assertEquals(OptionalInt.of(0), tok.unknownId());
        assertEquals(OptionalInt.empty(), tok.eotId());
        assertTrue(tok.addBosByDefault());
    }

    @Test
    void spmMergesByScoreAndFallsBackToBytes() {
        Tokenizer tok = Tokenizers.fromMetadata(FILE, spm());
        int space = tok.tokenId("▁").orElseThrow();
        int spaceAb = tok.tokenId("▁ab").orElseThrow();
        int ab = tok.tokenId("ab").orElseThrow();
        // "▁ab▁ab": ▁a (-1) merges before ab (-2), then ▁ab (-0.5)
        assertArrayEquals(new int[] {spaceAb, spaceAb}, tok.encode("ab ab", false, false));
        assertArrayEquals(new int[] {1, spaceAb, spaceAb}, tok.encode("ab ab", true, false));
        // no dummy prefix where the vocabulary says so
        Map<String, GgufValue> md = spm();
        md.put(Tokenizers.ADD_SPACE_PREFIX, new GgufValue(GgufType.BOOL, null, false));
        assertArrayEquals(new int[] {ab, spaceAb}, Tokenizers.fromMetadata(FILE, md).encode("ab ab", false, false));
        // "é" has no piece: its two UTF-8 bytes
        assertArrayEquals(new int[] {space, 3 + 0xC3, 3 + 0xA9}, tok.encode("é", false, false));
        assertEquals("é", tok.decode(tok.encode("é", false, false)));
    }

    @Test
    void userDefinedTokensMatchWholeEvenWithoutParsingSpecial() {
        Tokenizer tok = Tokenizers.fromMetadata(FILE, spm());
        int user = tok.tokenId("<|user|>").orElseThrow();
        assertEquals(TokenType.USER_DEFINED, tok.tokenType(user));
        assertFalse(tok.isSpecial(user));
        int[] ids = tok.encode("ab<|user|>ab", false, false);
        assertTrue(java.util.Arrays.stream(ids).anyMatch(id -> id == user), java.util.Arrays.toString(ids));
        assertEquals("ab<|user|> ab", tok.decode(ids)); // the text after it gets a dummy prefix, as in llama.cpp
    }

    @Test
    void controlTextIsNotMergedIntoAControlToken() {
        Tokenizer tok = Tokenizers.fromMetadata(FILE, spm());
        // "<s" is a piece, but "<s>" is only a control token: without parsing special it stays text
        int[] ids = tok.encode("<s>", false, false);
        assertFalse(java.util.Arrays.stream(ids).anyMatch(id -> id == 1), java.util.Arrays.toString(ids));
        assertEquals("<s>", tok.decode(ids));
        assertArrayEquals(new int[] {1}, tok.encode("<s>", false, true));
    }

    @Test
    void gpt2MergesByRankAndMapsBytes() {
        Tokenizer tok = Tokenizers.fromMetadata(FILE, gpt2());
        assertFalse(tok.addBosByDefault());
        assertEquals(OptionalInt.empty(), tok.bosId());
        assertArrayEquals(new int[] {3, 4}, tok.encode("ab ab", true, false)); // no BOS to add
        assertArrayEquals(new int[] {3, 5, 2}, tok.encode("ab<|endoftext|> ", false, true));
        assertEquals("ab ab", tok.decode(new int[] {3, 4}));
        assertEquals("ab ", tok.decode(new int[] {3, 5, 2}));
        assertEquals("ab<|endoftext|> ", tok.decode(new int[] {3, 5, 2}, true));
        assertTrue(tok.isEndOfGeneration(5));
    }

    @Test
    void gpt2CannotSpellWhatItHasNoTokenFor() {
        Tokenizer tok = Tokenizers.fromMetadata(FILE, gpt2());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tok.encode("c", false, false));
        assertTrue(e.getMessage().contains("0x63"), e.getMessage());
    }

    @Test
    void eotIsFoundByNameWhenNotGiven() {
        Map<String, GgufValue> md = gpt2();
        md.put(Tokenizers.TOKENS, GgufValue.array(GgufType.STRING, new String[] {"a", "b", "Ġ", "ab", "Ġab", "<|im_end|>"}));
        assertEquals(OptionalInt.of(5), Tokenizers.fromMetadata(FILE, md).eotId());
    }
}

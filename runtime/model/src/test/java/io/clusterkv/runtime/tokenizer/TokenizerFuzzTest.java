package io.clusterkv.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.clusterkv.runtime.model.ModelFormatException;
import io.clusterkv.runtime.model.fixtures.FuzzInputs;
import io.clusterkv.runtime.model.gguf.GgufType;
import io.clusterkv.runtime.model.gguf.GgufValue;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzz targets of the tokenizers, on vocabularies built here (so every build fuzzes something, without
 * the downloaded vocabularies):
 * <ul>
 *   <li>encoding any text and decoding the ids gives the text back, for a SentencePiece vocabulary with
 *       byte fallback and for a byte-level BPE vocabulary over all 256 bytes under each pre-tokenizer.
 *       Two normalisations: a Java string is UTF-16, and a lone surrogate has no UTF-8 form, so the
 *       text expected back is the input after a UTF-8 round trip (each lone surrogate becomes {@code ?});
 *       SentencePiece gives the text after a user-defined token a dummy-prefix space, and reads a
 *       {@code "▁"} (U+2581) of the text as its space (see {@link Tokenizer}).
 *       With special tokens parsed, byte-level BPE still gives the text back; SentencePiece gives it with a
 *       space after each control token (the dummy prefix of the text that follows it, as llama.cpp writes);
 *   <li>decoding any ids in range never throws, and a {@link StreamingDecoder} fed the same ids one by
 *       one writes the same text where the bytes are valid UTF-8; an id out of range is an
 *       {@link IllegalArgumentException};
 *   <li>any bytes as a llama2.c {@code tokenizer.bin} end in a {@link ModelFormatException} or a
 *       tokenizer that encodes and decodes.
 * </ul>
 * Each input within 5 seconds and {@link FuzzInputs}' memory bound. Corpus:
 * {@code src/test/resources/io/clusterkv/runtime/tokenizer/TokenizerFuzzTestInputs/}.
 */
class TokenizerFuzzTest {

    private static final Path SOURCE = Path.of("fuzz.gguf");
    private static final Tokenizer SPM = Tokenizers.fromMetadata(SOURCE, TokenizerMetadataTest.spm());
    private static final PreTokenizer[] PRE = PreTokenizer.values();
    private static final Tokenizer[] BPE = new Tokenizer[PRE.length];

    static {
        for (int i = 0; i < PRE.length; i++) {
            BPE[i] = Tokenizers.fromMetadata(SOURCE, byteLevel(PRE[i].names.getFirst()));
        }
    }

    /**
     * A byte-level BPE vocabulary: the 256 byte characters of GPT-2's alphabet (computed here from its
     * definition, independently of the tokenizer), merges that build a few words, and two control tokens.
     */
    static Map<String, GgufValue> byteLevel(String pre) {
        List<String> tokens = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(String.valueOf(gpt2Char(b)));
            types.add(1);
        }
        String[] merges = {"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "Ġ in", "1 2", "12 3", "Ċ Ċ"};
        for (String m : merges) {
            tokens.add(m.replace(" ", ""));
            types.add(1);
        }
        tokens.add("<|endoftext|>");
        types.add(3);
        tokens.add("<|user|>");
        types.add(4);
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put(Tokenizers.MODEL, GgufValue.of("gpt2"));
        md.put(Tokenizers.PRE, GgufValue.of(pre));
        md.put(Tokenizers.TOKENS, GgufValue.array(GgufType.STRING, tokens.toArray(String[]::new)));
        md.put(Tokenizers.TOKEN_TYPE, GgufValue.array(GgufType.INT32, types.stream().mapToInt(Integer::intValue).toArray()));
        md.put(Tokenizers.MERGES, GgufValue.array(GgufType.STRING, merges));
        md.put(Tokenizers.EOS, GgufValue.ofInteger(GgufType.UINT32, tokens.size() - 2));
        return md;
    }

    /** GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes stand for themselves, the rest from U+0100 on. */
    private static char gpt2Char(int b) {
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
            return (char) b;
        }
        int n = 0;
        for (int c = 0; c < b; c++) {
            if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))) {
                n++;
            }
        }
        return (char) (256 + n);
    }

    /** Encode then decode a text, SentencePiece with byte fallback. */
    @FuzzTest(maxDuration = "30s")
    @Timeout(value = 5, unit = TimeUnit.SECONDS)
    void sentencePieceRoundTrip(FuzzedDataProvider data) throws Exception {
        String text = data.consumeRemainingAsString();
        FuzzInputs.boundedAllocation(2L * text.length(), () -> {
            roundTrip(SPM, text);
            return null;
        });
    }

    /** Encode then decode a text, byte-level BPE under the pre-tokenizer the first byte picks. */
    @FuzzTest(maxDuration = "30s")
    @Timeout(value = 5, unit = TimeUnit.SECONDS)
    void byteLevelRoundTrip(FuzzedDataProvider data) throws Exception {
        Tokenizer bpe = BPE[data.consumeInt(0, BPE.length - 1)];
        String text = data.consumeRemainingAsString();
        FuzzInputs.boundedAllocation(2L * text.length(), () -> {
            roundTrip(bpe, text);
            return null;
        });
    }

    private static void roundTrip(Tokenizer tokenizer, String text) {
        int[] ids = tokenizer.encode(text, false, false);
        for (int id : ids) {
            assertTrue(id >= 0 && id < tokenizer.vocabSize(), () -> "id " + id);
        }
        String expected = new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
        if (tokenizer instanceof SentencePieceTokenizer) {
            expected = expected.replace('\u2581', ' '); // "▁" is SentencePiece's space
        }
        assertEquals(expected, withoutPrefixesAfterSpecials(tokenizer, tokenizer.decode(ids)));
        // special tokens parsed: control tokens' text becomes those tokens; rendering them gives the text back,
        // except that SentencePiece puts the dummy-prefix space after each control token (as llama.cpp does)
        int[] special = tokenizer.encode(text, false, true);
        for (int id : special) {
            assertTrue(id >= 0 && id < tokenizer.vocabSize(), () -> "id " + id);
        }
        if (tokenizer instanceof ByteLevelBpeTokenizer) {
            assertEquals(expected, tokenizer.decode(special, true));
        }
        int[] withBos = tokenizer.encode(text, true, false);
        assertTrue(withBos.length >= ids.length && withBos.length <= ids.length + 1);
    }

    /**
     * SentencePiece gives the text after a recognised special token (user-defined tokens are recognised
     * even when special tokens are not parsed) a dummy prefix of its own, as llama.cpp does, and decoding
     * keeps it: the one space after each such token is removed here.
     */
    private static String withoutPrefixesAfterSpecials(Tokenizer tokenizer, String decoded) {
        if (!(tokenizer instanceof SentencePieceTokenizer)) {
            return decoded;
        }
        String result = decoded;
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            if (tokenizer.tokenType(id) == TokenType.USER_DEFINED) {
                result = result.replace(tokenizer.tokenText(id) + " ", tokenizer.tokenText(id));
            }
        }
        return result;
    }

    /** Decode ids in range, whole and streamed, for every vocabulary; one id out of range. */
    @FuzzTest(maxDuration = "30s")
    @Timeout(value = 5, unit = TimeUnit.SECONDS)
    void decodeIds(FuzzedDataProvider data) throws Exception {
        Tokenizer tokenizer = data.consumeBoolean() ? SPM : BPE[data.consumeInt(0, BPE.length - 1)];
        boolean renderSpecial = data.consumeBoolean();
        int[] ids = new int[data.remainingBytes() / 2];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = data.consumeInt(0, tokenizer.vocabSize() - 1);
        }
        FuzzInputs.boundedAllocation(4L * ids.length, () -> {
            decode(tokenizer, ids, renderSpecial);
            return null;
        });
    }

    private static void decode(Tokenizer tokenizer, int[] ids, boolean renderSpecial) {
        String whole = tokenizer.decode(ids, renderSpecial);
        StreamingDecoder stream = tokenizer.decoder(renderSpecial, true);
        StringBuilder streamed = new StringBuilder();
        for (int id : ids) {
            streamed.append(stream.next(id));
        }
        streamed.append(stream.flush());
        if (validUtf8(ids, tokenizer, renderSpecial)) {
            assertEquals(whole, streamed.toString());
        }
        int bad = ids.length % 2 == 0 ? tokenizer.vocabSize() : -1 - ids.length;
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {0, bad}));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decoder().next(bad));
    }

    private static boolean validUtf8(int[] ids, Tokenizer tokenizer, boolean renderSpecial) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        for (int id : ids) {
            bytes.writeBytes(tokenizer.pieceBytes(id, renderSpecial));
        }
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes.toByteArray()));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /**
     * Any bytes as a llama2.c {@code tokenizer.bin}: the input's first two bytes (big-endian, modulo 512,
     * plus 1) give the vocabulary size, the rest is the file.
     */
    @FuzzTest(maxDuration = "30s")
    @Timeout(value = 5, unit = TimeUnit.SECONDS)
    void llama2cTokenizer(byte[] input) throws Exception {
        if (input.length < 2) {
            return;
        }
        int vocabSize = 1 + (((input[0] & 0xFF) << 8 | (input[1] & 0xFF)) % 512);
        byte[] bytes = java.util.Arrays.copyOfRange(input, 2, input.length);
        Path file = FuzzInputs.write("tokenizer.bin", bytes);
        FuzzInputs.boundedAllocation(bytes.length + 64L * vocabSize, () -> {
            readLlama2c(file, vocabSize);
            return null;
        });
    }

    private static void readLlama2c(Path file, int vocabSize) throws IOException {
        Tokenizer tokenizer;
        try {
            tokenizer = Tokenizers.fromLlama2c(file, vocabSize);
        } catch (ModelFormatException expected) {
            return;
        }
        assertEquals(vocabSize, tokenizer.vocabSize());
        int[] all = new int[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            all[i] = i;
        }
        tokenizer.decode(all, true);
        try {
            int[] ids = tokenizer.encode("Once upon a time, 42 ünïcödé 🙂");
            tokenizer.decode(ids);
        } catch (IllegalArgumentException documented) {
            // a vocabulary without byte tokens or an unknown token cannot spell every character
        }
    }
}

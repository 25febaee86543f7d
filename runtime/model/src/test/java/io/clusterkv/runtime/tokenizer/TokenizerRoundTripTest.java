package io.clusterkv.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Round trips, streaming, special tokens and the speed of long inputs on the two known-answer
 * vocabularies (Llama 2 SentencePiece, GPT-2 byte-level BPE); skipped where they are absent.
 */
class TokenizerRoundTripTest {

    static final List<String> TEXTS = List.of(
            "Hello world",
            "",
            " ",
            "   three leading spaces",
            "trailing spaces   ",
            "a\n\nb\r\n\tc\n",
            "    \n   \t  \n\n\n",
            "Führer, Ærø, café, naïve, smörgåsbord",
            "日本語のテキスト、中文字符和한국어",
            "emoji 🦙🚀 family 👨‍👩‍👧 flag 🇫🇷 skin 👍🏽",
            "Ελληνικά Русский עברית العربية हिन्दी",
            "math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and ∑∫√∞",
            "x = f(1, 2) + y**3; // it's 'quoted' and \"double\" <s> </s> <|endoftext|>",
            "control \u0000 \u0007 \u007f chars",
            "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it");

    static Stream<Arguments> vocabularyAndText() {
        return Stream.of(TokenizerTestFiles.SPM, TokenizerTestFiles.GPT2)
                .flatMap(v -> TEXTS.stream().map(t -> Arguments.of(v, t)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("vocabularyAndText")
    void decodeInvertsEncode(String vocabulary, String text) {
        Tokenizer tok = TokenizerTestFiles.tokenizer(vocabulary);
        assertEquals(text, tok.decode(tok.encode(text, false, false)));
        // BOS is a control token: left out of decoded text, and the dummy prefix still removed after it
        assertEquals(text, tok.decode(tok.encode(text, true, false)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("vocabularyAndText")
    void streamingGivesWholeCharactersAndTheSameText(String vocabulary, String text) {
        Tokenizer tok = TokenizerTestFiles.tokenizer(vocabulary);
        StreamingDecoder decoder = tok.decoder();
        StringBuilder sb = new StringBuilder();
        for (int id : tok.encode(text, true, false)) {
            String chunk = decoder.next(id);
            assertFalse(chunk.contains("\uFFFD"), () -> "replacement character in chunk '" + chunk + "'");
            assertFalse(!chunk.isEmpty() && Character.isLowSurrogate(chunk.charAt(0)), "chunk starts mid-character");
            assertFalse(!chunk.isEmpty() && Character.isHighSurrogate(chunk.charAt(chunk.length() - 1)), "chunk ends mid-character");
            sb.append(chunk);
        }
        assertEquals(0, decoder.pendingBytes());
        sb.append(decoder.flush());
        assertEquals(text, sb.toString());
    }

    @Test
    void spmEmojiSpelledAsBytesIsHeldBackUntilComplete() {
        Tokenizer tok = TokenizerTestFiles.tokenizer(TokenizerTestFiles.SPM);
        int[] ids = tok.encode("🦙", false, false);
        assertArrayEquals(new int[] {29871, 243, 162, 169, 156}, ids); // "▁", <0xF0> <0x9F> <0xA6> <0x99>
        StreamingDecoder decoder = tok.decoder();
        assertEquals("", decoder.next(ids[0])); // the dummy prefix
        assertEquals("", decoder.next(ids[1]));
        assertEquals("", decoder.next(ids[2]));
        assertEquals("", decoder.next(ids[3]));
        assertEquals(3, decoder.pendingBytes());
        assertEquals("🦙", decoder.next(ids[4]));
    }

    @Test
    void gpt2CharacterSplitAcrossTokensIsHeldBack() {
        Tokenizer tok = TokenizerTestFiles.tokenizer(TokenizerTestFiles.GPT2);
        // GPT-2 has no token for the llama emoji's four bytes: it is split between byte-level tokens
        int[] ids = tok.encode(" 🦙🦙", false, false);
        assertTrue(ids.length > 2, Arrays.toString(ids));
        StreamingDecoder decoder = tok.decoder();
        boolean heldBack = false;
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(decoder.next(id));
            heldBack |= decoder.pendingBytes() > 0;
        }
        assertTrue(heldBack, "no token ended inside a character: " + Arrays.toString(ids));
        assertEquals(" 🦙🦙", sb.toString());
    }

    @Test
    void continuationKeepsItsLeadingSpace() {
        Tokenizer tok = TokenizerTestFiles.tokenizer(TokenizerTestFiles.SPM);
        int world = tok.tokenId("▁world").orElseThrow();
        assertEquals("world", tok.decoder().next(world));
        assertEquals(" world", tok.decoder(false, false).next(world));
    }

    @Test
    void spmControlTokensOnlyWhenParsingSpecial() {
        Tokenizer tok = TokenizerTestFiles.tokenizer(TokenizerTestFiles.SPM);
        assertEquals(1, tok.bosId().orElseThrow());
        assertEquals(2, tok.eosId().orElseThrow());
        assertEquals(0, tok.unknownId().orElseThrow());
        assertTrue(tok.addBosByDefault());
        assertArrayEquals(new int[] {1}, tok.encode("<s>", false, true));
        int[] plain = tok.encode("<s>", false, false);
        assertFalse(Arrays.stream(plain).anyMatch(id -> id == 1), Arrays.toString(plain));
        assertEquals("<s>", tok.decode(plain));
        // text after a special token gets the dummy prefix again, as in llama.cpp
        int[] ids = tok.encode("Hello</s>world", true, true);
        assertEquals(1, ids[0]);
        assertTrue(Arrays.stream(ids).anyMatch(id -> id == 2), Arrays.toString(ids));
        assertEquals("Hello world", tok.decode(ids));
        assertEquals("<s> Hello</s> world", tok.decode(ids, true));
        assertTrue(tok.isControl(1) && tok.isSpecial(1) && tok.isEndOfGeneration(2));
        assertFalse(tok.isSpecial(ids[1]));
        assertEquals(TokenType.BYTE, tok.tokenType(3));
    }

    @Test
    void gpt2EndOfTextOnlyWhenParsingSpecial() {
        Tokenizer tok = TokenizerTestFiles.tokenizer(TokenizerTestFiles.GPT2);
        assertEquals(50257, tok.vocabSize());
        assertEquals(50256, tok.eosId().orElseThrow());
        assertFalse(tok.addBosByDefault());
        assertArrayEquals(new int[] {50256}, tok.encode("<|endoftext|>", false, true));
        int[] plain = tok.encode("<|endoftext|>", false, false);
        assertFalse(Arrays.stream(plain).anyMatch(id -> id == 50256), Arrays.toString(plain));
        assertEquals("<|endoftext|>", tok.decode(plain));
        int[] ids = tok.encode("Hi<|endoftext|> there", false, true);
        assertEquals("Hi there", tok.decode(ids));
        assertEquals("Hi<|endoftext|> there", tok.decode(ids, true));
        assertTrue(tok.isEndOfGeneration(50256));
    }

    @Test
    void idsOutsideTheVocabularyAreRejected() {
        Tokenizer tok = TokenizerTestFiles.tokenizer(TokenizerTestFiles.GPT2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {50257}));
        assertTrue(e.getMessage().contains("50257") && e.getMessage().contains("[0, 50257)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> tok.decoder().next(-1));
        assertThrows(IllegalArgumentException.class, () -> tok.tokenText(60000));
    }

    /**
     * Not a timing assertion: prints how long 10 kB takes. Measured once warm (40 runs): about 4 ms for
     * either vocabulary on the development machine.
     */
    @ParameterizedTest
    @MethodSource("vocabularies")
    void tenKilobytesRoundTrip(String vocabulary) {
        Tokenizer tok = TokenizerTestFiles.tokenizer(vocabulary);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 10_000) {
            sb.append(TEXTS.get(sb.length() % TEXTS.size())).append(' ');
        }
        String text = sb.toString();
        for (int i = 0; i < 5; i++) {
            tok.encode(text, false, false); // warm-up
        }
        long t0 = System.nanoTime();
        int[] ids = tok.encode(text, false, false);
        long t1 = System.nanoTime();
        assertEquals(text, tok.decode(ids));
        System.out.printf("%s: encoded %d chars to %d tokens in %.2f ms%n", vocabulary, text.length(), ids.length,
                (t1 - t0) / 1e6);
    }

    static Stream<String> vocabularies() {
        return Stream.of(TokenizerTestFiles.SPM, TokenizerTestFiles.GPT2);
    }
}

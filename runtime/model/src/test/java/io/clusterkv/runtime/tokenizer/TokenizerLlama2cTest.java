package io.clusterkv.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.model.ModelFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** llama2.c {@code tokenizer.bin} files, written here the way llama2.c's exporter writes them. */
class TokenizerLlama2cTest {

    @TempDir
    Path dir;

    private record Entry(String text, float score) {
    }

    /** unk, BOS, EOS, 256 byte tokens, then pieces with spaces written as ' ' as the exporter does. */
    private static List<Entry> vocabulary() {
        List<Entry> v = new ArrayList<>(List.of(new Entry("<unk>", 0), new Entry("\n<s>\n", 0), new Entry("\n</s>\n", 0)));
        for (int b = 0; b < 256; b++) {
            v.add(new Entry(String.format("<0x%02X>", b), 0));
        }
        v.addAll(List.of(new Entry(" ", -10), new Entry("a", -20), new Entry("b", -20), new Entry(" a", -1),
                new Entry("ab", -2), new Entry(" ab", -0.5f), new Entry("é", -30)));
        return v;
    }

    private static byte[] write(List<Entry> entries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int max = entries.stream().mapToInt(e -> e.text.getBytes(StandardCharsets.UTF_8).length).max().orElse(0);
        out.writeBytes(le(4).putInt(max).array());
        for (Entry e : entries) {
            byte[] b = e.text.getBytes(StandardCharsets.UTF_8);
            out.writeBytes(le(8).putFloat(e.score).putInt(b.length).array());
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    private Tokenizer load() throws IOException {
        List<Entry> v = vocabulary();
        Path file = Files.write(dir.resolve("tokenizer.bin"), write(v));
        return Tokenizers.fromLlama2c(file, v.size());
    }

    @Test
    void readsTheVocabularyAsSentencePiece() throws IOException {
        Tokenizer tok = load();
        assertEquals(266, tok.vocabSize());
        assertEquals(1, tok.bosId().orElseThrow());
        assertEquals(2, tok.eosId().orElseThrow());
        assertEquals(0, tok.unknownId().orElseThrow());
        assertEquals("<s>", tok.tokenText(1));
        assertEquals(TokenType.CONTROL, tok.tokenType(2));
        assertEquals(TokenType.BYTE, tok.tokenType(3 + 0x41));
        assertEquals("▁ab", tok.tokenText(264));
        assertTrue(tok.addBosByDefault());
    }

    @Test
    void encodesWithDummyPrefixMergesAndByteFallback() throws IOException {
        Tokenizer tok = load();
        assertArrayEquals(new int[] {1, 264, 264}, tok.encode("ab ab", true, false));
        assertArrayEquals(new int[] {1, 264, 264}, tok.encode("ab ab")); // BOS by default
        assertArrayEquals(new int[] {259, 265}, tok.encode("é", false, false)); // a piece
        assertArrayEquals(new int[] {259, 3 + 0xE2, 3 + 0x82, 3 + 0xAC}, tok.encode("€", false, false)); // bytes
        assertArrayEquals(new int[] {1, 264}, tok.encode("<s>ab", false, true));
        assertEquals("ab ab € é", tok.decode(tok.encode("ab ab € é", true, false)));
    }

    @Test
    void streamingReassemblesFallbackBytes() throws IOException {
        Tokenizer tok = load();
        StreamingDecoder d = tok.decoder();
        assertEquals("", d.next(1));      // BOS, not rendered
        assertEquals("ab", d.next(264));   // "▁ab", dummy prefix removed
        assertEquals(" ", d.next(259));
        assertEquals("", d.next(3 + 0xE2));
        assertEquals("", d.next(3 + 0x82));
        assertEquals(2, d.pendingBytes());
        assertEquals("€", d.next(3 + 0xAC));
        assertEquals("", d.next(3 + 0xE2));
        assertEquals("\uFFFD", d.flush()); // a character never completed
        assertEquals(0, d.pendingBytes());
    }

    @Test
    void truncatedFileNamesTheTokenAndOffset() throws IOException {
        byte[] whole = write(vocabulary());
        Path file = Files.write(dir.resolve("cut.bin"), Arrays.copyOf(whole, whole.length - 3));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Tokenizers.fromLlama2c(file, 266));
        assertTrue(e.getMessage().contains("token #265") && e.offset() > 0, e.getMessage());
        ModelFormatException tooMany = assertThrows(ModelFormatException.class,
                () -> Tokenizers.fromLlama2c(Files.write(dir.resolve("t.bin"), whole), 300));
        assertTrue(tooMany.getMessage().contains("token #266"), tooMany.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tokenizers.fromLlama2c(file, 0));
    }
}

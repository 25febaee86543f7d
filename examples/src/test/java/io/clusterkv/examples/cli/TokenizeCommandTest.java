package io.clusterkv.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.model.GgufModelWriter;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ckv tokenize}'s inputs (issue 16): {@code --text}, {@code --file} and standard input give the same ids;
 * a file or standard input that is not valid UTF-8 is refused with the offset of the bad byte; a U+FFFD in
 * {@code --text} is tokenized with a warning. The vocabulary is the made-up one of an exported {@code synthetic:tiny}
 * (token {@code 3 + k} is the character {@code FIRST_PIECE_CODE_POINT + k}), so no shared file is needed.
 */
@ExtendWith(LogCapturingExtension.class)
class TokenizeCommandTest {

    @TempDir
    static Path dir;
    static Path vocab;

    /** Three characters of the made-up vocabulary and their ids. */
    static final String TEXT = piece(2) + piece(6) + piece(97);
    static final String IDS = "5 9 100";

    static String piece(int k) {
        return Character.toString(GgufModelWriter.FIRST_PIECE_CODE_POINT + k);
    }

    @BeforeAll
    static void export() {
        vocab = dir.resolve("tiny.gguf");
        CliRun r = CliRun.of("export", "--model", "synthetic:tiny", "--out", vocab.toString());
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void textFileAndStandardInputGiveTheSameIds() throws Exception {
        CliRun text = CliRun.of("tokenize", "--model", vocab.toString(), "--text", TEXT);
        assertEquals(0, text.code(), text.err());
        assertEquals(IDS, text.out().trim());

        Path file = dir.resolve("in.txt");
        Files.writeString(file, TEXT, StandardCharsets.UTF_8);
        CliRun fromFile = CliRun.of("tokenize", "--model", vocab.toString(), "--file", file.toString());
        assertEquals(0, fromFile.code(), fromFile.err());
        assertEquals(IDS, fromFile.out().trim());

        InputStream saved = System.in;
        try {
            System.setIn(new ByteArrayInputStream(TEXT.getBytes(StandardCharsets.UTF_8)));
            CliRun fromStdin = CliRun.of("tokenize", "--model", vocab.toString(), "--file", "-");
            assertEquals(0, fromStdin.code(), fromStdin.err());
            assertEquals(IDS, fromStdin.out().trim());
        } finally {
            System.setIn(saved);
        }
    }

    @Test
    void invalidUtf8IsRefusedWithTheOffsetOfTheBadByte() throws Exception {
        byte[] good = TEXT.getBytes(StandardCharsets.UTF_8);          // 9 bytes: three 3-byte characters
        byte[] bad = new byte[good.length + 2];
        System.arraycopy(good, 0, bad, 0, good.length);
        bad[good.length] = (byte) 0xC3;                                // a lead byte followed by a non-continuation
        bad[good.length + 1] = (byte) 0x28;
        Path file = dir.resolve("bad.txt");
        Files.write(file, bad);
        CliRun r = CliRun.of("tokenize", "--model", vocab.toString(), "--file", file.toString());
        r.isOneLineError(1, file + ": not valid UTF-8 at byte 9 (0xc3)");
        assertEquals("", r.out());

        InputStream saved = System.in;
        try {
            System.setIn(new ByteArrayInputStream(new byte[] {(byte) 0xFF}));
            CliRun stdin = CliRun.of("tokenize", "--model", vocab.toString(), "--file", "-");
            stdin.isOneLineError(1, "standard input: not valid UTF-8 at byte 0 (0xff)");
        } finally {
            System.setIn(saved);
        }
    }

    @Test
    void aReplacementCharacterInTextIsTokenizedWithAWarning() {
        CliRun r = CliRun.of("tokenize", "--model", vocab.toString(), "--text", TEXT + "\uFFFD");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().trim().startsWith(IDS), r.out());
        assertTrue(r.err().startsWith("ckv: warning: --text holds U+FFFD") && r.err().contains("at char 3"), r.err());
    }

    @Test
    void textAndFileAreOneOrTheOther() {
        CliRun neither = CliRun.of("tokenize", "--model", vocab.toString());
        assertEquals(2, neither.code(), neither.err());
        assertTrue(neither.err().contains("--text") && neither.err().contains("--file"), neither.err());
        CliRun both = CliRun.of("tokenize", "--model", vocab.toString(), "--text", "a", "--file", "x");
        assertEquals(2, both.code(), both.err());
        CliRun directory = CliRun.of("tokenize", "--model", vocab.toString(), "--file", dir.toString());
        directory.isOneLineError(2, "is a directory");
    }
}

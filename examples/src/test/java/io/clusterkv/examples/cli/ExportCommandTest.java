package io.clusterkv.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.model.GgufModelWriter;
import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.tensor.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code ckv export} end to end: the file runs in {@code ckv generate} as the model it came from; bad input. */
@ExtendWith(LogCapturingExtension.class)
class ExportCommandTest {

    private static CliRun ckv(String... args) {
        return CliRun.of(args);
    }

    private static String greedy(String model, String... prompt) {
        String[] args = Stream.concat(Stream.of("generate", "--model", model, "--max-tokens", "12", "--print-ids",
                "--policy", "full"), Stream.of(prompt)).toArray(String[]::new);
        CliRun r = ckv(args);
        assertEquals(0, r.code(), r.err());
        return r.out().trim();
    }

    @Test
    void anExportedSyntheticModelGeneratesTheSameTokens(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny.gguf");
        Files.writeString(file, "an older file, replaced");
        CliRun r = ckv("export", "--model", "synthetic:tiny", "--out", file.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith(file + ": llama, 2 layers, vocab 256"), r.out());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count(), "no .part file left behind");
        }
        String expected = greedy("synthetic:tiny", "--prompt-ids", "1 5 9 100");
        assertEquals(expected, greedy(file.toString(), "--prompt-ids", "1 5 9 100"));
        // the made-up vocabulary: one character a token, BOS added, as llama.cpp tokenizes it
        String text = Character.toString(GgufModelWriter.FIRST_PIECE_CODE_POINT + 2)
                + Character.toString(GgufModelWriter.FIRST_PIECE_CODE_POINT + 6)
                + Character.toString(GgufModelWriter.FIRST_PIECE_CODE_POINT + 97);
        assertEquals(expected, greedy(file.toString(), "--prompt", text));
    }

    @Test
    void typeConvertsTheWeights(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("q.gguf");
        CliRun r = ckv("export", "--model", "synthetic:tiny", "--type", "q8_0", "--out", file.toString());
        assertEquals(0, r.code(), r.err());
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(GgmlType.Q8_0, f.tensor("blk.0.attn_q.weight").type());
            assertEquals(GgmlType.F32, f.tensor("blk.0.ffn_down.weight").type(), "172-wide rows stay F32");
        }
    }

    @Test
    void badInputIsOneLineWithTheExitCodesOfTheOtherCommands(@TempDir Path dir) throws Exception {
        ckv("export", "--model", "no/such/model.gguf", "--out", dir.resolve("a.gguf").toString())
                .isOneLineError(1, "no/such/model.gguf");
        ckv("export", "--model", "synthetic:nope", "--out", dir.resolve("a.gguf").toString())
                .isOneLineError(1, "unknown synthetic model 'synthetic:nope'");
        Path missing = dir.resolve("no/such/dir/a.gguf");
        ckv("export", "--model", "synthetic:tiny", "--out", missing.toString()).isOneLineError(1, "no such folder");
        ckv("export", "--model", "synthetic:tiny", "--out", dir.toString()).isOneLineError(2, "is a folder");
        ckv("export", "--model", "synthetic:tiny", "--type", "q4_k", "--out", dir.resolve("a.gguf").toString())
                .isOneLineError(2, "--type: expected one of f32, f16, q4_0, q8_0, bf16, got 'q4_k'");
        ckv("export", "--model", "synthetic:tiny").isOneLineError(2, "--out");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(0, files.count(), "nothing written");
        }
    }
}

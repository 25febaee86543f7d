package io.clusterkv.runtime.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regressions (issue 16): a corrupt GGUF was reported as a llama2.c file ("dim at offset 0: must be in
 * [1, 65536]"), and a directory or {@code /dev/zero} as "no such model file".
 */
class ModelsLoadErrorTest {

    @TempDir
    Path dir;

    @Test
    void aDirectoryIsNotAModelFile() {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(dir));
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
    }

    @Test
    void aDeviceIsNotAModelFile() {
        Path zero = Path.of("/dev/zero");
        assumeTrue(Files.exists(zero), "no /dev/zero here");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(zero));
        assertTrue(e.getMessage().contains("not a regular file"), e.getMessage());
    }

    @Test
    void aMissingFileIsNoSuchFile() {
        assertThrows(NoSuchFileException.class, () -> Models.load(dir.resolve("nope.gguf")));
    }

    @Test
    void aGgufNamedFileWithoutTheMagicIsNotAGgufFile() throws Exception {
        Path bad = Files.write(dir.resolve("bad.gguf"), "GGUX and then anything".getBytes(StandardCharsets.US_ASCII));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(bad));
        assertTrue(e.getMessage().contains("not a GGUF file") && e.getMessage().contains("0x47475558"), e.getMessage());
        Path empty = Files.write(dir.resolve("empty.gguf"), new byte[0]);
        ModelFormatException e2 = assertThrows(ModelFormatException.class, () -> Models.load(empty));
        assertTrue(e2.getMessage().contains("not a GGUF file") && e2.getMessage().contains("shorter"), e2.getMessage());
    }

    @Test
    void aFileOfNeitherFormatSaysBoth() throws Exception {
        Path tiny = Files.write(dir.resolve("model.bin"), new byte[] {1, 2, 3});
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(tiny));
        assertTrue(e.getMessage().contains("neither a GGUF file") && e.getMessage().contains("llama2.c"), e.getMessage());
    }
}

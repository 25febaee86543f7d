package io.clusterkv.runtime.model;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the model files tests may use, walking up from the working directory. */
public final class TestModelFiles {

    private TestModelFiles() {
    }

    /** @return {@code shared/models/stories260K.bin}; skips the test with a message where absent */
    public static Path stories260K() {
        Path dir = Path.of("").toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            Path p = d.resolve("shared/models/stories260K.bin");
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        assumeTrue(false, "stories260K.bin not found in shared/models/ of " + dir + " or any parent; skipping "
                + "(see shared/models/README.md)");
        throw new AssertionError("unreachable");
    }
}

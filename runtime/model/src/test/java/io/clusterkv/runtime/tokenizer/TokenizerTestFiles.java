package io.clusterkv.runtime.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.clusterkv.runtime.model.gguf.GgufFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds the known-answer vocabularies of {@code shared/tokenizers} (see its README): the system property
 * {@code clusterkv.tokenizers.dir}, else the first {@code shared/tokenizers} found walking up from the
 * working directory (the repository root's parent holds it in the development layout). Tests that need
 * them are skipped, with the reason, where they are absent.
 */
final class TokenizerTestFiles {
    static final String SPM = "ggml-vocab-llama-spm.gguf";
    static final String GPT2 = "ggml-vocab-gpt-2.gguf";
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";
    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

    private TokenizerTestFiles() {
    }

    /** One case: the text and the expected ids. */
    record Case(int index, String text, int[] ids) {
    }

    static Path directory() {
        String property = System.getProperty("clusterkv.tokenizers.dir");
        if (property != null) {
            return Path.of(property);
        }
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path candidate = d.resolve("shared").resolve("tokenizers");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** @return whether the vocabulary file and its {@code .inp}/{@code .out} cases are present */
    static boolean present(String name) {
        Path dir = directory();
        return dir != null && Files.isRegularFile(dir.resolve(name)) && Files.isRegularFile(dir.resolve(name + ".inp"))
                && Files.isRegularFile(dir.resolve(name + ".out"));
    }

    /** @return the vocabulary file, or a skip of the calling test when it is absent */
    static Path require(String name) {
        Path dir = directory();
        assumeTrue(dir != null, () -> "skipped: no shared/tokenizers directory above " + Path.of("").toAbsolutePath()
                + " (set -Dclusterkv.tokenizers.dir to the folder holding " + name + ")");
        Path file = dir.resolve(name);
        assumeTrue(Files.isRegularFile(file), () -> "skipped: " + file + " is absent");
        return file;
    }

    /** @return the tokenizer of a known-answer vocabulary, loaded once */
    static Tokenizer tokenizer(String name) {
        Path file = require(name);
        return LOADED.computeIfAbsent(name, n -> {
            try (GgufFile gguf = GgufFile.open(file)) {
                return Tokenizers.fromGguf(gguf);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /**
     * Reads the cases as llama.cpp's {@code tests/test-tokenizer-0} does: the {@code .inp} file is cut at
     * every {@code "\n__ggml_vocab_test__\n"}, so a case is the text between separators without the
     * newline that ends its last line (and the file's final separator leaves no empty case); line i of
     * {@code .out} holds case i's ids.
     */
    static List<Case> cases(String name) throws IOException {
        Path file = require(name);
        Path inp = file.resolveSibling(name + ".inp");
        Path out = file.resolveSibling(name + ".out");
        assumeTrue(Files.isRegularFile(inp) && Files.isRegularFile(out), () -> "skipped: " + inp + " or " + out + " is absent");
        String raw = Files.readString(inp, StandardCharsets.UTF_8);
        List<String> texts = new ArrayList<>();
        int pos = 0;
        while (pos < raw.length()) {
            int next = raw.indexOf(SEPARATOR, pos);
            if (next < 0) {
                texts.add(raw.substring(pos));
                break;
            }
            texts.add(raw.substring(pos, next));
            pos = next + SEPARATOR.length();
        }
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        if (lines.size() != texts.size()) {
            throw new IllegalStateException(inp + " has " + texts.size() + " cases but " + out + " has " + lines.size() + " lines");
        }
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            String line = lines.get(i).strip();
            int[] ids = line.isEmpty() ? new int[0]
                    : java.util.Arrays.stream(line.split(" +")).mapToInt(Integer::parseInt).toArray();
            cases.add(new Case(i, texts.get(i), ids));
        }
        return cases;
    }
}

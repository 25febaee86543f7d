package io.clusterkv.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** ckv generate / tokenize / inspect end to end; the shared model files are optional. */
@ExtendWith(LogCapturingExtension.class)
class ModelCommandsTest {

    private static CliRun ckv(String... args) {
        return CliRun.of(args);
    }

    /** Finds shared/&lt;relative&gt; above the working directory, or null. */
    static Path shared(String relative) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path p = dir.resolve("shared").resolve(relative);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        return null;
    }

    @Test
    void generateStories260kGreedilyMatchesRunC() {
        Path model = shared("models/stories260K.bin");
        assumeTrue(model != null, "shared/models/stories260K.bin not found above the working directory: skipped");
        CliRun r = ckv("generate", "--model", model.toString(), "--max-tokens", "20", "--print-ids");
        assertEquals(0, r.code(), r.err());
        // the first 20 greedy tokens printed by llama2.c run.c for this checkpoint (see the runtime's golden file)
        assertEquals("461 461 401 401 401 461 378 455 473 456 435 299 362 409 283 264 283 452 288 13", r.out().trim());
    }

    @Test
    void tokenizeUsesTheGgufVocabulary() {
        Path vocab = shared("tokenizers/ggml-vocab-llama-spm.gguf");
        assumeTrue(vocab != null, "shared/tokenizers/ggml-vocab-llama-spm.gguf not found: skipped");
        CliRun r = ckv("tokenize", "--model", vocab.toString(), "--text", "Hello world");
        assertEquals(0, r.code(), r.err());
        assertEquals("15043 3186", r.out().trim(), "llama.cpp's known answer for 'Hello world'");
        CliRun inspect = ckv("inspect", "--model", vocab.toString());
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().contains("tokenizer.ggml.model = llama"), inspect.out());
    }

    @Test
    void syntheticModelGeneratesFromIds() {
        CliRun r = ckv("generate", "--model", "synthetic:tiny", "--prompt-ids", "1 5 9", "--max-tokens", "5", "--print-ids");
        assertEquals(0, r.code(), r.err());
        assertEquals(5, r.out().trim().split(" ").length, r.out());
        CliRun inspect = ckv("inspect", "--model", "synthetic:tiny");
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().contains("architecture=llama"), inspect.out());
    }

    @Test
    void generateSetsPolicyKeysAndNamesABadOne() {
        String[] base = {"generate", "--model", "synthetic:tiny", "--prompt-ids", "1 5 9", "--max-tokens", "3",
                "--print-ids", "--policy", "quest", "--budget", "4", "--set", "clusterkv.runtime.dense-layers=0"};
        CliRun ok = ckv(with(base, "--set", "clusterkv.policy.quest.page-size=2"));
        assertEquals(0, ok.code(), ok.err());
        assertEquals(3, ok.out().trim().split(" ").length, ok.out());
        // a bad --set is a usage error (2), as a bad arena --policies is (issue 16)
        CliRun unknown = ckv(with(base, "--set", "clusterkv.policy.quest.page-sise=2"));
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("clusterkv.policy.quest.page-sise") && unknown.err().contains("page-size")
                && unknown.err().lines().count() == 1, unknown.err());
        CliRun bad = ckv(with(base, "--set", "clusterkv.policy.quest.page-size=0"));
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("clusterkv.policy.quest.page-size = '0'") && bad.err().contains("expected")
                && bad.err().lines().count() == 1, bad.err());
        CliRun runtimeKey = ckv(with(base, "--set", "clusterkv.runtime.kv-format=f8"));
        assertEquals(2, runtimeKey.code());
        assertTrue(runtimeKey.err().contains("clusterkv.runtime.kv-format = f8: expected f32 or f16"), runtimeKey.err());
        // regressions (issue 16): a misspelt runtime key was ignored, dense-layers past the model's layers accepted,
        // an unknown policy exited 1
        CliRun misspelt = ckv(with(base, "--set", "clusterkv.runtime.budgte=8"));
        assertEquals(2, misspelt.code(), misspelt.err());
        assertTrue(misspelt.err().contains("clusterkv.runtime.budgte") && misspelt.err().contains("did you mean clusterkv.runtime.budget")
                && misspelt.err().lines().count() == 1, misspelt.err());
        CliRun dense = ckv(with(base, "--set", "clusterkv.runtime.dense-layers=99"));
        assertEquals(2, dense.code(), dense.err());
        assertTrue(dense.err().contains("clusterkv.runtime.dense-layers = 99") && dense.err().contains("2 layers"), dense.err());
        CliRun policy = ckv("generate", "--model", "synthetic:tiny", "--prompt-ids", "1 5 9", "--policy", "nope");
        assertEquals(2, policy.code(), policy.err());
        assertTrue(policy.err().contains("unknown policy 'nope'"), policy.err());
    }

    private static String[] with(String[] base, String... more) {
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    @Test
    void badInputIsOneLineWithExitCode() {
        CliRun missing = ckv("generate", "--model", "no/such/model.gguf");
        assertEquals(1, missing.code());
        assertTrue(missing.err().startsWith("ckv: ") && missing.err().contains("no/such/model.gguf")
                && missing.err().lines().count() == 1, missing.err());
        CliRun textWithoutTokenizer = ckv("generate", "--model", "synthetic:tiny", "--prompt", "hi");
        assertEquals(2, textWithoutTokenizer.code());
        assertTrue(textWithoutTokenizer.err().contains("has no tokenizer"), textWithoutTokenizer.err());
        CliRun badIds = ckv("generate", "--model", "synthetic:tiny", "--prompt-ids", "1 x");
        assertEquals(2, badIds.code());
        CliRun outOfVocab = ckv("generate", "--model", "synthetic:tiny", "--prompt-ids", "99999");
        assertEquals(2, outOfVocab.code());
        assertTrue(outOfVocab.err().contains("outside the vocabulary"), outOfVocab.err());
    }

    /** Regression (issue 16): {@code new int[maxTokens]} threw OutOfMemoryError and the command hung. */
    @Test
    void maxTokensOfIntegerMaxValueEndsWhenTheContextIsFull() {
        CliRun r = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60),
                () -> ckv("generate", "--model", "synthetic:tiny", "--prompt-ids", "1 5 9", "--max-tokens",
                        Integer.toString(Integer.MAX_VALUE), "--print-ids", "--policy", "full"));
        assertEquals(0, r.code(), r.err());
        // synthetic:tiny has no stop token and 1024 positions: 3 prompt tokens, then 1022 fed back and one more
        assertEquals(1024 - 3 + 1, r.out().trim().split(" ").length, r.err());
    }

    /** Regression (issue 16): --top-p 2 and --top-k -3 were accepted at temperature 0. */
    @Test
    void samplingValuesAreCheckedEvenWhenGreedy() {
        CliRun topP = ckv("generate", "--model", "synthetic:tiny", "--prompt-ids", "1 5 9", "--top-p", "2");
        assertEquals(2, topP.code(), topP.err());
        assertTrue(topP.err().contains("--top-p") && topP.err().contains("2.0"), topP.err());
        CliRun topK = ckv("generate", "--model", "synthetic:tiny", "--prompt-ids", "1 5 9", "--top-k", "-3");
        assertEquals(2, topK.code(), topK.err());
        assertTrue(topK.err().contains("--top-k") && topK.err().contains("-3"), topK.err());
    }
}

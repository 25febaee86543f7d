package io.clusterkv.runtime.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.tasks.TaskInstance.Role;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import io.clusterkv.runtime.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The tasks as text through real vocabularies (Llama 2's SentencePiece, GPT-2's byte-level BPE, from
 * shared/tokenizers; skipped where absent): exactly n tokens after the tokenizer's BOS, and the
 * answer tokens decode to the number or names the needles hold.
 */
class TextLexiconTest {

    static Tokenizer tokenizer(String file) throws Exception {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path p = d.resolve("shared/tokenizers").resolve(file);
            if (Files.isRegularFile(p)) {
                return Tokenizers.fromGguf(GgufFile.open(p));
            }
        }
        assumeTrue(false, "shared/tokenizers/" + file + " not found above the working directory: skipped");
        throw new AssertionError("unreachable");
    }

    static String answerText(Tokenizer tok, TaskInstance t, int from, int to) {
        int[] k = t.continuation();
        int[] a = t.answers();
        return tok.decode(Arrays.stream(a, from, to).map(j -> k[j]).toArray()).strip();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"})
    void everyTaskWritesNTokensAndItsAnswersDecodeToWhatTheNeedlesHold(String file) throws Exception {
        Tokenizer tok = tokenizer(file);
        TaskLexicon lex = TaskLexicon.text(tok);
        for (Task task : Task.values()) {
            for (double depth : new double[] {0, 0.4, 1}) {
                TaskInstance t = task.generate(lex, 700, depth, 5);
                assertEquals(700, t.contextLength());
                assertEquals(tok.bosId().getAsInt(), t.context()[0]);
                String needles = t.needles().stream().filter(n -> n.role() == Role.ANSWER)
                        .map(n -> tok.decode(Arrays.copyOfRange(t.context(), n.start(), n.end()))).reduce("", String::concat);
                String question = tok.decode(t.continuation());
                switch (task) {
                    case PASSKEY -> {
                        String key = answerText(tok, t, 0, t.answers().length);
                        assertTrue(key.matches("[1-9]\\d{4}"), key);
                        assertTrue(needles.matches(".*the pass key is " + key + " ?\\. remember it\\. " + key
                                + " is the pass key\\..*"), needles);
                    }
                    case NIAH_SINGLE, NIAH_MULTIKEY -> {
                        String value = answerText(tok, t, 0, t.answers().length);
                        assertTrue(value.matches("[1-9]\\d{6}"), value);
                        Matcher m = Pattern.compile("for (\\w+) mentioned").matcher(question);
                        assertTrue(m.find(), question);
                        assertTrue(needles.contains("one of the special magic numbers for " + m.group(1) + " is " + value),
                                needles + " / " + question);
                    }
                    case NIAH_MULTIVALUE, NIAH_MULTIQUERY -> {
                        // four 7-digit values, each in an answer-bearing needle
                        String all = tok.decode(Arrays.stream(t.answers()).map(j -> t.continuation()[j]).toArray());
                        List<String> values = Arrays.stream(all.strip().split(" +")).toList();
                        assertEquals(4, values.size(), all);
                        for (String v : values) {
                            assertTrue(v.matches("[1-9]\\d{6}") && needles.contains(" is " + v), v + " in " + needles);
                        }
                    }
                    case VARIABLE_TRACKING -> {
                        String all = tok.decode(Arrays.stream(t.answers()).map(j -> t.continuation()[j]).toArray());
                        List<String> vars = Arrays.stream(all.strip().split(" +")).toList();
                        assertEquals(5, vars.size(), all);
                        Matcher m = Pattern.compile("the value (\\d{5})$").matcher(question.substring(0,
                                question.length() - all.length()).strip());
                        assertTrue(m.find(), question);
                        String prev = m.group(1);
                        for (String v : vars) {
                            assertTrue(v.matches("[A-Z]{5}") && needles.contains("var " + v + " = " + prev), v + " = " + prev
                                    + " in " + needles);
                            prev = v;
                        }
                    }
                }
            }
        }
    }
}

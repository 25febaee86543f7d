package io.clusterkv.examples.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.model.RetrievalVocabulary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ckv task}: an instance's files, read back with the definitions they promise. */
class TaskCommandTest {

    @TempDir
    Path dir;

    @Test
    void writesAPasskeyPromptItsAnswerAndTheTextLlamaCppReads() throws Exception {
        CliRun r = CliRun.of("task", "--model", "synthetic:retrieval", "--task", "passkey", "--context", "600",
                "--depth", "0.5", "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        int[] prompt = ids(Files.readString(dir.resolve("prompt.ids")));
        int[] answer = ids(Files.readString(dir.resolve("answer.ids")));
        assertEquals(RetrievalVocabulary.BOS, prompt[0]);
        int[] question = RetrievalVocabulary.ids("what is the pass key ? the pass key is");
        assertArrayEquals(question, Arrays.copyOfRange(prompt, prompt.length - question.length, prompt.length));
        assertEquals(600 + question.length, prompt.length);
        assertEquals(5, answer.length);
        // the needle states the answer right after "the pass key is"
        int[] stated = concat(RetrievalVocabulary.ids("the pass key is"), answer);
        assertTrue(indexOf(Arrays.copyOf(prompt, 600), stated) > 0, "the pass key is in the context");
        // the made-up vocabulary: token id i >= 3 is the character U+4E00 + i - 3 (no byte tokens under 259 tokens)
        String text = Files.readString(dir.resolve("prompt.txt"));
        int[] back = text.codePoints().map(c -> c - 0x4E00 + 3).toArray();
        assertArrayEquals(Arrays.copyOfRange(prompt, 1, prompt.length), back);
        assertTrue(Files.readString(dir.resolve("args.txt")).startsWith("--prompt-ids\n\"1 "));
    }

    @Test
    void anUnknownTaskIsAUsageError() {
        CliRun.of("task", "--model", "synthetic:retrieval", "--task", "nope", "--out", dir.toString())
                .isOneLineError(2, "nope");
    }

    private static int[] ids(String s) {
        return Arrays.stream(s.trim().split(" +")).mapToInt(Integer::parseInt).toArray();
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static int indexOf(int[] hay, int[] needle) {
        for (int i = 0; i + needle.length <= hay.length; i++) {
            if (Arrays.equals(hay, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        return -1;
    }
}

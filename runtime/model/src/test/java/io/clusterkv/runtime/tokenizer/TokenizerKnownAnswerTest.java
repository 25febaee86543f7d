package io.clusterkv.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every known-answer case of {@code shared/tokenizers} (expected ids from the reference tokenizers, as
 * run by llama.cpp's {@code test-tokenizer-0}): no BOS, special tokens not parsed. Each case is also
 * decoded back to its text.
 */
class TokenizerKnownAnswerTest {

    @TestFactory
    Stream<DynamicTest> llamaSpm() throws IOException {
        return cases(TokenizerTestFiles.SPM);
    }

    @TestFactory
    Stream<DynamicTest> gpt2() throws IOException {
        return cases(TokenizerTestFiles.GPT2);
    }

    private static Stream<DynamicTest> cases(String name) throws IOException {
        if (!TokenizerTestFiles.present(name)) {
            // one test that reports the skip and its reason (an aborted factory is not counted as skipped)
            return Stream.of(dynamicTest(name + " (absent)", () -> TokenizerTestFiles.cases(name)));
        }
        List<TokenizerTestFiles.Case> cases = TokenizerTestFiles.cases(name);
        Tokenizer tokenizer = TokenizerTestFiles.tokenizer(name);
        return cases.stream().map(c -> dynamicTest(name + " #" + c.index() + " " + printable(c.text()), () -> {
            int[] ids = tokenizer.encode(c.text(), false, false);
            assertArrayEquals(c.ids(), ids, () -> "ids of " + printable(c.text()) + ": expected "
                    + Arrays.toString(c.ids()) + ", got " + Arrays.toString(ids));
            assertEquals(c.text(), tokenizer.decode(ids), "decode of the expected ids");
        }));
    }

    private static String printable(String s) {
        String t = s.replace("\n", "\\n").replace("\t", "\\t");
        return "'" + (t.length() > 40 ? t.substring(0, 40) + "..." : t) + "'";
    }
}

package io.clusterkv.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The pre-tokenizer regexes split as the Hugging Face expressions do, including {@code \s+(?!\S)}
 * leaving a run's last space to the next word and Unicode white space.
 */
class TokenizerPreTokenizerTest {

    @Test
    void gpt2() {
        PreTokenizer p = PreTokenizer.GPT2;
        assertEquals(List.of("Hello", "  ", " world"), p.split("Hello   world"));
        assertEquals(List.of("I", "'m", " 123", " abc", "!!", "  "), p.split("I'm 123 abc!!  "));
        assertEquals(List.of("I", "'", "M"), p.split("I'M"));
        assertEquals(List.of("x", "\u00a0", "\u00a0", "y"), p.split("x\u00a0\u00a0y"));
        assertEquals(List.of("a", "\n\n", " b"), p.split("a\n\n b"));
    }

    @Test
    void llama3() {
        PreTokenizer p = PreTokenizer.LLAMA3;
        assertEquals(List.of("Hello", " world", " ", "123", "45", "\n\n", " ", " x"), p.split("Hello world 12345\n\n  x"));
        assertEquals(List.of("I", "'M", " fine", ".\n"), p.split("I'M fine.\n"));
        assertEquals(List.of("(x", ")"), p.split("(x)"));
    }

    @Test
    void qwen2() {
        assertEquals(List.of("ab", "1", "2", "3"), PreTokenizer.QWEN2.split("ab123"));
    }

    @Test
    void names() {
        assertSame(PreTokenizer.GPT2, PreTokenizer.forName("default"));
        assertSame(PreTokenizer.LLAMA3, PreTokenizer.forName("llama-bpe"));
        assertSame(PreTokenizer.LLAMA3, PreTokenizer.forName("llama3"));
        assertSame(PreTokenizer.QWEN2, PreTokenizer.forName("qwen2"));
        assertNull(PreTokenizer.forName("bloom"));
    }
}

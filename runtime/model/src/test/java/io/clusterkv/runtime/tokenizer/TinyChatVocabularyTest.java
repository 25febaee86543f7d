package io.clusterkv.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.TinyChatModel;
import io.clusterkv.runtime.model.gguf.GgufFile;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code synthetic:tiny-chat}'s shipped vocabulary: it is llama.cpp's Llama 2 SentencePiece vocabulary
 * (checked token by token against {@code shared/tokenizers} where present, and on its known-answer cases)
 * plus the two ChatML control tokens, and its chat markers tokenise to those control ids.
 */
class TinyChatVocabularyTest {

    private static LlamaModel model;
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() throws Exception {
        model = Models.load(TinyChatModel.NAME);
        tokenizer = Tokenizers.fromGguf(model.gguf().orElseThrow());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void theModelHasTheVocabularyTheTemplateAndTheStopTokens() {
        assertEquals(32002, model.config().vocab());
        assertEquals(32002, tokenizer.vocabSize());
        assertInstanceOf(String.class, model.gguf().orElseThrow().metadata().get("tokenizer.chat_template").value());
        assertEquals("<|im_start|>", tokenizer.tokenText(TinyChatModel.IM_START));
        assertEquals("<|im_end|>", tokenizer.tokenText(TinyChatModel.IM_END));
        assertTrue(tokenizer.isControl(TinyChatModel.IM_START) && tokenizer.isControl(TinyChatModel.IM_END));
        assertEquals(TinyChatModel.IM_END, tokenizer.eotId().orElseThrow());
        assertEquals(2, tokenizer.eosId().orElseThrow());
        assertTrue(Arrays.stream(model.stopTokens()).anyMatch(t -> t == TinyChatModel.IM_END));
        assertTrue(Arrays.stream(model.stopTokens()).anyMatch(t -> t == 2));
    }

    @Test
    void chatMarkersAreControlTokensWhenSpecialTokensAreParsed() {
        int[] parsed = tokenizer.encode("<|im_start|>user\nHi<|im_end|>", false, true);
        assertEquals(TinyChatModel.IM_START, parsed[0]);
        assertEquals(TinyChatModel.IM_END, parsed[parsed.length - 1]);
        int[] plain = tokenizer.encode("<|im_start|>user\nHi<|im_end|>", false, false);
        assertTrue(Arrays.stream(plain).noneMatch(t -> t >= 32000), "as text the markers are spelled with ordinary pieces");
        assertEquals("<|im_start|>user\nHi<|im_end|>", tokenizer.decode(plain));
    }

    @Test
    void theFirst32000TokensAreTheLlamaSpmVocabulary() throws Exception {
        try (GgufFile shared = GgufFile.open(TokenizerTestFiles.require(TokenizerTestFiles.SPM))) {
            GgufFile ours = model.gguf().orElseThrow();
            assertArrayEquals(shared.getStringArray("tokenizer.ggml.tokens"),
                    Arrays.copyOf(ours.getStringArray("tokenizer.ggml.tokens"), 32000));
            assertArrayEquals(shared.getFloatArray("tokenizer.ggml.scores"),
                    Arrays.copyOf(ours.getFloatArray("tokenizer.ggml.scores"), 32000));
            assertArrayEquals(shared.getIntArray("tokenizer.ggml.token_type"),
                    Arrays.copyOf(ours.getIntArray("tokenizer.ggml.token_type"), 32000));
        }
    }

    @Test
    void itPassesLlamaCppsKnownAnswerCases() throws Exception {
        for (TokenizerTestFiles.Case c : TokenizerTestFiles.cases(TokenizerTestFiles.SPM)) {
            assertArrayEquals(c.ids(), tokenizer.encode(c.text(), false, false), "case " + c.index() + ": " + c.text());
        }
    }
}

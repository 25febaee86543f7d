package io.clusterkv.runtime.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.model.Sampler;
import org.junit.jupiter.api.Test;

/** The one stopping rule of both decoders: a stop token first, then the token limit, then a full context. */
class GeneratedTokensTest {

    private static final int STOP = 2;
    private static final int CONTEXT = 100;

    private static float[] logitsFor(int token) {
        float[] l = new float[8];
        l[token] = 1;
        return l;
    }

    @Test
    void aStopTokenEndsItEvenOnTheLastTokenAndAtTheEndOfTheContext() {
        GeneratedTokens g = new GeneratedTokens(1, Sampler.greedy(), new int[] {STOP});
        int token = g.sample(logitsFor(STOP));
        assertEquals(GeneratedTokens.Stop.STOP_TOKEN, g.stopAfter(token, CONTEXT, CONTEXT));
        assertArrayEquals(new int[] {STOP}, g.tokens(), "the stop token is reported");
    }

    @Test
    void theTokenLimitComesBeforeAFullContext() {
        GeneratedTokens g = new GeneratedTokens(2, Sampler.greedy(), new int[] {STOP});
        assertNull(g.stopAfter(g.sample(logitsFor(5)), CONTEXT - 1, CONTEXT));
        assertEquals(GeneratedTokens.Stop.MAX_TOKENS, g.stopAfter(g.sample(logitsFor(6)), CONTEXT, CONTEXT));
        assertTrue(g.full());
        assertThrows(IllegalStateException.class, () -> g.sample(logitsFor(5)));
        assertArrayEquals(new int[] {5, 6}, g.tokens());
    }

    @Test
    void aFullContextEndsIt() {
        GeneratedTokens g = new GeneratedTokens(10, Sampler.greedy(), new int[] {STOP});
        assertEquals(GeneratedTokens.Stop.CONTEXT_FULL, g.stopAfter(g.sample(logitsFor(5)), CONTEXT, CONTEXT));
    }

    @Test
    void aLimitOfZeroSamplesNothingAndANegativeOneIsRefused() {
        assertTrue(new GeneratedTokens(0, Sampler.greedy(), new int[0]).full());
        assertEquals("maxTokens must be >= 0, was -1", assertThrows(IllegalArgumentException.class,
                () -> new GeneratedTokens(-1, Sampler.greedy(), new int[0])).getMessage());
    }
}

package io.clusterkv.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The forward pass's cursor, which both decoders follow: the order of layers and of a prompt's chunks
 * (attention output left at zero: the cursor, not attention, is under test).
 */
class ForwardPassCursorTest {

    @Test
    void aPromptIsLayersWithinChunksOfAtMostPrefillChunkTokens() throws Exception {
        try (LlamaModel m = Models.load("synthetic:tiny")) {
            int layers = m.config().layers();
            ForwardPass pass = new ForwardPass(m, null);
            int length = 2 * ForwardPass.PREFILL_CHUNK + 9;
            pass.beginPrompt(new int[length], 5);
            List<String> seen = new ArrayList<>();
            ForwardPass.PromptProgress p;
            do {
                seen.add(pass.chunkStart() + "+" + pass.chunkSize() + "@" + pass.layer() + (pass.lastChunk() ? " last" : ""));
                p = pass.nextPromptLayer();
            } while (p != ForwardPass.PromptProgress.DONE);
            List<String> expected = new ArrayList<>();
            int[][] chunks = {{5, 64}, {69, 64}, {133, 9}};
            for (int[] chunk : chunks) {
                for (int l = 0; l < layers; l++) {
                    expected.add(chunk[0] + "+" + chunk[1] + "@" + l + (chunk[0] == 133 ? " last" : ""));
                }
            }
            assertEquals(expected, seen);
        }
    }

    @Test
    void aDecodeStepVisitsEveryLayerOnceThenHasLogits() throws Exception {
        try (LlamaModel m = Models.load("synthetic:tiny")) {
            ForwardPass pass = new ForwardPass(m, null);
            pass.begin(3, 0);
            List<Integer> layers = new ArrayList<>();
            do {
                layers.add(pass.layer());
            } while (pass.nextLayer());
            assertEquals(IntStream.range(0, m.config().layers()).boxed().toList(), layers);
        }
    }

    /**
     * A decode step's phases run as tasks on the pool: called from an outside thread, from a worker of
     * another pool (an actor dispatcher's, waiting as a managed blocker) or from the pool's own worker,
     * the logits are those of the calling thread alone.
     */
    @Test
    void decodeStepsOnThePoolFromAnyThreadMatchTheCallingThreadAlone() throws Exception {
        try (LlamaModel m = Models.load("synthetic:tiny")) {
            float[][] alone = steps(new ForwardPass(m, null));
            ForkJoinPool pool = new ForkJoinPool(2);
            ForkJoinPool other = new ForkJoinPool(1);
            try {
                assertSteps(alone, steps(new ForwardPass(m, pool)));
                assertSteps(alone, other.submit(() -> steps(new ForwardPass(m, pool))).get());
                assertSteps(alone, pool.submit(() -> steps(new ForwardPass(m, pool))).get());
            } finally {
                pool.shutdown();
                other.shutdown();
            }
        }
    }

    /** @return the logits of four decode steps (attention output left at zero) */
    private static float[][] steps(ForwardPass pass) {
        float[][] logits = new float[4][];
        for (int t = 0; t < logits.length; t++) {
            pass.begin(3 + t, t);
            while (pass.nextLayer()) {
                // the cursor only
            }
            logits[t] = pass.logits().clone();
        }
        return logits;
    }

    private static void assertSteps(float[][] expected, float[][] actual) {
        for (int t = 0; t < expected.length; t++) {
            assertArrayEquals(expected[t], actual[t], 1e-5f, "step " + t);
        }
    }

    @Test
    void anEmptyPromptIsRefused() throws Exception {
        try (LlamaModel m = Models.load("synthetic:tiny")) {
            assertEquals("the prompt is empty", assertThrows(IllegalArgumentException.class,
                    () -> new ForwardPass(m, null).beginPrompt(new int[0], 0)).getMessage());
        }
    }
}

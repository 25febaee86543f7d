package io.clusterkv.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
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

    @Test
    void anEmptyPromptIsRefused() throws Exception {
        try (LlamaModel m = Models.load("synthetic:tiny")) {
            assertEquals("the prompt is empty", assertThrows(IllegalArgumentException.class,
                    () -> new ForwardPass(m, null).beginPrompt(new int[0], 0)).getMessage());
        }
    }
}

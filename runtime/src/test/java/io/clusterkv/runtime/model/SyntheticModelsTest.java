package io.clusterkv.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.tensor.GgmlType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Synthetic models and the session API over them. */
class SyntheticModelsTest {

    static float[] logitsAfter(LlamaModel m, int... tokens) {
        try (Generation g = Generation.create(m, null)) {
            return g.prefill(tokens).clone();
        }
    }

    @Test
    void the_same_seed_gives_the_same_model_and_another_seed_another() {
        try (LlamaModel a = SyntheticModels.create("synthetic:tiny", GgmlType.F32, 1);
             LlamaModel b = SyntheticModels.create("synthetic:tiny", GgmlType.F32, 1);
             LlamaModel c = SyntheticModels.create("synthetic:tiny", GgmlType.F32, 2)) {
            assertArrayEquals(logitsAfter(a, 1, 2, 3), logitsAfter(b, 1, 2, 3));
            assertFalse(java.util.Arrays.equals(logitsAfter(a, 1, 2, 3), logitsAfter(c, 1, 2, 3)));
        }
    }

    @Test
    void llama_1b_has_the_llama_3_2_shape() {
        ModelConfig c = SyntheticModels.config("synthetic:llama-1b");
        assertEquals(16, c.layers());
        assertEquals(2048, c.dim());
        assertEquals(32, c.heads());
        assertEquals(8, c.kvHeads());
        assertEquals(8192, c.hiddenDim());
        assertEquals(128256, c.vocab());
        assertEquals(500000, c.ropeTheta());
        assertEquals(new RopeScaling.Llama3(32, 1, 4, 8192), c.ropeScaling());
    }

    @Test
    void unknown_names_and_unsupported_types_are_clear_errors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Models.load("synthetic:huge"));
        assertTrue(e.getMessage().contains("synthetic:tiny"), e.getMessage());
        UnsupportedOperationException u = assertThrows(UnsupportedOperationException.class,
                () -> SyntheticModels.create("synthetic:tiny", GgmlType.Q8_0, 1));
        assertTrue(u.getMessage().contains("Q8_0"), u.getMessage());
    }

    @Test
    void logits_stay_finite_and_of_sane_size() throws Exception {
        try (LlamaModel m = Models.load("synthetic:tiny"); Generation g = Generation.create(m, null)) {
            int token = 1;
            for (int i = 0; i < 50; i++) {
                float[] l = g.next(token);
                double ss = 0;
                for (float x : l) {
                    assertTrue(Float.isFinite(x));
                    ss += x * x;
                }
                double rms = Math.sqrt(ss / l.length);
                assertTrue(rms > 0.1 && rms < 100, "logit rms " + rms);
                token = Sampler.argmax(l);
            }
            assertEquals(50, g.position());
        }
    }

    @Test
    void session_checks_its_inputs() throws Exception {
        try (LlamaModel m = Models.load("synthetic:tiny"); Generation g = Generation.create(m, null)) {
            assertThrows(IndexOutOfBoundsException.class, () -> g.next(256));
            assertThrows(IndexOutOfBoundsException.class, () -> g.prefill(new int[] {1, -1}));
            assertThrows(IllegalArgumentException.class, () -> g.prefill(new int[0]));
            assertEquals(0, g.position(), "a rejected input changes nothing");
            g.next(1);
            assertThrows(IllegalArgumentException.class, () -> g.forward(1, 0));
            assertThrows(IllegalStateException.class, () -> g.prefill(new int[m.config().contextLength()]));
            g.close();
            assertThrows(IllegalStateException.class, () -> g.next(1));
        }
    }

    @Test
    void generate_samples_up_to_max_tokens_and_reports_each() throws Exception {
        try (LlamaModel m = Models.load("synthetic:tiny"); Generation g = Generation.create(m, null)) {
            List<Integer> seen = new ArrayList<>();
            int[] out = g.generate(new int[] {1, 5, 9}, 10, Sampler.of(0.8, 20, 0.95, 1), seen::add);
            assertEquals(10, out.length);
            assertEquals(seen, java.util.Arrays.stream(out).boxed().toList());
            assertEquals(3 + 9, g.position(), "the last sampled token is not fed back");
        }
    }
}

package io.clusterkv.runtime.decode;

import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.model.SyntheticModels;
import io.clusterkv.runtime.model.RopeScaling;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.tensor.GgmlType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Synthetic models and the session API over them. */
class SyntheticModelsTest {

    static float[] logitsAfter(LlamaModel m, int... tokens) {
        try (ReferenceDecoder g = ReferenceDecoder.create(m, null)) {
            return g.prefill(tokens).clone();
        }
    }

    @Test
    void theSameSeedGivesTheSameModelAndAnotherSeedAnother() {
        try (LlamaModel a = SyntheticModels.create("synthetic:tiny", GgmlType.F32, 1);
             LlamaModel b = SyntheticModels.create("synthetic:tiny", GgmlType.F32, 1);
             LlamaModel c = SyntheticModels.create("synthetic:tiny", GgmlType.F32, 2)) {
            assertArrayEquals(logitsAfter(a, 1, 2, 3), logitsAfter(b, 1, 2, 3));
            assertFalse(java.util.Arrays.equals(logitsAfter(a, 1, 2, 3), logitsAfter(c, 1, 2, 3)));
        }
    }

    @Test
    void llama1bHasTheLlama32Shape() {
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
    void unknownNamesAndUnsupportedTypesAreClearErrors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Models.load("synthetic:huge"));
        assertTrue(e.getMessage().contains("synthetic:tiny"), e.getMessage());
        UnsupportedOperationException u = assertThrows(UnsupportedOperationException.class,
                () -> SyntheticModels.create("synthetic:tiny", GgmlType.Q4_K, 1));
        assertTrue(u.getMessage().contains("Q4_K") && u.getMessage().contains("Q8_0"), u.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Models.load("synthetic:tiny:q5_1"));
        assertTrue(e.getMessage().contains("'q5_1'") && e.getMessage().contains("q4_0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Models.load("synthetic:huge:q8_0"));
        assertTrue(e.getMessage().contains("synthetic:huge"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"f16, F16, 1e-2", "bf16, BF16, 5e-2", "q8_0, Q8_0, 5e-2", "Q4_0, Q4_0, 0.3"})
    void aWeightTypeSuffixQuantizesTheSameDraws(String suffix, GgmlType type, double tolerance) throws Exception {
        try (LlamaModel f32 = Models.load("synthetic:tiny");
             LlamaModel q = Models.load("synthetic:tiny:" + suffix)) {
            assertEquals(type, q.layer(0).wq().type());
            assertEquals(type, q.tokenEmbedding().type());
            assertEquals(type, q.layer(1).gate().type());
            assertEquals(type.blockSize() == 1 ? type : GgmlType.F32, q.layer(0).down().type(),
                    "172-wide rows are not whole blocks: they stay F32");
            assertEquals(f32.config(), q.config());
            float[] a = logitsAfter(f32, 1, 2, 3, 4);
            float[] b = logitsAfter(q, 1, 2, 3, 4);
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < a.length; i++) {
                diff += (a[i] - b[i]) * (a[i] - b[i]);
                norm += a[i] * a[i];
            }
            double rel = Math.sqrt(diff / norm);
            assertTrue(rel > 0 && rel < tolerance, type + ": relative logit error " + rel);
        }
    }

    @Test
    void logitsStayFiniteAndOfSaneSize() throws Exception {
        try (LlamaModel m = Models.load("synthetic:tiny"); ReferenceDecoder g = ReferenceDecoder.create(m, null)) {
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
    void sessionChecksItsInputs() throws Exception {
        try (LlamaModel m = Models.load("synthetic:tiny"); ReferenceDecoder g = ReferenceDecoder.create(m, null)) {
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
    void generateSamplesUpToMaxTokensAndReportsEach() throws Exception {
        try (LlamaModel m = Models.load("synthetic:tiny"); ReferenceDecoder g = ReferenceDecoder.create(m, null)) {
            List<Integer> seen = new ArrayList<>();
            int[] out = g.generate(new int[] {1, 5, 9}, 10, Sampler.of(0.8, 20, 0.95, 1), seen::add);
            assertEquals(10, out.length);
            assertEquals(seen, java.util.Arrays.stream(out).boxed().toList());
            assertEquals(3 + 9, g.position(), "the last sampled token is not fed back");
        }
    }
}

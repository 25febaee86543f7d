package io.clusterkv.runtime.decode;

import io.clusterkv.runtime.model.fixtures.GgufExport;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.model.SyntheticModels;
import io.clusterkv.runtime.model.RopeLayout;
import io.clusterkv.runtime.model.ModelFormatException;
import io.clusterkv.runtime.model.fixtures.TestModelFiles;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.tensor.GgmlType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whole GGUF models through {@link Models#load}: files written by {@link GgufExport} from stories260K
 * (against run.c's tokens) and from synthetic models (against the same weights in memory), and
 * malformed ones.
 */
class GgufModelTest {

    @TempDir
    Path dir;

    static int[] greedy(LlamaModel m, int steps) {
        try (ReferenceDecoder g = ReferenceDecoder.create(m, null)) {
            return g.generate(new int[] {Stories260KTest.BOS}, steps, Sampler.greedy(), t -> { });
        }
    }

    /** @return logits after a 5-token prefill, then after each of 3 decoded tokens, concatenated */
    static float[] logitTrace(LlamaModel m) {
        List<float[]> steps = new ArrayList<>();
        try (ReferenceDecoder g = ReferenceDecoder.create(m, null)) {
            steps.add(g.prefill(new int[] {1, 7, 42, 3, 200}).clone());
            for (int t : new int[] {9, 100, 255}) {
                steps.add(g.next(t).clone());
            }
        }
        float[] all = new float[steps.size() * steps.get(0).length];
        for (int i = 0; i < steps.size(); i++) {
            System.arraycopy(steps.get(i), 0, all, i * steps.get(0).length, steps.get(0).length);
        }
        return all;
    }

    /**
     * Same weights, same logits, up to float rounding: not bit for bit, because a Vector API lane
     * reduction sums in one order when interpreted and another once C2 intrinsifies it, so two runs of
     * the same product can differ in the last bit depending on when the JIT kicks in.
     */
    static void assertSameLogits(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            float tol = 1e-5f * Math.max(1f, Math.abs(expected[i]));
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
                throw new AssertionError("logit " + i + ": expected " + expected[i] + ", got " + actual[i]);
            }
        }
    }

    @Test
    void stories260K_as_f32_gguf_matches_run_c_for_500_tokens() throws Exception {
        Path gguf;
        try (LlamaModel bin = Models.load(TestModelFiles.stories260K().toString())) {
            gguf = GgufExport.of(bin).write(dir.resolve("stories260K-f32.gguf"));
        }
        try (LlamaModel m = Models.load(gguf.toString())) {
            assertTrue(m.gguf().isPresent());
            assertEquals(RopeLayout.ADJACENT_PAIRS, m.config().ropeLayout());
            assertTrue(m.config().tiedOutput());
            assertArrayEquals(new int[] {2, 1}, m.stopTokens(), "EOS, then BOS as EOT: run.c stops at both");
            // unpermuted Q/K rows under GGUF 'llama' (adjacent-pair RoPE) reproduce run.c token for token
            assertArrayEquals(Stories260KTest.runCTokens(), greedy(m, Stories260KTest.STEPS));
        }
    }

    /**
     * Q8_0 (with the 172-wide FFN down projection left F32) is not expected to reproduce the F32 tokens:
     * stories260K's first greedy step is a near-tie (461 over 306 by 0.108 logits) and Q8_0's weight error
     * moves the logits by about 0.5 there, so Q8_0 greedy decoding starts with 306, as it would in any
     * exact Q8_0 implementation. Checked instead: (1) the Q8_0 kernels are exact for the weights they
     * hold — greedy tokens equal those of an F32 file holding the dequantized Q8_0 weights; (2) along
     * run.c's tokens, the logits stay within 10% (RMS) of F32's, and the argmax differs only where
     * F32's top-2 margin is below twice the logit change at that step (a genuine near-tie).
     */
    @Test
    void stories260K_as_q8_0_gguf_decodes_its_own_weights_exactly_and_stays_near_f32() throws Exception {
        int steps = 30;
        int[] runC = Stories260KTest.runCTokens();
        try (LlamaModel bin = Models.load(TestModelFiles.stories260K().toString());
             LlamaModel q = Models.load(GgufExport.of(bin).type(GgmlType.Q8_0)
                     .write(dir.resolve("stories260K-q8_0.gguf")).toString());
             LlamaModel dq = Models.load(GgufExport.of(q).write(dir.resolve("stories260K-q8_0-as-f32.gguf")).toString())) {
            assertEquals(GgmlType.Q8_0, q.layer(0).wq().type());
            assertEquals(GgmlType.Q8_0, q.layer(0).gate().type());
            assertEquals(GgmlType.Q8_0, q.tokenEmbedding().type());
            assertEquals(GgmlType.F32, q.layer(0).down().type(), "172-wide rows are not whole Q8_0 blocks");
            assertEquals(GgmlType.F32, dq.layer(0).wq().type());
            assertArrayEquals(greedy(dq, steps), greedy(q, steps), "Q8_0 kernels vs F32 kernels on the same weights");

            StringBuilder flips = new StringBuilder();
            double diff = 0;
            double norm = 0;
            try (ReferenceDecoder f = ReferenceDecoder.create(bin, null); ReferenceDecoder g = ReferenceDecoder.create(q, null)) {
                int token = Stories260KTest.BOS;
                for (int s = 0; s < steps; s++) {
                    float[] a = f.next(token);
                    float[] b = g.next(token);
                    double worst = 0;
                    for (int i = 0; i < a.length; i++) {
                        worst = Math.max(worst, Math.abs(a[i] - b[i]));
                        diff += (a[i] - b[i]) * (a[i] - b[i]);
                        norm += a[i] * a[i];
                    }
                    int top = Sampler.argmax(a);
                    assertEquals(runC[s], top);
                    if (Sampler.argmax(b) != top) {
                        float[] rest = a.clone();
                        rest[top] = Float.NEGATIVE_INFINITY;
                        double margin = a[top] - rest[Sampler.argmax(rest)];
                        assertTrue(margin < 2 * worst, "step " + s + ": Q8_0 flips a top-2 margin of " + margin
                                + " with a largest logit change of only " + worst);
                        flips.append(String.format(" %d (margin %.3f, change %.3f)", s, margin, worst));
                    }
                    token = runC[s];
                }
            }
            double rel = Math.sqrt(diff / norm);
            // measured 0.066; F16 moves the logits about 35 times less, as its weight error predicts
            assertTrue(rel < 0.1, "relative RMS logit change of Q8_0 over F32: " + rel);
            System.out.println("stories260K Q8_0 vs F32 over " + steps + " teacher-forced steps: relative RMS logit"
                    + " change " + rel + "; argmax flips at near-ties:" + flips);
        }
    }

    @Test
    void stories260K_as_f16_gguf_gives_the_f32_greedy_tokens() throws Exception {
        try (LlamaModel bin = Models.load(TestModelFiles.stories260K().toString());
             LlamaModel m = Models.load(GgufExport.of(bin).type(GgmlType.F16)
                     .write(dir.resolve("stories260K-f16.gguf")).toString())) {
            assertEquals(GgmlType.F16, m.layer(0).down().type());
            assertArrayEquals(Arrays.copyOf(Stories260KTest.runCTokens(), 30), greedy(m, 30));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"synthetic:tiny", "synthetic:tiny-qwen2"})
    void syntheticModelsRoundTripWithTheSameLogits(String name) throws Exception {
        try (LlamaModel s = Models.load(name)) {
            Path gguf = GgufExport.of(s).write(dir.resolve("tiny.gguf"));
            try (LlamaModel m = Models.load(gguf.toString())) {
                assertEquals(s.config(), m.config());
                assertEquals(s.config().tiedOutput(), m.output() == m.tokenEmbedding(),
                        "output.weight absent exactly when tied");
                assertSameLogits(logitTrace(s), logitTrace(m));
            }
        }
    }

    @Test
    void qwen2IsReadWithBiasesHalvesAndATiedClassifier() throws Exception {
        try (LlamaModel s = Models.load("synthetic:tiny-qwen2");
             LlamaModel m = Models.load(GgufExport.of(s).write(dir.resolve("qwen2.gguf")).toString())) {
            assertEquals("qwen2", m.config().architecture());
            assertEquals(RopeLayout.HALVES, m.config().ropeLayout());
            assertTrue(m.config().qkvBias());
            assertArrayEquals(s.layer(1).bk(), m.layer(1).bk());
            assertSame(m.tokenEmbedding(), m.output());
        }
    }

    @Test
    void ropeFreqsWeightDividesTheFrequencies() throws Exception {
        float[] factors = {1, 1, 2, 4, 8, 8, 16, 32}; // (headDim / 2) for synthetic:tiny
        try (LlamaModel s = Models.load("synthetic:tiny");
             LlamaModel m = Models.load(GgufExport.of(s).ropeFreqs(factors).write(dir.resolve("f.gguf")).toString())) {
            List<LlamaModel.Layer> layers = new ArrayList<>();
            for (int i = 0; i < s.config().layers(); i++) {
                layers.add(s.layer(i));
            }
            // the same weights in memory with the factors given directly; storage null: s owns them
            LlamaModel expected = LlamaModel.inMemory(s.config(), "expected", s.tokenEmbedding(), layers, s.finalNorm(),
                    s.output(), factors, new int[0]);
            float[] withFactors = logitTrace(m);
            assertSameLogits(logitTrace(expected), withFactors);
            assertFalse(Arrays.equals(logitTrace(s), withFactors), "the factors change the logits");
        }
    }

    @Test
    void prefillEqualsDecodeOnAFile() throws Exception {
        int[] prompt = {1, 17, 33, 200, 5, 80, 81, 82, 9, 10};
        try (LlamaModel s = SyntheticModels.create("synthetic:tiny", GgmlType.F32, 7);
             LlamaModel m = Models.load(GgufExport.of(s).type(GgmlType.Q8_0).write(dir.resolve("p.gguf")).toString());
             ReferenceDecoder batched = ReferenceDecoder.create(m, null);
             ReferenceDecoder stepped = ReferenceDecoder.create(m, null)) {
            float[] expected = null;
            for (int t : prompt) {
                expected = stepped.next(t).clone();
            }
            PrefillTest.assertClose(expected, batched.prefill(prompt).clone(), "last-token logits");
        }
    }

    @Test
    void aMissingTensorIsNamed() throws Exception {
        try (LlamaModel s = Models.load("synthetic:tiny")) {
            Path gguf = GgufExport.of(s).omit("blk.1.ffn_up.weight").write(dir.resolve("missing.gguf"));
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(gguf.toString()));
            assertEquals(gguf, e.file());
            assertEquals("tensor 'blk.1.ffn_up.weight'", e.field());
            assertTrue(e.getMessage().contains("missing.gguf") && e.getMessage().contains("missing"), e.getMessage());
        }
    }

    @Test
    void aTensorOfTheWrongShapeIsNamedWithBothShapes() throws Exception {
        try (LlamaModel s = Models.load("synthetic:tiny")) {
            Path gguf = GgufExport.of(s).replace("blk.0.attn_k.weight", new long[] {64, 64}, new float[64 * 64])
                    .write(dir.resolve("shape.gguf"));
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(gguf.toString()));
            assertEquals("tensor 'blk.0.attn_k.weight' dims", e.field());
            assertTrue(e.getMessage().contains("shape.gguf") && e.getMessage().contains("[64, 32]")
                    && e.getMessage().contains("[64, 64]"), e.getMessage());

            Path norm = GgufExport.of(s).replace("output_norm.weight", new long[] {63}, new float[63])
                    .write(dir.resolve("norm.gguf"));
            e = assertThrows(ModelFormatException.class, () -> Models.load(norm.toString()));
            assertEquals("tensor 'output_norm.weight' dims", e.field());
            assertTrue(e.getMessage().contains("[64]") && e.getMessage().contains("[63]"), e.getMessage());
        }
    }

    @Test
    void anUnknownArchitectureIsNamed() throws Exception {
        try (LlamaModel s = Models.load("synthetic:tiny")) {
            Path gguf = GgufExport.of(s).architecture("mamba").write(dir.resolve("mamba.gguf"));
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(gguf.toString()));
            assertEquals(gguf, e.file());
            assertEquals("metadata 'general.architecture'", e.field());
            assertTrue(e.getMessage().contains("mamba.gguf") && e.getMessage().contains("'mamba'"), e.getMessage());
        }
    }

    @Test
    void longRopeFactorsAreRefusedByName() throws Exception {
        try (LlamaModel s = Models.load("synthetic:tiny")) {
            Path gguf = GgufExport.of(s).replace("rope_factors_long.weight", new long[] {8}, new float[8])
                    .write(dir.resolve("longrope.gguf"));
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(gguf.toString()));
            assertTrue(e.getMessage().contains("LongRoPE") && e.getMessage().contains("not supported"), e.getMessage());
        }
    }

    /** Regression (issue 16): a block_count of 2^31 - 1 sized a list from it: an OutOfMemoryError. */
    @Test
    void anAbsurdBlockCountIsCheckedAgainstTheTensorsBeforeAllocating() throws Exception {
        try (LlamaModel s = Models.load("synthetic:tiny")) {
            Path gguf = GgufExport.of(s).set("llama.block_count", io.clusterkv.runtime.model.gguf.GgufValue.ofInteger(
                    io.clusterkv.runtime.model.gguf.GgufType.UINT32, Integer.MAX_VALUE)).write(dir.resolve("blocks.gguf"));
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(gguf.toString()));
            assertEquals("metadata 'llama.block_count'", e.field());
            assertTrue(e.getMessage().contains(Integer.toString(Integer.MAX_VALUE)) && e.getMessage().contains("tensors"),
                    e.getMessage());
        }
    }

    /** Regression (issue 16): NaN weights decoded silently to token 0. */
    @Test
    void nanWeightsStopDecodingNamingTheLayer() throws Exception {
        try (LlamaModel s = Models.load("synthetic:tiny")) {
            int rows = s.config().dim(), cols = s.config().hiddenDim();
            float[] nan = new float[rows * cols];
            java.util.Arrays.fill(nan, Float.NaN);
            Path gguf = GgufExport.of(s).replace("blk.1.ffn_down.weight", new long[] {cols, rows}, nan)
                    .write(dir.resolve("nan.gguf"));
            try (LlamaModel m = Models.load(gguf.toString());
                 ReferenceDecoder d = ReferenceDecoder.create(m, null)) {
                io.clusterkv.runtime.model.NonFiniteValueException e = assertThrows(
                        io.clusterkv.runtime.model.NonFiniteValueException.class, () -> d.prefill(new int[] {1, 5, 9}));
                assertEquals(1, e.layer());
                assertTrue(e.getMessage().contains("layer 1") && e.getMessage().contains("non-finite"), e.getMessage());
            }
            try (LlamaModel m = Models.load(gguf.toString());
                 ReferenceDecoder d = ReferenceDecoder.create(m, null)) {
                io.clusterkv.runtime.model.NonFiniteValueException e = assertThrows(
                        io.clusterkv.runtime.model.NonFiniteValueException.class, () -> d.next(1));
                assertEquals(1, e.layer());
                assertEquals(0, e.position());
            }
        }
    }
}

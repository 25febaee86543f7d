package io.clusterkv.runtime.decode;

import static io.clusterkv.runtime.decode.GgufModelTest.assertSameLogits;
import static io.clusterkv.runtime.decode.GgufModelTest.logitTrace;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.model.GgufModelWriter;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.RopeLayout;
import io.clusterkv.runtime.model.RopeScaling;
import io.clusterkv.runtime.model.fixtures.TestModelFiles;
import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.model.gguf.GgufTensorInfo;
import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.WeightMatrix;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import io.clusterkv.runtime.tokenizer.Tokenizers;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link GgufModelWriter}, the exporter behind {@code ckv export}: an exported file reads back to the same
 * model (same stored weights, same logits as the model in memory), with the metadata llama.cpp needs and
 * a vocabulary that spells every token id. llama.cpp itself is not run here (docs/BENCHMARKS.md has the
 * side-by-side checks).
 */
class GgufModelWriterTest {

    @TempDir
    Path dir;

    /** The configuration a GGUF file gives back: RMS epsilon rounded to float (llama.cpp's FLOAT32). */
    private static ModelConfig asWritten(ModelConfig c) {
        return new ModelConfig(c.architecture(), c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(),
                c.headDim(), c.vocab(), c.contextLength(), (float) c.rmsEps(), (float) c.ropeTheta(),
                c.ropeScaling() instanceof RopeScaling.Linear ? c.ropeScaling() : RopeScaling.None.INSTANCE,
                c.ropeLayout(), c.tiedOutput(), c.qkvBias());
    }

    private static byte[] bytes(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_BYTE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"synthetic:tiny", "synthetic:tiny:q8_0", "synthetic:tiny:q4_0", "synthetic:tiny-qwen2"})
    void anExportedModelReadsBackWithTheSameWeightsAndLogits(String name) throws Exception {
        try (LlamaModel s = Models.load(name)) {
            Path file = GgufModelWriter.of(s).write(dir.resolve("m.gguf"));
            try (LlamaModel m = Models.load(file.toString())) {
                assertEquals(asWritten(s.config()), m.config());
                for (int l = 0; l < s.config().layers(); l++) {
                    WeightMatrix[] a = {s.layer(l).wq(), s.layer(l).wk(), s.layer(l).down()};
                    WeightMatrix[] b = {m.layer(l).wq(), m.layer(l).wk(), m.layer(l).down()};
                    for (int i = 0; i < a.length; i++) {
                        assertEquals(a[i].type(), b[i].type(), "each matrix keeps its type");
                        assertArrayEquals(bytes(a[i].data()), bytes(b[i].data()), "stored bytes, layer " + l);
                    }
                }
                assertArrayEquals(bytes(s.tokenEmbedding().data()), bytes(m.tokenEmbedding().data()));
                assertEquals(s.config().tiedOutput(), m.output() == m.tokenEmbedding());
                assertArrayEquals(s.stopTokens(), m.stopTokens(), "a synthetic model has no stop tokens");
                // independent of the file: the in-memory model's forward pass
                assertSameLogits(logitTrace(s), logitTrace(m));
            }
        }
    }

    @Test
    void typeConvertsTheMatricesButLeavesOddShapesF32() throws Exception {
        try (LlamaModel s = Models.load("synthetic:tiny");
             LlamaModel m = Models.load(GgufModelWriter.of(s).type(GgmlType.Q8_0).write(dir.resolve("q.gguf")).toString())) {
            assertEquals(GgmlType.Q8_0, m.layer(0).wq().type());
            assertEquals(GgmlType.F32, m.layer(0).down().type(), "172-wide rows are not whole Q8_0 blocks");
            try (GgufFile f = GgufFile.open(dir.resolve("q.gguf"))) {
                assertEquals(7, f.getLong("general.file_type"), "llama.cpp's MOSTLY_Q8_0");
            }
        }
    }

    @Test
    void metadataRoundTripsWithTheKeysLlamaCppReads() throws Exception {
        try (LlamaModel s = Models.load("synthetic:tiny")) {
            GgufModelWriter w = GgufModelWriter.of(s);
            Path file = w.write(dir.resolve("t.gguf"));
            try (GgufFile f = GgufFile.open(file)) {
                assertEquals(w.metadata(), f.metadata(), "every key and value, in order");
                assertEquals(List.copyOf(w.metadata().keySet()), List.copyOf(f.metadata().keySet()));
                assertEquals("llama", f.getString("general.architecture"));
                assertEquals(2, f.getLong("llama.block_count"));
                assertEquals(16, f.getLong("llama.rope.dimension_count"));
                assertEquals(0, f.getLong("general.file_type"), "llama.cpp's ALL_F32");
                // llama.cpp reads these as FLOAT32 only
                assertEquals(io.clusterkv.runtime.model.gguf.GgufType.FLOAT32,
                        f.value("llama.attention.layer_norm_rms_epsilon").type());
                assertEquals(io.clusterkv.runtime.model.gguf.GgufType.FLOAT32, f.value("llama.rope.freq_base").type());
                List<String> names = new ArrayList<>(f.tensors().keySet());
                assertEquals(w.tensors().stream().map(GgufModelWriter.Tensor::name).toList(), names);
                assertFalse(names.contains("rope_freqs.weight"), "no scaling, no factors");
                for (GgufModelWriter.Tensor t : w.tensors()) {
                    GgufTensorInfo info = f.tensor(t.name());
                    assertArrayEquals(t.dims(), info.dims(), t.name());
                    assertEquals(t.type(), info.type(), t.name());
                    assertEquals(0, info.data().address() % 32, "aligned: " + t.name());
                }

                // the made-up vocabulary: 3 special tokens, no room for 256 byte tokens in 256, then one code point a token
                Tokenizer tok = Tokenizers.fromGguf(f);
                assertEquals(256, tok.vocabSize());
                assertEquals("<s>", f.getStringArray("tokenizer.ggml.tokens")[1]);
                String text = Character.toString(GgufModelWriter.FIRST_PIECE_CODE_POINT + 2)
                        + Character.toString(GgufModelWriter.FIRST_PIECE_CODE_POINT + 97);
                assertArrayEquals(new int[] {1, 5, 100}, tok.encode(text), "BOS, then one token a character, no space prefix");
                assertEquals(text, tok.decode(new int[] {5, 100}));
            }
            // a model read from GGUF is written with its own vocabulary (tokenizer.* copied): the same metadata again
            try (LlamaModel m = Models.load(file.toString())) {
                assertEquals(w.metadata(), GgufModelWriter.of(m).metadata());
            }
        }
    }

    @Test
    void everyTokenOfALargeVocabularyIsOneCharacterThatTokenizesToItself() throws Exception {
        // stories260K's 512: 3 special, 256 byte tokens, 253 pieces; synthetic:llama-1b's 128256 goes past U+FFFF
        try (LlamaModel s = Models.load("synthetic:tiny"); java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            ModelConfig c = s.config();
            // zero Q4_0 rows: the shapes of a 128256-token vocabulary in 4.6 MB
            WeightMatrix embedding = WeightMatrix.of(GgmlType.Q4_0,
                    arena.allocate(GgmlType.Q4_0.bytesFor(128256L * c.dim()), 64), 128256, c.dim());
            ModelConfig big = new ModelConfig(c.architecture(), c.dim(), c.hiddenDim(), c.layers(), c.heads(),
                    c.kvHeads(), c.headDim(), 128256, c.contextLength(), c.rmsEps(), c.ropeTheta(), c.ropeScaling(),
                    c.ropeLayout(), c.tiedOutput(), c.qkvBias());
            var meta = GgufModelWriter.of(LlamaModel.inMemory(big, "big", embedding, layers(s),
                    s.finalNorm(), embedding, null, new int[0])).metadata();
            String[] tokens = (String[]) meta.get("tokenizer.ggml.tokens").value();
            assertEquals(128256, tokens.length);
            assertEquals("<0x00>", tokens[3]);
            assertEquals("<0xFF>", tokens[258]);
            java.util.Set<String> seen = new java.util.HashSet<>();
            for (int i = 259; i < tokens.length; i++) {
                assertEquals(1, tokens[i].codePointCount(0, tokens[i].length()), "token " + i);
                int cp = tokens[i].codePointAt(0);
                assertFalse(Character.getType(cp) == Character.SURROGATE || Character.getType(cp) == Character.PRIVATE_USE
                        || (cp & 0xFFFE) == 0xFFFE, "token " + i + " U+" + Integer.toHexString(cp));
                assertTrue(seen.add(tokens[i]), "token " + i + " is unique");
            }
        }
    }

    private static List<LlamaModel.Layer> layers(LlamaModel m) {
        List<LlamaModel.Layer> out = new ArrayList<>();
        for (int i = 0; i < m.config().layers(); i++) {
            out.add(m.layer(i));
        }
        return out;
    }

    @Test
    void llama3ScalingIsWrittenAsLlamaCppsRopeFreqsAndReadsBackToTheSameFrequencies() throws Exception {
        try (LlamaModel s = Models.load("synthetic:tiny")) {
            ModelConfig c = s.config();
            RopeScaling.Llama3 scaling = new RopeScaling.Llama3(32, 1, 4, 8192);
            ModelConfig scaled = new ModelConfig(c.architecture(), c.dim(), c.hiddenDim(), c.layers(), c.heads(),
                    c.kvHeads(), c.headDim(), c.vocab(), 131072, c.rmsEps(), 500000, scaling, c.ropeLayout(),
                    c.tiedOutput(), c.qkvBias());
            LlamaModel original = LlamaModel.inMemory(scaled, "llama3", s.tokenEmbedding(), layers(s), s.finalNorm(),
                    s.output(), null, new int[0]);
            float[] factors = GgufModelWriter.ropeFreqFactors(original);
            // llama.cpp's convert_hf_to_gguf.py, LlamaModel.generate_extra_tensors, for rope_type llama3
            for (int i = 0; i < factors.length; i++) {
                double freq = 1.0 / Math.pow(500000, 2.0 * i / c.headDim());
                double wavelen = 2 * Math.PI / freq;
                double expected;
                if (wavelen < 8192 / 4.0) {
                    expected = 1;
                } else if (wavelen > 8192 / 1.0) {
                    expected = 32;
                } else {
                    double smooth = (8192 / wavelen - 1) / (4 - 1);
                    expected = 1 / ((1 - smooth) / 32 + smooth);
                }
                assertEquals(expected, factors[i], 1e-6 * expected, "factor " + i);
            }
            assertTrue(factors[0] == 1 && factors[factors.length - 1] == 32, java.util.Arrays.toString(factors));

            Path file = GgufModelWriter.of(original).write(dir.resolve("l3.gguf"));
            try (LlamaModel m = Models.load(file.toString())) {
                assertEquals(RopeScaling.None.INSTANCE, m.config().ropeScaling(), "the factors carry the scaling");
                for (int i = 0; i < factors.length; i++) {
                    double a = original.rope().inverseFrequency(i);
                    assertEquals(a, m.rope().inverseFrequency(i), 1e-7 * a, "pair " + i);
                }
                assertSameLogits(logitTrace(original), logitTrace(m));
                // written again, a model read from GGUF keeps its factors
                assertArrayEquals(factors, GgufModelWriter.ropeFreqFactors(m));
            }
            assertNull(GgufModelWriter.ropeFreqFactors(s), "no scaling, no factors");
        }
    }

    @Test
    void stories260KKeepsRunCsTokensAndBothStopTokens() throws Exception {
        Path bin = TestModelFiles.stories260K();
        try (LlamaModel s = Models.load(bin.toString());
             LlamaModel m = Models.load(GgufModelWriter.of(s).write(dir.resolve("s.gguf")).toString())) {
            assertArrayEquals(Stories260KTest.runCTokens(), GgufModelTest.greedy(m, Stories260KTest.STEPS));
            assertArrayEquals(new int[] {2, 1}, m.stopTokens(), "EOS 2, then BOS 1 as EOT: run.c stops at both");
            Tokenizer tok = Tokenizers.fromGguf(m.gguf().orElseThrow());
            assertEquals(512, tok.vocabSize());
            assertArrayEquals(new int[] {1, 3 + 'O', 3 + 'k'}, tok.encode("Ok"), "ASCII through the byte tokens");
            String piece = Character.toString(GgufModelWriter.FIRST_PIECE_CODE_POINT + (461 - 259));
            assertArrayEquals(new int[] {1, 461}, tok.encode(piece));
        }
    }

    @Test
    void aLayoutTheArchitectureDoesNotMeanIsRefused() throws Exception {
        try (LlamaModel s = Models.load("synthetic:tiny")) {
            ModelConfig c = s.config();
            ModelConfig halves = new ModelConfig("llama", c.dim(), c.hiddenDim(), c.layers(), c.heads(), c.kvHeads(),
                    c.headDim(), c.vocab(), c.contextLength(), c.rmsEps(), c.ropeTheta(), c.ropeScaling(),
                    RopeLayout.HALVES, c.tiedOutput(), c.qkvBias());
            LlamaModel m = LlamaModel.inMemory(halves, "halves", s.tokenEmbedding(), layers(s), s.finalNorm(), s.output(),
                    null, new int[0]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GgufModelWriter.of(m).write(dir.resolve("h.gguf")));
            assertTrue(e.getMessage().contains("HALVES") && e.getMessage().contains("permuted"), e.getMessage());
            assertFalse(dir.resolve("h.gguf").toFile().exists(), "nothing written");
        }
    }
}

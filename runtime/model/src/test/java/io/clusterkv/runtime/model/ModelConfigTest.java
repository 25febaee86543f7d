package io.clusterkv.runtime.model;

import io.clusterkv.runtime.model.fixtures.GgufExport;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.model.gguf.GgufType;
import io.clusterkv.runtime.model.gguf.GgufValue;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The configuration record's validation, and the GGUF metadata mapping on in-memory metadata. Whole
 * GGUF models written with {@link GgufExport} are loaded in {@link GgufModelTest}.
 */
class ModelConfigTest {

    static final Path FILE = Path.of("model.gguf");

    static GgufValue u32(long v) {
        return GgufValue.ofInteger(GgufType.UINT32, v);
    }

    /** Llama 3.2 1B's metadata, as llama.cpp's converter writes it. */
    static Map<String, GgufValue> llama() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.of("llama"));
        m.put("llama.block_count", u32(16));
        m.put("llama.context_length", u32(131072));
        m.put("llama.embedding_length", u32(2048));
        m.put("llama.feed_forward_length", u32(8192));
        m.put("llama.attention.head_count", u32(32));
        m.put("llama.attention.head_count_kv", u32(8));
        m.put("llama.rope.freq_base", GgufValue.of(500000f));
        m.put("llama.attention.layer_norm_rms_epsilon", GgufValue.of(1e-5f));
        m.put("llama.rope.dimension_count", u32(64));
        m.put("llama.vocab_size", u32(128256));
        return m;
    }

    /** Phi-3 mini 4k's metadata, as llama.cpp's converter writes it. */
    static Map<String, GgufValue> phi3(long slidingWindow) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.of("phi3"));
        m.put("phi3.block_count", u32(32));
        m.put("phi3.context_length", u32(4096));
        m.put("phi3.embedding_length", u32(3072));
        m.put("phi3.feed_forward_length", u32(8192));
        m.put("phi3.attention.head_count", u32(32));
        m.put("phi3.attention.head_count_kv", u32(32));
        m.put("phi3.attention.layer_norm_rms_epsilon", GgufValue.of(1e-5f));
        m.put("phi3.rope.dimension_count", u32(96));
        m.put("phi3.attention.sliding_window", u32(slidingWindow));
        m.put("phi3.vocab_size", u32(32064));
        return m;
    }

    @Test
    void phi3SlidingWindowCapsTheContext() {
        Set<String> tensors = Set.of("output.weight");
        ModelConfig c = ModelConfig.fromGgufMetadata(FILE, phi3(2047), tensors);
        assertEquals(2047, c.contextLength(), "every layer attends 2047 positions: exact up to there, so capped");
        assertEquals(RopeLayout.HALVES, c.ropeLayout());
        assertEquals(96, c.headDim());
        assertFalse(c.qkvBias() || c.qkNorm() || c.tiedOutput());
        assertEquals(4096, ModelConfig.fromGgufMetadata(FILE, phi3(4096), tensors).contextLength());
        assertEquals(4096, ModelConfig.fromGgufMetadata(FILE, phi3(0), tensors).contextLength(), "0: no window");
    }

    /** Gemma 2 2B's metadata, as llama.cpp's converter writes it (without the keys whose defaults are tested). */
    static Map<String, GgufValue> gemma2(long layers) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.of("gemma2"));
        m.put("gemma2.block_count", u32(layers));
        m.put("gemma2.context_length", u32(8192));
        m.put("gemma2.embedding_length", u32(2304));
        m.put("gemma2.feed_forward_length", u32(9216));
        m.put("gemma2.attention.head_count", u32(8));
        m.put("gemma2.attention.head_count_kv", u32(4));
        m.put("gemma2.attention.key_length", u32(256));
        m.put("gemma2.attention.value_length", u32(256));
        m.put("gemma2.attention.layer_norm_rms_epsilon", GgufValue.of(1e-6f));
        m.put("gemma2.vocab_size", u32(256000));
        return m;
    }

    @Test
    void gemma2MetadataSlidesTheEvenLayersAndCapsScoresAndLogits() {
        ModelConfig c = ModelConfig.fromGgufMetadata(FILE, gemma2(26), Set.of("token_embd.weight"));
        ModelConfig.Variant v = c.variant();
        assertEquals(RopeLayout.HALVES, c.ropeLayout());
        assertTrue(c.tiedOutput());
        assertFalse(c.qkNorm() || c.qkvBias());
        assertEquals(Math.sqrt(2304), v.embeddingScale());
        assertEquals(ModelConfig.Activation.GELU_TANH, v.activation());
        assertTrue(v.sandwichNorms());
        assertEquals(50.0, v.attentionSoftcap(), "llama.cpp's default when the file has no key");
        assertEquals(30.0, v.finalSoftcap());
        assertEquals(4096, c.windowOf(0), "the even layers slide, 4096 by default");
        assertEquals(0, c.windowOf(1));
        assertEquals(4096, c.windowOf(24));
        assertEquals(0, c.windowOf(25));
        assertEquals(1 / 16.0, c.attentionScale(), 1e-12, "1/sqrt(headDim)");
        assertEquals(1 / Math.sqrt(2304 / 8.0), ModelConfig.fromGgufMetadata(FILE, gemma2(46), Set.of()).attentionScale(),
                1e-12, "the 27B: 1/sqrt(dim / heads)");

        Map<String, GgufValue> m = gemma2(26);
        m.put("gemma2.attn_logit_softcapping", GgufValue.of(20f));
        m.put("gemma2.final_logit_softcapping", GgufValue.of(10f));
        m.put("gemma2.attention.sliding_window", u32(512));
        c = ModelConfig.fromGgufMetadata(FILE, m, Set.of());
        assertEquals(20.0, c.variant().attentionSoftcap());
        assertEquals(10.0, c.variant().finalSoftcap());
        assertEquals(512, c.windowOf(2));

        m.put("gemma2.final_logit_softcapping", GgufValue.of(-1f));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelConfig.fromGgufMetadata(FILE, m, Set.of()));
        assertTrue(e.getMessage().contains("finalSoftcap") && e.getMessage().contains("-1"), e.getMessage());
    }

    static Map<String, GgufValue> qwen2() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.of("qwen2"));
        m.put("qwen2.block_count", u32(24));
        m.put("qwen2.context_length", u32(32768));
        m.put("qwen2.embedding_length", u32(896));
        m.put("qwen2.feed_forward_length", u32(4864));
        m.put("qwen2.attention.head_count", u32(14));
        m.put("qwen2.attention.head_count_kv", u32(2));
        m.put("qwen2.rope.freq_base", GgufValue.of(1000000f));
        m.put("qwen2.attention.layer_norm_rms_epsilon", GgufValue.of(1e-6f));
        m.put("tokenizer.ggml.tokens", GgufValue.array(GgufType.STRING, new String[151936]));
        return m;
    }

    @Test
    void llamaMetadata() {
        ModelConfig c = ModelConfig.fromGgufMetadata(FILE, llama(), Set.of("token_embd.weight"));
        assertEquals(new ModelConfig("llama", 2048, 8192, 16, 32, 8, 64, 128256, 131072, (double) 1e-5f, 500000,
                RopeScaling.None.INSTANCE, RopeLayout.ADJACENT_PAIRS, true, false), c);
        assertEquals(4, c.groupSize());
        assertEquals(512, c.kvDim());
        assertFalse(ModelConfig.fromGgufMetadata(FILE, llama(), Set.of("output.weight")).tiedOutput());
    }

    @Test
    void qwen2MetadataUsesHalvesBiasesAndTheTokenCount() {
        ModelConfig c = ModelConfig.fromGgufMetadata(FILE, qwen2(), Set.of("output.weight"));
        assertEquals(RopeLayout.HALVES, c.ropeLayout());
        assertTrue(c.qkvBias());
        assertEquals(151936, c.vocab());
        assertEquals(64, c.headDim());
        assertFalse(c.tiedOutput());
    }

    @Test
    void linearScaling() {
        Map<String, GgufValue> m = llama();
        m.put("llama.rope.scaling.type", GgufValue.of("linear"));
        m.put("llama.rope.scaling.factor", GgufValue.of(4f));
        assertEquals(new RopeScaling.Linear(4), ModelConfig.fromGgufMetadata(FILE, m, Set.of()).ropeScaling());
        m.put("llama.rope.scaling.type", GgufValue.of("yarn"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelConfig.fromGgufMetadata(FILE, m, Set.of()));
        assertTrue(e.getMessage().contains("yarn"), e.getMessage());
    }

    @Test
    void unknownArchitectureNamesTheKeyAndTheValue() {
        Map<String, GgufValue> m = llama();
        m.put("general.architecture", GgufValue.of("mamba"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelConfig.fromGgufMetadata(FILE, m, Set.of()));
        assertEquals("metadata 'general.architecture'", e.field());
        assertTrue(e.getMessage().contains("'mamba'") && e.getMessage().contains("llama, qwen2"), e.getMessage());
    }

    @Test
    void missingOrMistypedKeysAreNamed() {
        Map<String, GgufValue> m = llama();
        m.remove("llama.block_count");
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelConfig.fromGgufMetadata(FILE, m, Set.of()));
        assertEquals("metadata 'llama.block_count'", e.field());
        assertTrue(e.getMessage().contains("model.gguf") && e.getMessage().contains("missing"), e.getMessage());

        Map<String, GgufValue> t = llama();
        t.put("llama.embedding_length", GgufValue.of("2048"));
        e = assertThrows(ModelFormatException.class, () -> ModelConfig.fromGgufMetadata(FILE, t, Set.of()));
        assertEquals("metadata 'llama.embedding_length'", e.field());

        Map<String, GgufValue> v = llama();
        v.remove("llama.vocab_size");
        e = assertThrows(ModelFormatException.class, () -> ModelConfig.fromGgufMetadata(FILE, v, Set.of()));
        assertTrue(e.getMessage().contains("tokenizer.ggml.tokens"), e.getMessage());
    }

    @Test
    void inconsistentMetadataIsAFormatError() {
        Map<String, GgufValue> m = llama();
        m.put("llama.attention.head_count_kv", u32(5));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelConfig.fromGgufMetadata(FILE, m, Set.of()));
        assertTrue(e.getMessage().contains("multiple of kvHeads"), e.getMessage());

        Map<String, GgufValue> r = llama();
        r.put("llama.rope.dimension_count", u32(32));
        e = assertThrows(ModelFormatException.class, () -> ModelConfig.fromGgufMetadata(FILE, r, Set.of()));
        assertEquals("metadata 'llama.rope.dimension_count'", e.field());
    }

    @Test
    void theRecordValidatesItsFields() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ModelConfig("llama", 64, 172,
                0, 4, 2, 16, 256, 1024, 1e-5, 1e4, RopeScaling.None.INSTANCE, RopeLayout.HALVES, true, false));
        assertEquals("layers must be >= 1, was 0", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ModelConfig("llama", 64, 172, 2, 4, 2, 15, 256, 1024,
                1e-5, 1e4, RopeScaling.None.INSTANCE, RopeLayout.HALVES, true, false));
        assertThrows(IllegalArgumentException.class, () -> new ModelConfig("llama", 64, 172, 2, 4, 2, 16, 256, 1024,
                0, 1e4, RopeScaling.None.INSTANCE, RopeLayout.HALVES, true, false));
    }
}

package io.clusterkv.runtime.model;

import io.clusterkv.runtime.model.gguf.GgufType;
import io.clusterkv.runtime.model.gguf.GgufValue;
import io.clusterkv.runtime.model.gguf.GgufWriter;
import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.WeightMatrix;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Test helper: writes a {@link LlamaModel} (a llama2.c checkpoint, a synthetic model) as a GGUF file of
 * architecture {@code llama} or {@code qwen2}, with the tensor names and metadata keys of llama.cpp's
 * converter, so loading tests need no model files beyond what is at hand.
 *
 * <p>Weights copy over unpermuted: {@code llama} in GGUF means adjacent-pair RoPE (llama.cpp's
 * converter permutes Hugging Face's half-split Q/K rows into that order; llama2.c checkpoints are in it
 * already) and {@code qwen2} means half-split RoPE, so a model whose {@link RopeLayout} does not match
 * its architecture is refused rather than silently written wrong. Matrices are dequantized row by row
 * and written in the chosen type; as llama.cpp does for incompatible shapes, a matrix whose rows are
 * not a multiple of the type's block size stays F32. Norm weights, biases and RoPE factors are F32.
 *
 * <p>For malformed-file tests: {@link #omit}, {@link #replace} and {@link #architecture} change what
 * is written.
 */
final class GgufExport {

    private final LlamaModel model;
    private GgmlType type = GgmlType.F32;
    private String architecture;
    private float[] ropeFreqs;                                   // (headDim / 2), or null
    private final Set<String> omitted = new HashSet<>();
    private final Map<String, float[]> replaced = new HashMap<>();
    private final Map<String, long[]> replacedDims = new HashMap<>();

    private GgufExport(LlamaModel model) {
        this.model = model;
        this.architecture = model.config().architecture();
    }

    /** @param model the model to write; it stays open and owned by the caller */
    static GgufExport of(LlamaModel model) {
        return new GgufExport(model);
    }

    /** @param t the type of the matrices (F32, F16, BF16, Q8_0, Q4_0) */
    GgufExport type(GgmlType t) {
        this.type = t;
        return this;
    }

    /** @param arch the {@code general.architecture} to write, e.g. an unsupported one */
    GgufExport architecture(String arch) {
        this.architecture = arch;
        return this;
    }

    /** @param factors {@code rope_freqs.weight}, {@code (headDim / 2)} divisors of the RoPE frequencies */
    GgufExport ropeFreqs(float[] factors) {
        this.ropeFreqs = factors.clone();
        return this;
    }

    /** @param tensor a tensor name to leave out */
    GgufExport omit(String tensor) {
        omitted.add(tensor);
        return this;
    }

    /** Writes {@code tensor} as F32 of the given shape (innermost first) and values instead. */
    GgufExport replace(String tensor, long[] dims, float[] values) {
        replaced.put(tensor, values.clone());
        replacedDims.put(tensor, dims.clone());
        return this;
    }

    /** @return a writer holding the model's metadata and tensors */
    GgufWriter writer() {
        ModelConfig c = model.config();
        RopeLayout expected = switch (c.architecture()) {
            case "llama" -> RopeLayout.ADJACENT_PAIRS;
            case "qwen2" -> RopeLayout.HALVES;
            default -> throw new IllegalArgumentException("no GGUF architecture for " + c.architecture());
        };
        if (c.ropeLayout() != expected) {
            throw new IllegalArgumentException("GGUF '" + c.architecture() + "' means " + expected + " RoPE; the model uses "
                    + c.ropeLayout() + " and would need its Q/K rows permuted");
        }
        String a = architecture;
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufValue.of(a));
        w.put(a + ".block_count", u32(c.layers()));
        w.put(a + ".context_length", u32(c.contextLength()));
        w.put(a + ".embedding_length", u32(c.dim()));
        w.put(a + ".feed_forward_length", u32(c.hiddenDim()));
        w.put(a + ".attention.head_count", u32(c.heads()));
        w.put(a + ".attention.head_count_kv", u32(c.kvHeads()));
        w.put(a + ".attention.key_length", u32(c.headDim()));
        w.put(a + ".attention.value_length", u32(c.headDim()));
        w.put(a + ".attention.layer_norm_rms_epsilon", number(c.rmsEps()));
        w.put(a + ".rope.freq_base", number(c.ropeTheta()));
        w.put(a + ".rope.dimension_count", u32(c.headDim()));
        w.put(a + ".vocab_size", u32(c.vocab()));
        switch (c.ropeScaling()) {
            case RopeScaling.None n -> { }
            case RopeScaling.Linear l -> {
                w.put(a + ".rope.scaling.type", GgufValue.of("linear"));
                w.put(a + ".rope.scaling.factor", GgufValue.of((float) l.factor()));
            }
            default -> {
                if (ropeFreqs == null) {
                    throw new IllegalArgumentException(c.ropeScaling() + " is stored as rope_freqs.weight; pass ropeFreqs");
                }
            }
        }
        int[] stops = model.stopTokens();
        if (stops.length > 0) {
            w.put("tokenizer.ggml.eos_token_id", u32(stops[stops.length - 1]));
        }
        matrix(w, "token_embd.weight", model.tokenEmbedding());
        for (int i = 0; i < c.layers(); i++) {
            LlamaModel.Layer l = model.layer(i);
            String p = "blk." + i + ".";
            vector(w, p + "attn_norm.weight", l.attnNorm());
            matrix(w, p + "attn_q.weight", l.wq());
            matrix(w, p + "attn_k.weight", l.wk());
            matrix(w, p + "attn_v.weight", l.wv());
            if (l.bq() != null) {
                vector(w, p + "attn_q.bias", l.bq());
                vector(w, p + "attn_k.bias", l.bk());
                vector(w, p + "attn_v.bias", l.bv());
            }
            matrix(w, p + "attn_output.weight", l.wo());
            vector(w, p + "ffn_norm.weight", l.ffnNorm());
            matrix(w, p + "ffn_gate.weight", l.gate());
            matrix(w, p + "ffn_up.weight", l.up());
            matrix(w, p + "ffn_down.weight", l.down());
        }
        vector(w, "output_norm.weight", model.finalNorm());
        if (model.output() != model.tokenEmbedding()) {
            matrix(w, "output.weight", model.output());
        }
        if (ropeFreqs != null) {
            vector(w, "rope_freqs.weight", ropeFreqs);
        }
        return w;
    }

    /**
     * @param path where to write
     * @return {@code path}
     */
    Path write(Path path) throws IOException {
        writer().write(path);
        return path;
    }

    private static GgufValue u32(long v) {
        return GgufValue.ofInteger(GgufType.UINT32, v);
    }

    /** FLOAT32 as llama.cpp writes, FLOAT64 where float would change the value (a round trip stays exact). */
    private static GgufValue number(double v) {
        return (double) (float) v == v ? GgufValue.of((float) v) : new GgufValue(GgufType.FLOAT64, null, v);
    }

    private boolean replacedOrOmitted(GgufWriter w, String name) {
        if (replaced.containsKey(name)) {
            w.addTensor(name, GgmlType.F32, replacedDims.get(name), replaced.get(name));
            return true;
        }
        return omitted.contains(name);
    }

    private void vector(GgufWriter w, String name, float[] v) {
        if (!replacedOrOmitted(w, name)) {
            w.addTensor(name, GgmlType.F32, new long[] {v.length}, v);
        }
    }

    private void matrix(GgufWriter w, String name, WeightMatrix m) {
        if (replacedOrOmitted(w, name)) {
            return;
        }
        int rows = m.rows();
        int cols = m.cols();
        float[] values = new float[Math.multiplyExact(rows, cols)];
        for (int r = 0; r < rows; r++) {
            m.dequantizeRow(r, values, r * cols);
        }
        GgmlType t = cols % type.blockSize() == 0 ? type : GgmlType.F32; // as llama.cpp: odd shapes stay F32
        w.addTensor(name, t, new long[] {cols, rows}, values);
    }
}

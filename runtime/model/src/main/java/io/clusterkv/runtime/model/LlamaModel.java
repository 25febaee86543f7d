package io.clusterkv.runtime.model;

import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.model.gguf.GgufTensorInfo;
import io.clusterkv.runtime.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The weights of a Llama-family decoder ({@link ModelConfig}), ready for a {@link ReferenceDecoder}.
 *
 * <p>Design notes. Matrices are {@link WeightMatrix} views over their stored bytes (a GGUF or llama2.c
 * file mapped with FFM, or an off-heap arena for synthetic models); nothing is copied except the small
 * vectors (norm weights, biases), which are dequantized to {@code float[]}. The token embedding is a
 * matrix too: a lookup dequantizes one row. A model owns what backs its weights (the mapping, the
 * arena, the {@link GgufFile}) and frees it in {@link #close()}; matrices are invalid afterwards. A model
 * is immutable and may serve any number of sessions on any threads.
 */
public final class LlamaModel implements AutoCloseable {

    /**
     * The weights of one transformer block. Matrices are {@code (rows, cols)} = {@code (out, in)}.
     *
     * @param attnNorm attention RMSNorm weight, {@code (dim)}
     * @param wq       query projection, {@code (heads * headDim, dim)}
     * @param wk       key projection, {@code (kvHeads * headDim, dim)}
     * @param wv       value projection, {@code (kvHeads * headDim, dim)}
     * @param wo       output projection, {@code (dim, heads * headDim)}
     * @param bq       query bias {@code (heads * headDim)}, or {@code null}
     * @param bk       key bias {@code (kvHeads * headDim)}, or {@code null}
     * @param bv       value bias {@code (kvHeads * headDim)}, or {@code null}
     * @param ffnNorm  feed-forward RMSNorm weight, {@code (dim)}
     * @param gate     SwiGLU gate projection (w1), {@code (hiddenDim, dim)}
     * @param up       SwiGLU up projection (w3), {@code (hiddenDim, dim)}
     * @param down     down projection (w2), {@code (dim, hiddenDim)}
     * @param qNorm    per-head query RMSNorm weight {@code (headDim)}, or {@code null} (Qwen3, Gemma 3 have it)
     * @param kNorm    per-head key RMSNorm weight {@code (headDim)}, or {@code null}
     * @param postAttnNorm RMSNorm weight {@code (dim)} of the attention output before its residual add, or
     *                 {@code null} (Gemma's sandwich norms)
     * @param postFfnNorm  RMSNorm weight {@code (dim)} of the feed-forward output before its residual add, or
     *                 {@code null}
     */
    public record Layer(float[] attnNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                        float[] bq, float[] bk, float[] bv, float[] ffnNorm, WeightMatrix gate, WeightMatrix up,
                        WeightMatrix down, float[] qNorm, float[] kNorm, float[] postAttnNorm, float[] postFfnNorm) {

        /** A layer without per-head Q/K norms or sandwich norms. */
        public Layer(float[] attnNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                     float[] bq, float[] bk, float[] bv, float[] ffnNorm, WeightMatrix gate, WeightMatrix up,
                     WeightMatrix down) {
            this(attnNorm, wq, wk, wv, wo, bq, bk, bv, ffnNorm, gate, up, down, null, null, null, null);
        }

        /** A layer without sandwich norms. */
        public Layer(float[] attnNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
                     float[] bq, float[] bk, float[] bv, float[] ffnNorm, WeightMatrix gate, WeightMatrix up,
                     WeightMatrix down, float[] qNorm, float[] kNorm) {
            this(attnNorm, wq, wk, wv, wo, bq, bk, bv, ffnNorm, gate, up, down, qNorm, kNorm, null, null);
        }
    }

    private final ModelConfig config;
    private final String source;
    private final WeightMatrix tokenEmbedding; // (vocab, dim)
    private final List<Layer> layers;          // (layers)
    private final float[] finalNorm;           // (dim)
    private final WeightMatrix output;         // (vocab, dim); the embedding when tied
    private final Rope rope;
    private final Rope slidingRope;            // of the sliding-window layers; the same as rope for most models
    private final float embeddingScale;
    private final int[] stopTokens;            // token ids that end a generation
    private final Arena storage;               // holds the weights' memory (mapping or allocations); may be null
    private final GgufFile gguf;               // may be null

    /**
     * A model over weights already in memory that it does not own (closing it frees nothing), e.g. the
     * layers of another model with other RoPE frequency factors.
     *
     * @param config          the shapes
     * @param source          where the weights came from, for messages
     * @param tokenEmbedding  {@code (vocab, dim)}
     * @param layers          one per layer
     * @param finalNorm       {@code (dim)}
     * @param output          {@code (vocab, dim)}
     * @param ropeFreqFactors {@code (headDim / 2)} divisors of the RoPE frequencies, or {@code null}
     * @param stopTokens      token ids that end a generation
     * @return the model
     * @throws IllegalArgumentException if a shape does not match {@code config}
     */
    public static LlamaModel inMemory(ModelConfig config, String source, WeightMatrix tokenEmbedding, List<Layer> layers,
                                      float[] finalNorm, WeightMatrix output, float[] ropeFreqFactors, int[] stopTokens) {
        return new LlamaModel(config, source, tokenEmbedding, layers, finalNorm, output, ropeFreqFactors, stopTokens,
                null, null);
    }

    LlamaModel(ModelConfig config, String source, WeightMatrix tokenEmbedding, List<Layer> layers, float[] finalNorm,
               WeightMatrix output, float[] ropeFreqFactors, int[] stopTokens, Arena storage, GgufFile gguf) {
        this.stopTokens = stopTokens.clone();
        this.config = Objects.requireNonNull(config, "config");
        this.source = source;
        this.tokenEmbedding = tokenEmbedding;
        this.layers = List.copyOf(layers);
        this.finalNorm = finalNorm;
        this.output = output;
        this.storage = storage;
        this.gguf = gguf;
        this.rope = Rope.of(config, ropeFreqFactors);
        this.slidingRope = config.variant().slidingRopeTheta() > 0
                ? new Rope(config.headDim(), config.ropeLayout(), config.variant().slidingRopeTheta(),
                        RopeScaling.None.INSTANCE, null)
                : rope;
        this.embeddingScale = (float) config.variant().embeddingScale();
        checkShapes();
    }

    private void checkShapes() {
        int dim = config.dim();
        shape("token embedding", tokenEmbedding, config.vocab(), dim);
        shape("output", output, config.vocab(), dim);
        length("final norm", finalNorm, dim);
        if (layers.size() != config.layers()) {
            throw new IllegalArgumentException("expected " + config.layers() + " layers, got " + layers.size());
        }
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            String p = "layer " + i + " ";
            length(p + "attn_norm", l.attnNorm, dim);
            length(p + "ffn_norm", l.ffnNorm, dim);
            shape(p + "wq", l.wq, config.qDim(), dim);
            shape(p + "wk", l.wk, config.kvDim(), dim);
            shape(p + "wv", l.wv, config.kvDim(), dim);
            shape(p + "wo", l.wo, dim, config.qDim());
            shape(p + "gate", l.gate, config.hiddenDim(), dim);
            shape(p + "up", l.up, config.hiddenDim(), dim);
            shape(p + "down", l.down, dim, config.hiddenDim());
            if (config.qkvBias()) {
                length(p + "bq", l.bq, config.qDim());
                length(p + "bk", l.bk, config.kvDim());
                length(p + "bv", l.bv, config.kvDim());
            } else if (l.bq != null || l.bk != null || l.bv != null) {
                throw new IllegalArgumentException(p + "has Q/K/V biases but the configuration says qkvBias = false");
            }
            if (config.qkNorm()) {
                length(p + "q_norm", l.qNorm, config.headDim());
                length(p + "k_norm", l.kNorm, config.headDim());
            } else if (l.qNorm != null || l.kNorm != null) {
                throw new IllegalArgumentException(p + "has Q/K norms but the configuration says qkNorm = false");
            }
            if (config.variant().sandwichNorms()) {
                length(p + "post_attention_norm", l.postAttnNorm, dim);
                length(p + "post_ffw_norm", l.postFfnNorm, dim);
            } else if (l.postAttnNorm != null || l.postFfnNorm != null) {
                throw new IllegalArgumentException(p + "has sandwich norms but the configuration has none");
            }
        }
    }

    private static void shape(String name, WeightMatrix m, int rows, int cols) {
        Objects.requireNonNull(m, name);
        if (m.rows() != rows || m.cols() != cols) {
            throw new IllegalArgumentException(name + ": expected " + rows + "x" + cols + ", got " + m.rows() + "x" + m.cols());
        }
    }

    private static void length(String name, float[] v, int n) {
        Objects.requireNonNull(v, name);
        if (v.length != n) {
            throw new IllegalArgumentException(name + ": expected " + n + " values, got " + v.length);
        }
    }

    /**
     * Builds a model over the tensors of a GGUF file ({@code llama} or {@code qwen2}). On success the
     * model owns the file and closes it in {@link #close()}; on failure the caller still owns it.
     *
     * <p>Tensors: {@code token_embd.weight}, {@code blk.N.attn_norm.weight},
     * {@code blk.N.attn_{q,k,v,output}.weight} (and {@code attn_{q,k,v}.bias} for qwen2),
     * {@code blk.N.ffn_norm.weight}, {@code blk.N.ffn_{gate,up,down}.weight},
     * {@code output_norm.weight}, {@code output.weight} (absent: tied to the embedding) and the optional
     * {@code rope_freqs.weight} (Llama 3.1 frequency factors).
     *
     * @param file an open GGUF file
     * @return the model
     * @throws ModelFormatException if the metadata or a tensor's shape does not describe a supported model
     * @throws UnsupportedOperationException if a tensor type has no {@link WeightMatrix} implementation yet
     */
    public static LlamaModel fromGguf(GgufFile file) {
        ModelConfig c = ModelConfig.fromGgufMetadata(file.path(), file.metadata(), file.tensors().keySet());
        // every block has at least 6 tensors (phi3's fused ones; 9 elsewhere): check the count against them
        // before sizing anything by it
        int perBlock = c.architecture().equals("phi3") ? 6 : 9;
        if ((long) c.layers() * perBlock > file.tensors().size()) {
            throw new ModelFormatException(file.path(), "metadata '" + c.architecture() + ".block_count'", -1,
                    c.layers() + " blocks need at least " + (long) perBlock * c.layers() + " tensors; the file holds "
                            + file.tensors().size());
        }
        if (file.tensors().containsKey("rope_factors_long.weight") || file.tensors().containsKey("rope_factors_short.weight")) {
            throw new ModelFormatException(file.path(), "tensor 'rope_factors_long.weight'", -1,
                    "LongRoPE (the 128k Phi-3 variants) is not supported; the 4k variants are");
        }
        GgufTensors t = new GgufTensors(file);
        int dim = c.dim();
        List<Layer> layers = new ArrayList<>(c.layers());
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            WeightMatrix[] qkv = file.tensors().containsKey(p + "attn_qkv.weight")
                    ? t.split(p + "attn_qkv.weight", dim, c.qDim(), c.kvDim(), c.kvDim()) // phi3: Q, K, V rows in one
                    : new WeightMatrix[] {t.matrix(p + "attn_q.weight", c.qDim(), dim),
                            t.matrix(p + "attn_k.weight", c.kvDim(), dim), t.matrix(p + "attn_v.weight", c.kvDim(), dim)};
            WeightMatrix[] gateUp = file.tensors().containsKey(p + "ffn_gate.weight")
                    ? new WeightMatrix[] {t.matrix(p + "ffn_gate.weight", c.hiddenDim(), dim),
                            t.matrix(p + "ffn_up.weight", c.hiddenDim(), dim)}
                    : t.split(p + "ffn_up.weight", dim, c.hiddenDim(), c.hiddenDim()); // phi3: gate rows, then up rows
            layers.add(new Layer(
                    t.vector(p + "attn_norm.weight", dim),
                    qkv[0],
                    qkv[1],
                    qkv[2],
                    t.matrix(p + "attn_output.weight", dim, c.qDim()),
                    c.qkvBias() ? t.vector(p + "attn_q.bias", c.qDim()) : null,
                    c.qkvBias() ? t.vector(p + "attn_k.bias", c.kvDim()) : null,
                    c.qkvBias() ? t.vector(p + "attn_v.bias", c.kvDim()) : null,
                    t.vector(p + "ffn_norm.weight", dim),
                    gateUp[0],
                    gateUp[1],
                    t.matrix(p + "ffn_down.weight", dim, c.hiddenDim()),
                    c.qkNorm() ? t.vector(p + "attn_q_norm.weight", c.headDim()) : null,
                    c.qkNorm() ? t.vector(p + "attn_k_norm.weight", c.headDim()) : null,
                    c.variant().sandwichNorms() ? t.vector(p + "post_attention_norm.weight", dim) : null,
                    c.variant().sandwichNorms() ? t.vector(p + "post_ffw_norm.weight", dim) : null));
        }
        WeightMatrix embd = t.matrix("token_embd.weight", c.vocab(), dim);
        WeightMatrix out = c.tiedOutput() ? embd : t.matrix("output.weight", c.vocab(), dim);
        float[] freqFactors = file.tensors().containsKey("rope_freqs.weight")
                ? t.vector("rope_freqs.weight", c.headDim() / 2) : null;
        try {
            return new LlamaModel(c, file.path().toString(), embd, layers, t.vector("output_norm.weight", dim), out,
                    freqFactors, ggufStopTokens(file), null, file);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file.path(), "tensors", -1, e.getMessage());
        }
    }

    private static int[] ggufStopTokens(GgufFile file) {
        return java.util.stream.Stream.of("tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                        "tokenizer.ggml.eom_token_id")
                .filter(file.metadata()::containsKey)
                .mapToLong(file::getLong)
                .filter(id -> id >= 0 && id < Integer.MAX_VALUE)
                .mapToInt(id -> (int) id)
                .distinct()
                .toArray();
    }

    /** Shape-checked reads of GGUF tensors. */
    private record GgufTensors(GgufFile file) {

        WeightMatrix matrix(String name, int rows, int cols) {
            GgufTensorInfo info = file.tensor(name);
            if (info.dims().length != 2 || info.dims()[0] != cols || info.dims()[1] != rows) {
                throw new ModelFormatException(file.path(), "tensor '" + name + "' dims", -1, "expected [" + cols + ", "
                        + rows + "] (ggml order: columns first), found " + Arrays.toString(info.dims()));
            }
            return WeightMatrix.of(info.type(), info.data(), rows, cols);
        }

        /**
         * A fused matrix (phi3's {@code attn_qkv}, {@code ffn_up}) as views of its consecutive row blocks: rows are
         * stored one after another, so each part is a slice of the file, not a copy.
         */
        WeightMatrix[] split(String name, int cols, int... rows) {
            int total = 0;
            for (int r : rows) {
                total += r;
            }
            WeightMatrix whole = matrix(name, total, cols);
            long rowBytes = whole.type().bytesFor(cols);
            WeightMatrix[] parts = new WeightMatrix[rows.length];
            long offset = 0;
            for (int i = 0; i < rows.length; i++) {
                parts[i] = WeightMatrix.of(whole.type(), whole.data().asSlice(offset, rows[i] * rowBytes), rows[i], cols);
                offset += rows[i] * rowBytes;
            }
            return parts;
        }

        float[] vector(String name, int n) {
            GgufTensorInfo info = file.tensor(name);
            if (info.dims().length != 1 || info.dims()[0] != n) {
                throw new ModelFormatException(file.path(), "tensor '" + name + "' dims", -1, "expected [" + n
                        + "], found " + Arrays.toString(info.dims()));
            }
            float[] v = new float[n];
            WeightMatrix.of(info.type(), info.data(), 1, n).dequantizeRow(0, v, 0);
            return v;
        }
    }

    /** @return the configuration */
    public ModelConfig config() {
        return config;
    }

    /** @return where the weights came from: a file path or a synthetic model's name */
    public String source() {
        return source;
    }

    /** @return the GGUF file the model was read from (its tokenizer metadata), if any */
    public Optional<GgufFile> gguf() {
        return Optional.ofNullable(gguf);
    }

    /** @return the token embedding, {@code (vocab, dim)} */
    public WeightMatrix tokenEmbedding() {
        return tokenEmbedding;
    }

    /**
     * @param layer a layer index
     * @return its weights
     */
    public Layer layer(int layer) {
        return layers.get(layer);
    }

    /** @return the final RMSNorm weight, {@code (dim)}; do not modify */
    public float[] finalNorm() {
        return finalNorm;
    }

    /** @return the classifier, {@code (vocab, dim)}; the token embedding when tied */
    public WeightMatrix output() {
        return output;
    }

    /**
     * @return token ids that end a generation: GGUF's {@code tokenizer.ggml.eos_token_id},
     *         {@code eot_token_id} and {@code eom_token_id} where present; for llama2.c checkpoints BOS (1,
     *         which {@code run.c} stops at) and EOS (2); none for synthetic models
     */
    public int[] stopTokens() {
        return stopTokens.clone();
    }

    /** @return the model's rotary embedding (of its global layers, where some layers slide) */
    public Rope rope() {
        return rope;
    }

    /**
     * @param layer a layer
     * @return that layer's rotary embedding: Gemma 3's sliding-window layers have their own base frequency
     */
    public Rope rope(int layer) {
        return config.windowOf(layer) > 0 ? slidingRope : rope;
    }

    /** @return the rotary embedding of the sliding-window layers: {@link #rope()} unless they have their own */
    public Rope slidingRope() {
        return slidingRope;
    }

    /**
     * Writes a token's embedding (times the model's embedding scale, Gemma's {@code sqrt(dim)}).
     *
     * @param token a token id
     * @param dst   receives {@code dim} floats at {@code off}
     * @param off   offset
     * @throws IndexOutOfBoundsException if the token is not in {@code [0, vocab)}
     */
    public void embed(int token, float[] dst, int off) {
        Objects.checkIndex(token, config.vocab());
        tokenEmbedding.dequantizeRow(token, dst, off);
        if (embeddingScale != 1f) { // Gemma: sqrt(dim)
            for (int i = off, end = off + config.dim(); i < end; i++) {
                dst[i] *= embeddingScale;
            }
        }
    }

    /** Frees the weights (unmaps the file, closes the arena). Idempotent. */
    @Override
    public void close() {
        if (gguf != null) {
            gguf.close();
        }
        if (storage != null && storage.scope().isAlive()) {
            storage.close();
        }
    }

    @Override
    public String toString() {
        return "LlamaModel[" + source + ", " + config + "]";
    }
}

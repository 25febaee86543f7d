package io.clusterkv.runtime.model;

import io.clusterkv.runtime.model.gguf.GgufType;
import io.clusterkv.runtime.model.gguf.GgufValue;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The shape and hyper-parameters of a Llama-family decoder: pre-norm RMSNorm blocks of grouped-query
 * attention with RoPE and a SwiGLU feed-forward network.
 *
 * <p>Query heads {@code heads} share {@code kvHeads} key/value heads, {@code heads / kvHeads} each (one
 * GQA group per KV head). Q has {@code heads * headDim} features and K, V {@code kvHeads * headDim}
 * each; usually, but not necessarily, {@code heads * headDim == dim}.
 *
 * @param architecture  {@code general.architecture}: {@code llama}, {@code qwen2}, {@code qwen3}, {@code phi3},
 *                      {@code gemma2} or {@code gemma3}
 * @param dim           model (residual stream) width
 * @param hiddenDim     feed-forward width
 * @param layers        transformer blocks
 * @param heads         query heads
 * @param kvHeads       key/value heads, dividing {@code heads}
 * @param headDim       channels per head, even
 * @param vocab         vocabulary size
 * @param contextLength positions the model was trained for (a session may not exceed it)
 * @param rmsEps        RMSNorm epsilon
 * @param ropeTheta     RoPE base frequency
 * @param ropeScaling   RoPE frequency scaling, {@link RopeScaling.None} for none
 * @param ropeLayout    which channels RoPE rotates together
 * @param tiedOutput    the classifier is the token embedding
 * @param qkvBias       Q, K and V projections have biases (Qwen2)
 * @param qkNorm        each head of Q and of K is RMSNorm-ed (its own weight of {@code headDim}, shared by the
 *                      heads) after the projection and before RoPE (Qwen3, Gemma 3)
 * @param variant       what else sets the layers apart from the Llama pattern (Gemma 2 and 3), {@link Variant#NONE}
 */
public record ModelConfig(String architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads,
                          int headDim, int vocab, int contextLength, double rmsEps, double ropeTheta,
                          RopeScaling ropeScaling, RopeLayout ropeLayout, boolean tiedOutput, boolean qkvBias,
                          boolean qkNorm, Variant variant) {

    /** The gated feed-forward's activation: {@code act(gate · x) * (up · x)}. */
    public enum Activation {
        /** SiLU, {@code x · sigmoid(x)}: SwiGLU (Llama, Qwen, Phi-3) */
        SILU,
        /** GELU, tanh approximation: GeGLU (Gemma) */
        GELU_TANH
    }

    /**
     * What sets a model's layers apart from the Llama pattern.
     *
     * @param embeddingScale       multiplies the token embedding (Gemma: {@code sqrt(dim)}); 1 for none
     * @param activation           the feed-forward's gate activation
     * @param sandwichNorms        the attention and feed-forward outputs are RMSNorm-ed before their residual add
     *                             ({@code post_attention_norm}, {@code post_ffw_norm})
     * @param slidingWindow        positions a sliding-window layer attends (the current one and those before),
     *                             0 for none
     * @param slidingWindowPattern layer {@code l} slides unless {@code (l + 1) % pattern == 0} (Gemma 3: 6, one
     *                             global layer in six; Gemma 2: 2, the even layers slide); 0 when no layer slides
     * @param slidingRopeTheta     the RoPE base of sliding-window layers (unscaled), 0 for the model's own
     * @param attentionScale       the softmax scale, 0 for {@code 1 / sqrt(headDim)}
     * @param attentionSoftcap     Gemma 2's attention logit soft-capping: every scaled score {@code s} becomes
     *                             {@code cap · tanh(s / cap)} before the softmax; 0 for none
     * @param finalSoftcap         Gemma 2's final logit soft-capping, the same on the classifier's logits; 0 for
     *                             none
     */
    public record Variant(double embeddingScale, Activation activation, boolean sandwichNorms, int slidingWindow,
                          int slidingWindowPattern, double slidingRopeTheta, double attentionScale,
                          double attentionSoftcap, double finalSoftcap) {

        /** The Llama pattern. */
        public static final Variant NONE = new Variant(1, Activation.SILU, false, 0, 0, 0, 0, 0, 0);

        /** A variant without soft-capping (Gemma 3). */
        public Variant(double embeddingScale, Activation activation, boolean sandwichNorms, int slidingWindow,
                       int slidingWindowPattern, double slidingRopeTheta, double attentionScale) {
            this(embeddingScale, activation, sandwichNorms, slidingWindow, slidingWindowPattern, slidingRopeTheta,
                    attentionScale, 0, 0);
        }

        /** @throws IllegalArgumentException if a value is out of range, naming it */
        public Variant {
            java.util.Objects.requireNonNull(activation, "activation");
            if (!(embeddingScale > 0) || !Double.isFinite(embeddingScale)) {
                throw new IllegalArgumentException("embeddingScale must be finite and > 0, was " + embeddingScale);
            }
            if (slidingWindow < 0 || slidingWindowPattern < 0 || (slidingWindow > 0) != (slidingWindowPattern > 0)) {
                throw new IllegalArgumentException("slidingWindow (" + slidingWindow + ") and slidingWindowPattern ("
                        + slidingWindowPattern + ") must both be 0 or both > 0");
            }
            if (slidingRopeTheta != 0 && !(slidingRopeTheta > 1 && Double.isFinite(slidingRopeTheta))) {
                throw new IllegalArgumentException("slidingRopeTheta must be 0 or finite and > 1, was " + slidingRopeTheta);
            }
            if (attentionScale != 0 && !(attentionScale > 0 && Double.isFinite(attentionScale))) {
                throw new IllegalArgumentException("attentionScale must be 0 or finite and > 0, was " + attentionScale);
            }
            if (attentionSoftcap != 0 && !(attentionSoftcap > 0 && Double.isFinite(attentionSoftcap))) {
                throw new IllegalArgumentException("attentionSoftcap must be 0 or finite and > 0, was "
                        + attentionSoftcap);
            }
            if (finalSoftcap != 0 && !(finalSoftcap > 0 && Double.isFinite(finalSoftcap))) {
                throw new IllegalArgumentException("finalSoftcap must be 0 or finite and > 0, was " + finalSoftcap);
            }
        }
    }

    /** A configuration of the Llama pattern with optional per-head Q/K norms. */
    public ModelConfig(String architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads, int headDim,
                       int vocab, int contextLength, double rmsEps, double ropeTheta, RopeScaling ropeScaling,
                       RopeLayout ropeLayout, boolean tiedOutput, boolean qkvBias, boolean qkNorm) {
        this(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocab, contextLength, rmsEps, ropeTheta,
                ropeScaling, ropeLayout, tiedOutput, qkvBias, qkNorm, Variant.NONE);
    }

    /**
     * @param layer a layer
     * @return the positions it attends, the current one included, when it is a sliding-window layer; 0 when it
     *         attends the whole history
     */
    public int windowOf(int layer) {
        return variant.slidingWindow() > 0 && (layer + 1) % variant.slidingWindowPattern() != 0
                ? variant.slidingWindow() : 0;
    }

    /** @return the softmax scale of attention scores: {@link Variant#attentionScale()}, else {@code 1 / sqrt(headDim)} */
    public double attentionScale() {
        return variant.attentionScale() > 0 ? variant.attentionScale() : 1.0 / Math.sqrt(headDim);
    }

    /** Architectures this runtime runs. */
    public static final Set<String> ARCHITECTURES = Set.of("llama", "qwen2", "qwen3", "phi3", "gemma2", "gemma3");

    /** A configuration without per-head Q/K norms (every architecture but Qwen3). */
    public ModelConfig(String architecture, int dim, int hiddenDim, int layers, int heads, int kvHeads, int headDim,
                       int vocab, int contextLength, double rmsEps, double ropeTheta, RopeScaling ropeScaling,
                       RopeLayout ropeLayout, boolean tiedOutput, boolean qkvBias) {
        this(architecture, dim, hiddenDim, layers, heads, kvHeads, headDim, vocab, contextLength, rmsEps, ropeTheta,
                ropeScaling, ropeLayout, tiedOutput, qkvBias, false, Variant.NONE);
    }

    /** @throws IllegalArgumentException if a field is out of range, naming it and its value */
    public ModelConfig {
        Objects.requireNonNull(architecture, "architecture");
        Objects.requireNonNull(ropeScaling, "ropeScaling");
        Objects.requireNonNull(ropeLayout, "ropeLayout");
        Objects.requireNonNull(variant, "variant");
        positive("dim", dim);
        positive("hiddenDim", hiddenDim);
        positive("layers", layers);
        positive("heads", heads);
        positive("kvHeads", kvHeads);
        positive("headDim", headDim);
        positive("vocab", vocab);
        positive("contextLength", contextLength);
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads (" + heads + ") must be a multiple of kvHeads (" + kvHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("headDim must be even for RoPE, was " + headDim);
        }
        if ((long) heads * headDim > Integer.MAX_VALUE / 4) {
            throw new IllegalArgumentException("heads * headDim = " + (long) heads * headDim + " is too large");
        }
        if (!(rmsEps > 0) || !Double.isFinite(rmsEps)) {
            throw new IllegalArgumentException("rmsEps must be finite and > 0, was " + rmsEps);
        }
        if (!(ropeTheta > 1) || !Double.isFinite(ropeTheta)) {
            throw new IllegalArgumentException("ropeTheta must be finite and > 1, was " + ropeTheta);
        }
    }

    private static void positive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, was " + v);
        }
    }

    /** @return query heads per KV head (the GQA group size) */
    public int groupSize() {
        return heads / kvHeads;
    }

    /** @return features of Q, {@code heads * headDim} */
    public int qDim() {
        return heads * headDim;
    }

    /** @return features of K and of V, {@code kvHeads * headDim} */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /**
     * Reads a configuration from GGUF metadata, as llama.cpp does for {@code llama}, {@code qwen2},
     * {@code qwen3} and {@code phi3}. A {@code phi3} model's {@code .attention.sliding_window}, when smaller than
     * its context, becomes its context: each layer attends the last {@code window} positions, which is exact
     * attention as long as the context does not exceed the window (the runtime has no sliding-window attention).
     *
     * <p>Keys, with {@code <a>} the architecture: {@code <a>.block_count}, {@code .embedding_length},
     * {@code .feed_forward_length}, {@code .attention.head_count}, {@code .attention.head_count_kv}
     * (default: head_count), {@code .attention.key_length} (default: embedding_length / head_count),
     * {@code .attention.layer_norm_rms_epsilon}, {@code .rope.freq_base} (default 10000),
     * {@code .rope.dimension_count} (must equal the head dimension), {@code .context_length},
     * {@code .vocab_size} (default: the length of {@code tokenizer.ggml.tokens}), and
     * {@code .rope.scaling.type} ({@code none} or {@code linear}, with {@code .rope.scaling.factor}).
     * Llama 3.1 scaling is not in the metadata: llama.cpp's converter stores its per-frequency factors
     * as the tensor {@code rope_freqs.weight}, which {@link LlamaModel} applies.
     *
     * @param file        the file, for messages
     * @param metadata    its metadata
     * @param tensorNames its tensor names ({@code output.weight} absent means a tied classifier)
     * @return the configuration
     * @throws ModelFormatException if the architecture is not supported, a key is missing or has the
     *                              wrong type, or the values are inconsistent
     */
    public static ModelConfig fromGgufMetadata(Path file, Map<String, GgufValue> metadata, Set<String> tensorNames) {
        Meta m = new Meta(file, metadata);
        String arch = m.string("general.architecture");
        RopeLayout layout = switch (arch) {
            case "llama" -> RopeLayout.ADJACENT_PAIRS;
            case "qwen2", "qwen3", "phi3", "gemma2", "gemma3" -> RopeLayout.HALVES;
            default -> throw new ModelFormatException(file, "metadata 'general.architecture'", -1,
                    "unsupported architecture '" + arch + "'; supported: llama, qwen2, qwen3, phi3, gemma2, gemma3");
        };
        int dim = m.integer(arch + ".embedding_length", -1);
        int heads = m.integer(arch + ".attention.head_count", -1);
        int kvHeads = m.integer(arch + ".attention.head_count_kv", heads);
        if (heads > 0 && dim % heads != 0 && !metadata.containsKey(arch + ".attention.key_length")) {
            throw m.error(arch + ".attention.head_count", "embedding_length " + dim + " is not a multiple of "
                    + heads + " heads and no key_length is given");
        }
        int headDim = m.integer(arch + ".attention.key_length", heads > 0 ? dim / heads : -1);
        int valueDim = m.integer(arch + ".attention.value_length", headDim);
        if (valueDim != headDim) {
            throw m.error(arch + ".attention.value_length", "value_length " + valueDim + " differs from key_length "
                    + headDim + "; not supported");
        }
        int ropeDims = m.integer(arch + ".rope.dimension_count", headDim);
        if (ropeDims != headDim) {
            throw m.error(arch + ".rope.dimension_count", "partial rotary embeddings (" + ropeDims + " of "
                    + headDim + " channels) are not supported");
        }
        int vocab;
        if (metadata.containsKey(arch + ".vocab_size")) {
            vocab = m.integer(arch + ".vocab_size", -1);
        } else if (metadata.get("tokenizer.ggml.tokens") instanceof GgufValue t && t.type() == GgufType.ARRAY) {
            vocab = t.length();
        } else {
            throw m.error(arch + ".vocab_size", "missing, and there is no tokenizer.ggml.tokens array to count");
        }
        RopeScaling scaling = RopeScaling.None.INSTANCE;
        String scalingKey = arch + ".rope.scaling.type";
        if (metadata.containsKey(scalingKey)) {
            String type = m.string(scalingKey);
            scaling = switch (type) {
                case "none" -> RopeScaling.None.INSTANCE;
                case "linear" -> {
                    double f = m.number(arch + ".rope.scaling.factor", Double.NaN);
                    if (!(f >= 1) || !Double.isFinite(f)) {
                        throw m.error(arch + ".rope.scaling.factor", "must be finite and >= 1, was " + f);
                    }
                    yield new RopeScaling.Linear(f);
                }
                default -> throw m.error(scalingKey, "RoPE scaling '" + type + "' is not supported; supported: none, linear"
                        + " (llama3 scaling is read from the rope_freqs.weight tensor)");
            };
        }
        int context = m.integer(arch + ".context_length", -1);
        // phi3: every layer attends a sliding window (llama.cpp: phi3.attention.sliding_window, n_swa). Within the
        // window that is exact attention, so the context is capped at the window and nothing is attended wrongly.
        if (arch.equals("phi3") && metadata.get(arch + ".attention.sliding_window") instanceof GgufValue sw
                && sw.value() instanceof Long window && window > 0 && window < context) {
            context = (int) (long) window;
        }
        int blocks = m.integer(arch + ".block_count", -1);
        Variant variant = Variant.NONE;
        if (arch.equals("gemma3")) {
            // as llama.cpp reads Gemma 3: embeddings scaled by sqrt(dim), GeGLU, sandwich norms, five sliding-window
            // layers (RoPE base 10000, unscaled) to one global layer; the softmax scale is 1/sqrt(headDim), but
            // 1/sqrt(dim / heads) for the 62-layer 27B (its query_pre_attn_scalar, which the file does not hold)
            int window = m.integer(arch + ".attention.sliding_window", -1);
            variant = new Variant(Math.sqrt(dim), Activation.GELU_TANH, true, window, 6, 10000.0,
                    blocks == 62 ? 1.0 / Math.sqrt((double) dim / heads) : 0);
        } else if (arch.equals("gemma2")) {
            // as llama.cpp reads Gemma 2: Gemma 3's embedding scale, GeGLU and sandwich norms, no Q/K norms; the even
            // layers slide (a window of 4096 unless the file says otherwise, the model's own RoPE base); attention
            // scores capped at 50 and logits at 30 (cap * tanh(x / cap)) unless the file gives other caps; the
            // softmax scale 1/sqrt(headDim), but 1/sqrt(dim / heads) for the 46-layer 27B (query_pre_attn_scalar)
            int window = m.integer(arch + ".attention.sliding_window", 4096);
            double attnCap = m.number(arch + ".attn_logit_softcapping", 50.0);
            double finalCap = m.number(arch + ".final_logit_softcapping", 30.0);
            try {
                variant = new Variant(Math.sqrt(dim), Activation.GELU_TANH, true, window, 2, 0,
                        blocks == 46 ? 1.0 / Math.sqrt((double) dim / heads) : 0, attnCap, finalCap);
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(file, "metadata '" + arch + ".*'", -1, e.getMessage());
            }
        }
        try {
            return new ModelConfig(arch, dim, m.integer(arch + ".feed_forward_length", -1),
                    blocks, heads, kvHeads, headDim, vocab,
                    context,
                    m.number(arch + ".attention.layer_norm_rms_epsilon", Double.NaN),
                    m.number(arch + ".rope.freq_base", 10000.0), scaling, layout,
                    !tensorNames.contains("output.weight"), arch.equals("qwen2"),
                    arch.equals("qwen3") || arch.equals("gemma3"), variant);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, "metadata '" + arch + ".*'", -1, e.getMessage());
        }
    }

    /** Typed reads of a metadata map, failing with the key. */
    private record Meta(Path file, Map<String, GgufValue> metadata) {

        ModelFormatException error(String key, String problem) {
            return new ModelFormatException(file, "metadata '" + key + "'", -1, problem);
        }

        private GgufValue get(String key) {
            GgufValue v = metadata.get(key);
            if (v == null) {
                throw error(key, "missing");
            }
            return v;
        }

        String string(String key) {
            GgufValue v = get(key);
            if (v.value() instanceof String s) {
                return s;
            }
            throw error(key, "expected a string, found " + v.type());
        }

        /** @param fallback returned when absent; a negative fallback makes the key required */
        int integer(String key, int fallback) {
            if (!metadata.containsKey(key)) {
                if (fallback < 0) {
                    throw error(key, "missing");
                }
                return fallback;
            }
            GgufValue v = get(key);
            if (v.type() == GgufType.ARRAY || !(v.value() instanceof Long l)) {
                throw error(key, "expected an integer, found " + v.type());
            }
            if (l < 1 || l > Integer.MAX_VALUE) {
                throw error(key, "must be in [1, " + Integer.MAX_VALUE + "], was " + Long.toUnsignedString(l));
            }
            return (int) (long) l;
        }

        /** @param fallback returned when absent; NaN makes the key required */
        double number(String key, double fallback) {
            if (!metadata.containsKey(key)) {
                if (Double.isNaN(fallback)) {
                    throw error(key, "missing");
                }
                return fallback;
            }
            GgufValue v = get(key);
            if (v.type() != GgufType.ARRAY && v.value() instanceof Number n) {
                return n.doubleValue();
            }
            throw error(key, "expected a number, found " + v.type());
        }
    }
}

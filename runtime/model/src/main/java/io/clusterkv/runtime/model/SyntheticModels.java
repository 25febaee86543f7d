package io.clusterkv.runtime.model;

import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.Quantizer;
import io.clusterkv.runtime.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Models of real shapes with seeded random weights, for benchmarks and tests where no model file is
 * at hand. The same name, type and seed always give the same weights.
 *
 * <p>Weights are uniform in {@code ±sqrt(3 / cols)} (variance {@code 1 / cols}, so each projection
 * roughly preserves the scale of its normalised input), the embedding uniform in {@code ±1}, norm
 * weights 1 and biases small. Tensor {@code i} draws from its own stream, split from the seed.
 *
 * <p>Weight types: F32, F16, BF16, Q8_0 and Q4_0, converted by {@link Quantizer} from the same draws
 * (a quantized model approximates the F32 one of the same seed). Each matrix is drawn and quantized
 * row by row straight into the off-heap arena, so the F32 model is never materialised (synthetic:llama-1b
 * takes about 1.3 GB as Q8_0, 0.7 GB as Q4_0). As llama.cpp does for incompatible shapes, a matrix whose
 * rows are not a multiple of the type's block size (synthetic:tiny's 172-wide FFN down projection) stays
 * F32. Norm weights and biases are {@code float[]} as in every model. K-quants are not produced.
 *
 * <p>Shapes:
 * <ul>
 * <li>{@code synthetic:llama-1b}: Llama 3.2 1B: 16 layers, dim 2048, 32 heads, 8 KV heads, head 64,
 * FFN 8192, vocab 128256, context 131072, theta 500000, Llama 3 scaling (32, 1, 4, 8192), tied
 * classifier (about 5 GB as F32).</li>
 * <li>{@code synthetic:tiny}: 2 layers, dim 64, 4 heads, 2 KV heads, head 16, FFN 172, vocab 256,
 * context 1024, adjacent-pair RoPE, separate classifier.</li>
 * <li>{@code synthetic:tiny-qwen2}: {@code synthetic:tiny} with Q/K/V biases, half-split RoPE and a
 * tied classifier.</li>
 * <li>{@code synthetic:tiny-qwen3}: {@code synthetic:tiny}'s widths with Qwen3's per-head Q/K norms, heads of 32
 * (Q wider than the residual stream), half-split RoPE and a tied classifier.</li>
 * <li>{@code synthetic:tiny-gemma3}: {@code synthetic:tiny}'s widths in Gemma 3's layout: 6 layers, five of them
 * attending a sliding window of 16 positions, per-head Q/K norms, sandwich norms, GeGLU, scaled embeddings.</li>
 * <li>{@code synthetic:tiny-gemma2}: {@code synthetic:tiny}'s widths in Gemma 2's layout: 4 layers, the even ones
 * attending a sliding window of 16 positions, sandwich norms, GeGLU, scaled embeddings, and soft-capping tight
 * enough to matter at these widths: attention scores capped at 1.5, logits at 8.</li>
 * <li>{@code synthetic:tiny-chat}: {@code synthetic:tiny} with Llama 2's 32000-token vocabulary, the ChatML
 * tokens and a ChatML chat template, see {@link TinyChatModel}.</li>
 * <li>{@code synthetic:retrieval}: not random: weights constructed to answer long-context retrieval
 * tasks, see {@link RetrievalModel} (the seed is not used).</li>
 * </ul>
 */
public final class SyntheticModels {

    /** The prefix of every synthetic model name. */
    public static final String PREFIX = "synthetic:";

    private static final Map<String, ModelConfig> SHAPES = new LinkedHashMap<>();

    static {
        SHAPES.put("synthetic:llama-1b", new ModelConfig("llama", 2048, 8192, 16, 32, 8, 64, 128256, 131072, 1e-5,
                500000.0, new RopeScaling.Llama3(32, 1, 4, 8192), RopeLayout.ADJACENT_PAIRS, true, false));
        SHAPES.put("synthetic:tiny", new ModelConfig("llama", 64, 172, 2, 4, 2, 16, 256, 1024, 1e-5, 10000.0,
                RopeScaling.None.INSTANCE, RopeLayout.ADJACENT_PAIRS, false, false));
        SHAPES.put("synthetic:tiny-qwen2", new ModelConfig("qwen2", 64, 172, 2, 4, 2, 16, 256, 1024, 1e-6, 1000000.0,
                RopeScaling.None.INSTANCE, RopeLayout.HALVES, true, true));
        // Qwen3's layout: per-head Q/K norms, no biases, and Q wider than the residual stream (heads * headDim > dim)
        SHAPES.put("synthetic:tiny-qwen3", new ModelConfig("qwen3", 64, 172, 2, 4, 2, 32, 256, 1024, 1e-6, 1000000.0,
                RopeScaling.None.INSTANCE, RopeLayout.HALVES, true, false, true));
        // Gemma 3's layout: 6 layers, five sliding (a window of 16 positions, RoPE base 10000) and one global
        SHAPES.put("synthetic:tiny-gemma3", new ModelConfig("gemma3", 64, 172, 6, 4, 2, 16, 256, 1024, 1e-6, 1000000.0,
                RopeScaling.None.INSTANCE, RopeLayout.HALVES, true, false, true,
                new ModelConfig.Variant(Math.sqrt(64), ModelConfig.Activation.GELU_TANH, true, 16, 6, 10000.0, 0)));
        // Gemma 2's layout: the even layers slide, no Q/K norms, attention and final logit soft-capping
        SHAPES.put("synthetic:tiny-gemma2", new ModelConfig("gemma2", 64, 172, 4, 4, 2, 16, 256, 1024, 1e-6, 10000.0,
                RopeScaling.None.INSTANCE, RopeLayout.HALVES, true, false, false,
                new ModelConfig.Variant(Math.sqrt(64), ModelConfig.Activation.GELU_TANH, true, 16, 2, 0, 0, 1.5, 8.0)));
    }

    private SyntheticModels() {
    }

    /** @return the names {@link #create} accepts */
    public static Set<String> names() {
        Set<String> names = new java.util.LinkedHashSet<>(SHAPES.keySet());
        names.add(TinyChatModel.NAME);
        names.add(RetrievalModel.NAME);
        return java.util.Collections.unmodifiableSet(names);
    }

    /**
     * @param name a synthetic model name
     * @return its configuration
     * @throws IllegalArgumentException if the name is unknown, listing the known ones
     */
    public static ModelConfig config(String name) {
        ModelConfig c = name.equals(RetrievalModel.NAME) ? RetrievalModel.CONFIG
                : name.equals(TinyChatModel.NAME) ? TinyChatModel.CONFIG : SHAPES.get(name);
        if (c == null) {
            throw new IllegalArgumentException("unknown synthetic model '" + name + "'; known: " + names());
        }
        return c;
    }

    /**
     * Creates a synthetic model in an off-heap arena the model owns.
     *
     * @param name       a name from {@link #names()}
     * @param weightType element type of the matrices: F32, F16, BF16, Q8_0 or Q4_0
     * @param seed       the seed
     * @return the model; close it to free the weights
     * @throws IllegalArgumentException      if the name is unknown
     * @throws UnsupportedOperationException if the type is a K-quant (Q4_K, Q6_K), which is not produced here
     */
    public static LlamaModel create(String name, GgmlType weightType, long seed) {
        if (name.equals(RetrievalModel.NAME)) {
            return RetrievalModel.create(weightType);
        }
        if (name.equals(TinyChatModel.NAME)) {
            return TinyChatModel.create(weightType, seed);
        }
        return create(config(name), name, weightType, seed);
    }

    /**
     * Creates a model of any shape with seeded random weights (drawn as for the named shapes), e.g. a
     * stand-in with another vocabulary size for tests.
     *
     * @param c          the shape
     * @param source     what the model reports as its source
     * @param weightType element type of the matrices: F32, F16, BF16, Q8_0 or Q4_0
     * @param seed       the seed
     * @return the model; close it to free the weights
     * @throws UnsupportedOperationException if the type is a K-quant (Q4_K, Q6_K), which is not produced here
     */
    public static LlamaModel create(ModelConfig c, String source, GgmlType weightType, long seed) {
        return create(c, source, weightType, seed, new int[0], null);
    }

    /** {@link #create(ModelConfig, String, GgmlType, long)} with stop tokens and a GGUF (vocabulary, template) the model owns. */
    static LlamaModel create(ModelConfig c, String source, GgmlType weightType, long seed, int[] stopTokens,
                             io.clusterkv.runtime.model.gguf.GgufFile gguf) {
        if (!Quantizer.canQuantize(weightType)) {
            throw new UnsupportedOperationException("synthetic weights of type " + weightType
                    + " are not supported; supported: F32, F16, BF16, Q8_0, Q4_0 (K-quants are not produced)");
        }
        Arena arena = Arena.ofShared();
        try {
            Filler f = new Filler(arena, seed, weightType);
            int dim = c.dim();
            WeightMatrix embd = f.matrix(c.vocab(), dim, 1.0);
            List<LlamaModel.Layer> layers = new ArrayList<>(c.layers());
            for (int l = 0; l < c.layers(); l++) {
                layers.add(new LlamaModel.Layer(f.norm(dim),
                        f.matrix(c.qDim(), dim), f.matrix(c.kvDim(), dim), f.matrix(c.kvDim(), dim),
                        f.matrix(dim, c.qDim()),
                        c.qkvBias() ? f.vector(c.qDim(), 0.1) : null,
                        c.qkvBias() ? f.vector(c.kvDim(), 0.1) : null,
                        c.qkvBias() ? f.vector(c.kvDim(), 0.1) : null,
                        f.norm(dim), f.matrix(c.hiddenDim(), dim), f.matrix(c.hiddenDim(), dim),
                        f.matrix(dim, c.hiddenDim()),
                        c.qkNorm() ? f.norm(c.headDim()) : null,
                        c.qkNorm() ? f.norm(c.headDim()) : null,
                        c.variant().sandwichNorms() ? f.norm(dim) : null,
                        c.variant().sandwichNorms() ? f.norm(dim) : null));
            }
            float[] finalNorm = f.norm(dim);
            WeightMatrix out = c.tiedOutput() ? embd : f.matrix(c.vocab(), dim);
            return new LlamaModel(c, source, embd, layers, finalNorm, out, null, stopTokens, arena, gguf);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Draws tensors, each from its own stream split off the seed's. */
    private static final class Filler {
        private final Arena arena;
        private final SplittableRandom root;
        private final GgmlType type;

        Filler(Arena arena, long seed, GgmlType type) {
            this.arena = arena;
            this.root = new SplittableRandom(seed);
            this.type = type;
        }

        WeightMatrix matrix(int rows, int cols) {
            return matrix(rows, cols, Math.sqrt(3.0 / cols));
        }

        WeightMatrix matrix(int rows, int cols, double bound) {
            SplittableRandom r = root.split();
            GgmlType t = cols % type.blockSize() == 0 ? type : GgmlType.F32; // as llama.cpp: keep odd shapes F32
            long rowBytes = t.bytesFor(cols);
            MemorySegment seg = arena.allocate(rowBytes * rows, 64);
            float[] row = new float[cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    row[j] = (float) r.nextDouble(-bound, bound);
                }
                Quantizer.quantize(t, row, 0, cols, seg, rowBytes * i);
            }
            return WeightMatrix.of(t, seg, rows, cols);
        }

        float[] vector(int n, double bound) {
            SplittableRandom r = root.split();
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) r.nextDouble(-bound, bound);
            }
            return v;
        }

        float[] norm(int n) {
            float[] v = vector(n, 0.2);
            for (int i = 0; i < n; i++) {
                v[i] += 1f;
            }
            return v;
        }
    }
}

package io.clusterkv.runtime.model;

import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.Quantizer;
import io.clusterkv.runtime.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code synthetic:retrieval}: a Llama model whose weights are <b>constructed</b>, not trained, so that
 * under exact attention it answers the long-context retrieval tasks (passkey, needle in a haystack,
 * variable tracking) written in {@link RetrievalVocabulary} at every context up to 131072 positions,
 * and can only answer through attention: without the needle's positions it says {@code </s>}.
 *
 * <p>Shape: 3 layers, dim 320, 2 query heads on 1 KV head (GQA), head dim 128, feed-forward width 64
 * (all zero: the blocks are attention only), vocabulary {@link RetrievalVocabulary#SIZE}, context 131072,
 * RoPE base 10000 with per-pair frequency divisors ({@code rope_freqs.weight} in GGUF, as Llama 3.1
 * stores its scaling). The default dense-layers (2) leave layer 2, the one that retrieves, to the
 * recall policy.
 *
 * <h2>Construction</h2>
 * <ul>
 * <li><b>Token codes.</b> Every token but BOS has a <i>match code</i>, a unit vector in 34 dimensions:
 * the real and imaginary parts of the chirp {@code x -> exp(2 pi i (a x^2 + b x) / 17) / sqrt(17)},
 * one {@code (a, b)} per token. Distinct chirps are orthogonal or have inner product at most
 * {@code 1 / sqrt(17) = 0.243} in magnitude (a Gauss sum), so a code matches itself with 1 and any
 * other with at most 0.243. Answer tokens (digits, keys, values, variables) also have an <i>output
 * code</i>, a chirp of length 31 (62 dimensions, coherence {@code 1 / sqrt(31) = 0.18}).</li>
 * <li><b>Residual stream</b> (320 dims): a constant 1, a BOS flag, the token's match code and output
 * code (each padded by one dimension so that every embedding has the same norm), then slots written by
 * attention: {@code P1} (the previous token's match code), {@code P2} and {@code P2O} (the match and
 * output codes of the token two back), and {@code R} (the retrieved output code). Every slot a layer
 * writes has unit norm, so the stream's norm before each layer is a known constant and each RMSNorm
 * weight simply undoes it.</li>
 * <li><b>RoPE.</b> Pairs 0-7 are positional: frequencies geometric from 1.5 to 3e-5 radians per
 * position. Pairs 8-63 turn by 1e-9 radians per position (at most 1.3e-4 over the whole context), so
 * they carry content unchanged: the "low-frequency pairs that barely rotate".</li>
 * <li><b>Layer 0, a previous-token head.</b> Q and K come from the constant: K is {@code (1, 0)} in each
 * positional pair, Q is {@code A e^(-i w_j)}, so the score at distance {@code d} is
 * {@code A sum_j cos((d - 1) w_j)}: it peaks at {@code d = 1}, and every other distance up to 131072 is
 * at least 9.9% of the peak lower (checked exhaustively by the tests). With the peak at 300 logits,
 * the next best position is 30 logits behind. V copies the match code into {@code P1}.</li>
 * <li><b>Layer 1, a distance-2 head</b>, the same with {@code e^(-2 i w_j)}: copies the match and
 * output codes of the token two back into {@code P2} and {@code P2O}.</li>
 * <li><b>Layer 2, retrieval</b>: two query heads on one KV head. The key at position {@code p} holds,
 * in the non-rotating pairs, the BOS flag, {@code code(p)}, {@code P1(p) = code(p-1)} and
 * {@code P2(p) = code(p-2)}; the value holds {@code out(p)} and {@code P2O(p) = out(p-2)}.
 * <ul>
 * <li>Head 0, <b>induction</b> (a bigram lookup): its query is {@code code(t)} against {@code P1} and
 * {@code code(t-1)} against {@code P2}, so a position whose two preceding tokens are the query's last
 * two scores 2, a position with one of them at most 1.243. It copies {@code out(p)}: the token that
 * followed the same bigram earlier. "the pass key is" finds the passkey's first digit; each digit then
 * finds the next.</li>
 * <li>Head 1, <b>reverse lookup</b>: its query is {@code code(t)} against {@code code(p)} and the
 * constant {@code code(=)} against {@code P1}, so it finds "= t" and copies {@code out(p-2)}: in
 * "var x2 = x1", from x1 it answers x2 (variable tracking follows a chain this way).</li>
 * <li>Both also score the BOS position with a constant 1.62, between a partial match (1.243) and a
 * full one (2): with no full match a head attends BOS, whose value is zero, and adds nothing. Scores
 * are scaled to 80 logits per unit, 30 logits of margin on each side.</li>
 * </ul>
 * Both heads write into {@code R}.</li>
 * <li><b>Classifier</b>: the logit of an answer token is 20 times its output code against {@code R};
 * {@code </s>} gets a constant 10. A clean retrieval gives the right token 20, any other at most 3.6;
 * nothing retrieved (the needle dropped, or a head attending BOS) gives {@code </s>}.</li>
 * </ul>
 * The codes and layouts are fixed; the seed is not used. Weights are F32 (or converted to F16, BF16,
 * Q8_0, Q4_0 by {@link Quantizer}; exact answers are guaranteed for F32 and F16).
 */
public final class RetrievalModel {

    /** The name it is opened by. */
    public static final String NAME = "synthetic:retrieval";

    /** Its configuration. */
    public static final ModelConfig CONFIG = new ModelConfig("llama", 320, 64, 3, 2, 1, 128,
            RetrievalVocabulary.SIZE, 131072, 1e-5, 10000.0, RopeScaling.None.INSTANCE, RopeLayout.ADJACENT_PAIRS,
            false, false);

    /** Positional RoPE pairs (the rest carry content). */
    static final int POSITIONAL_PAIRS = 8;
    /** Frequency of the first and the last positional pair, radians per position. */
    static final double FASTEST = 1.5, SLOWEST = 3e-5;
    /** Frequency of the content pairs, radians per position. */
    static final double CONTENT_FREQUENCY = 1e-9;
    /** Peak score of the positional heads, logits. */
    static final double POSITIONAL_PEAK = 300;
    /** Logits per unit of match score in the retrieval heads. */
    static final double MATCH_SCALE = 80;
    /** The BOS position's score in the retrieval heads, in units of match score. */
    static final double SINK = 1.62;
    /** Logit of an answer token per unit of its output code against R. */
    static final double OUTPUT_SCALE = 20;
    /** Logit of {@code </s>}. */
    static final double EOS_LOGIT = 10;

    private static final int MATCH_PRIME = 17, OUTPUT_PRIME = 31;
    static final int MATCH_DIMS = 2 * MATCH_PRIME;   // 34
    static final int OUTPUT_DIMS = 2 * OUTPUT_PRIME; // 62

    // ---- residual stream layout (dim 320) ----
    static final int CONST = 0, BOS_FLAG = 1;
    static final int CODE = 2, CODE_PAD = CODE + MATCH_DIMS;                 // 2..35, 36
    static final int OUT = CODE_PAD + 1, OUT_PAD = OUT + OUTPUT_DIMS;         // 37..98, 99
    static final int P1 = OUT_PAD + 1;                                       // 100..135: code, pad, bos
    static final int P2 = P1 + MATCH_DIMS + 2;                               // 136..171
    static final int P2O = P2 + MATCH_DIMS + 2;                              // 172..234: out, pad
    static final int R = P2O + OUTPUT_DIMS + 1;                              // 235..296
    /** Width of a copied match block: code, its pad, the BOS flag. */
    private static final int MATCH_BLOCK = MATCH_DIMS + 2;
    /** Width of a copied output block: code and its pad. */
    private static final int OUT_BLOCK = OUTPUT_DIMS + 1;

    // ---- the retrieval layer's key and value layout (non-rotating channels from 16) ----
    static final int K_SINK = 2 * POSITIONAL_PAIRS;        // 16
    static final int K_CODE = K_SINK + 1;                  // 17..50: code(p)
    static final int K_P1 = K_CODE + MATCH_DIMS;           // 51..84: code(p-1)
    static final int K_P2 = K_P1 + MATCH_DIMS;             // 85..118: code(p-2)
    static final int V_OUT = 0, V_P2O = OUTPUT_DIMS;       // 0..61, 62..123

    private RetrievalModel() {
    }

    /**
     * Builds the model in an off-heap arena it owns.
     *
     * @param weightType F32, F16, BF16, Q8_0 or Q4_0 (only F32 and F16 keep every margin)
     * @return the model; close it to free the weights
     * @throws UnsupportedOperationException if the type cannot be produced
     */
    public static LlamaModel create(GgmlType weightType) {
        if (!Quantizer.canQuantize(weightType)) {
            throw new UnsupportedOperationException("synthetic:retrieval weights of type " + weightType
                    + " are not supported; supported: F32, F16, BF16, Q8_0, Q4_0");
        }
        ModelConfig c = CONFIG;
        int dim = c.dim(), hd = c.headDim(), v = c.vocab();
        float[][] match = codes(MATCH_PRIME);
        float[][] output = codes(OUTPUT_PRIME);
        if (v - 1 > match.length) {
            throw new AssertionError("vocabulary of " + v + " needs more match codes than " + match.length);
        }

        // token embedding (vocab, dim)
        float[][] embd = new float[v][dim];
        for (int t = 0; t < v; t++) {
            float[] e = embd[t];
            e[CONST] = 1;
            if (t == RetrievalVocabulary.BOS) {
                e[BOS_FLAG] = 1;
            } else {
                System.arraycopy(match[matchIndex(t)], 0, e, CODE, MATCH_DIMS);
            }
            if (RetrievalVocabulary.isAnswer(t)) {
                System.arraycopy(output[outputIndex(t)], 0, e, OUT, OUTPUT_DIMS);
            } else {
                e[OUT_PAD] = 1;
            }
        }

        float[] freqFactors = frequencyFactors(c);
        double[] w = positionalFrequencies();
        double sqrtHd = Math.sqrt(hd);
        double amp = POSITIONAL_PEAK * sqrtHd / POSITIONAL_PAIRS;

        List<float[][][]> layers = new ArrayList<>(); // per layer: wq, wk, wv, wo
        for (int layer = 0; layer < 2; layer++) {
            int distance = layer + 1;
            float[][] wq = new float[c.qDim()][dim];
            float[][] wk = new float[c.kvDim()][dim];
            float[][] wv = new float[c.kvDim()][dim];
            float[][] wo = new float[dim][c.qDim()];
            for (int j = 0; j < POSITIONAL_PAIRS; j++) {
                // head 0: score sum_j A cos((d - distance) w_j), peaking at the wanted distance
                wq[2 * j][CONST] = (float) (amp * Math.cos(distance * w[j]));
                wq[2 * j + 1][CONST] = (float) (-amp * Math.sin(distance * w[j]));
                wk[2 * j][CONST] = 1;
            }
            // V: the match block (code, pad, BOS flag) at 0..35, the output block (code, pad) at 36..98
            for (int i = 0; i < MATCH_DIMS + 1; i++) {
                wv[i][CODE + i] = 1;
            }
            wv[MATCH_DIMS + 1][BOS_FLAG] = 1;
            for (int i = 0; i < OUT_BLOCK; i++) {
                wv[MATCH_BLOCK + i][OUT + i] = 1;
            }
            if (layer == 0) {
                for (int i = 0; i < MATCH_BLOCK; i++) {
                    wo[P1 + i][i] = 1;
                }
            } else {
                for (int i = 0; i < MATCH_BLOCK; i++) {
                    wo[P2 + i][i] = 1;
                }
                for (int i = 0; i < OUT_BLOCK; i++) {
                    wo[P2O + i][MATCH_BLOCK + i] = 1;
                }
            }
            layers.add(new float[][][]{wq, wk, wv, wo});
        }
        { // layer 2: retrieval
            float[][] wq = new float[c.qDim()][dim];
            float[][] wk = new float[c.kvDim()][dim];
            float[][] wv = new float[c.kvDim()][dim];
            float[][] wo = new float[dim][c.qDim()];
            double s = MATCH_SCALE * sqrtHd;
            wk[K_SINK][BOS_FLAG] = 1;
            for (int i = 0; i < MATCH_DIMS; i++) {
                wk[K_CODE + i][CODE + i] = 1;
                wk[K_P1 + i][P1 + i] = 1;
                wk[K_P2 + i][P2 + i] = 1;
            }
            // head 0, induction: code(t) . code(p-1) + code(t-1) . code(p-2)
            wq[K_SINK][CONST] = (float) (SINK * s);
            for (int i = 0; i < MATCH_DIMS; i++) {
                wq[K_P1 + i][CODE + i] = (float) s;
                wq[K_P2 + i][P1 + i] = (float) s;
            }
            // head 1, reverse lookup: code(t) . code(p) + code(=) . code(p-1)
            float[] equals = match[matchIndex(RetrievalVocabulary.id("="))];
            wq[hd + K_SINK][CONST] = (float) (SINK * s);
            for (int i = 0; i < MATCH_DIMS; i++) {
                wq[hd + K_CODE + i][CODE + i] = (float) s;
                wq[hd + K_P1 + i][CONST] = (float) (s * equals[i]);
            }
            for (int i = 0; i < OUTPUT_DIMS; i++) {
                wv[V_OUT + i][OUT + i] = 1;
                wv[V_P2O + i][P2O + i] = 1;
                wo[R + i][V_OUT + i] = 1;          // head 0 copies out(p)
                wo[R + i][hd + V_P2O + i] = 1;     // head 1 copies out(p-2)
            }
            layers.add(new float[][][]{wq, wk, wv, wo});
        }

        float[][] out = new float[v][dim];
        for (int t = 0; t < v; t++) {
            if (RetrievalVocabulary.isAnswer(t)) {
                float[] o = output[outputIndex(t)];
                for (int i = 0; i < OUTPUT_DIMS; i++) {
                    out[t][R + i] = (float) (OUTPUT_SCALE * o[i]);
                }
            }
        }
        out[RetrievalVocabulary.EOS][CONST] = (float) EOS_LOGIT;

        Arena arena = Arena.ofShared();
        try {
            List<LlamaModel.Layer> built = new ArrayList<>(c.layers());
            for (int layer = 0; layer < c.layers(); layer++) {
                float[][][] m = layers.get(layer);
                // the stream's squared norm before the layer: 3 (embedding), +1 (P1), +2 (P2, P2O)
                float[] attnNorm = filled(dim, (float) Math.sqrt(new double[]{3, 4, 6}[layer] / dim));
                built.add(new LlamaModel.Layer(attnNorm, matrix(arena, weightType, m[0]), matrix(arena, weightType, m[1]),
                        matrix(arena, weightType, m[2]), matrix(arena, weightType, m[3]), null, null, null,
                        filled(dim, 1f), matrix(arena, weightType, new float[c.hiddenDim()][dim]),
                        matrix(arena, weightType, new float[c.hiddenDim()][dim]),
                        matrix(arena, weightType, new float[dim][c.hiddenDim()])));
            }
            return new LlamaModel(c, NAME, matrix(arena, weightType, embd), built,
                    filled(dim, (float) Math.sqrt(6.0 / dim)), matrix(arena, weightType, out), freqFactors,
                    new int[]{RetrievalVocabulary.EOS}, arena, null);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** @return the frequencies of the positional pairs, radians per position, geometric from FASTEST to SLOWEST */
    static double[] positionalFrequencies() {
        double[] w = new double[POSITIONAL_PAIRS];
        for (int j = 0; j < w.length; j++) {
            w[j] = FASTEST * Math.pow(SLOWEST / FASTEST, (double) j / (POSITIONAL_PAIRS - 1));
        }
        return w;
    }

    /**
     * The RoPE divisors: {@code theta^(-2i/headDim) / factor_i} is the wanted frequency of pair {@code i}.
     * Rounded to float as GGUF stores them, so both engines turn by the same angles.
     */
    static float[] frequencyFactors(ModelConfig c) {
        double[] w = positionalFrequencies();
        float[] f = new float[c.headDim() / 2];
        for (int i = 0; i < f.length; i++) {
            double base = Math.pow(c.ropeTheta(), -2.0 * i / c.headDim());
            f[i] = (float) (base / (i < POSITIONAL_PAIRS ? w[i] : CONTENT_FREQUENCY));
        }
        return f;
    }

    /** @return the {@code p * p} chirps of length {@code p} as real vectors {@code (Re, Im)} of unit norm */
    static float[][] codes(int p) {
        float[][] out = new float[p * p][2 * p];
        double norm = 1 / Math.sqrt(p);
        for (int a = 0; a < p; a++) {
            for (int b = 0; b < p; b++) {
                float[] u = out[a * p + b];
                for (int x = 0; x < p; x++) {
                    double phase = 2 * Math.PI * (((long) a * x * x + (long) b * x) % p) / p;
                    u[x] = (float) (norm * Math.cos(phase));
                    u[p + x] = (float) (norm * Math.sin(phase));
                }
            }
        }
        return out;
    }

    /** @return the match code of a token (every token but BOS has one) */
    static int matchIndex(int token) {
        return token == RetrievalVocabulary.UNK ? 0 : token - 1;
    }

    /** @return the output code of an answer token */
    static int outputIndex(int token) {
        return token - RetrievalVocabulary.digit(0);
    }

    private static float[] filled(int n, float value) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, value);
        return a;
    }

    private static WeightMatrix matrix(Arena arena, GgmlType type, float[][] rows) {
        int cols = rows[0].length;
        GgmlType t = cols % type.blockSize() == 0 ? type : GgmlType.F32;
        long rowBytes = t.bytesFor(cols);
        MemorySegment seg = arena.allocate(rowBytes * rows.length, 64);
        for (int i = 0; i < rows.length; i++) {
            Quantizer.quantize(t, rows[i], 0, cols, seg, rowBytes * i);
        }
        return WeightMatrix.of(t, seg, rows.length, cols);
    }
}

package io.clusterkv.runtime.model;

import io.clusterkv.runtime.model.gguf.GgufType;
import io.clusterkv.runtime.model.gguf.GgufValue;
import io.clusterkv.runtime.model.gguf.GgufWriter;
import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.Quantizer;
import io.clusterkv.runtime.tensor.WeightMatrix;
import io.clusterkv.runtime.tokenizer.TokenType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes a {@link LlamaModel} (a GGUF file, a llama2.c checkpoint, a synthetic model) as a GGUF v3 file
 * with the tensor names and metadata keys of llama.cpp's converter, so that llama.cpp and this runtime
 * run the same file, and this runtime reads it back to the same model.
 *
 * <p>Design notes.
 * <ul>
 * <li><b>RoPE layout.</b> GGUF {@code llama} means adjacent-pair RoPE (llama.cpp's converter permutes
 * Hugging Face's half-split Q/K rows into that order; llama2.c checkpoints and this runtime's
 * {@code llama} models are in it already) and {@code qwen2} means half-split RoPE: matrices copy over
 * unpermuted, and a model whose {@link RopeLayout} does not match its architecture is refused.</li>
 * <li><b>RoPE scaling.</b> Linear scaling goes in the metadata ({@code rope.scaling.type},
 * {@code rope.scaling.factor}); any other frequency change (Llama 3 scaling, a GGUF model's own
 * {@code rope_freqs.weight}) goes in the tensor {@code rope_freqs.weight}: per pair
 * {@code theta^(-2i / headDim) / invFreq_i}, the divisor llama.cpp applies (as its converter computes
 * for Llama 3.1 and 3.2).</li>
 * <li><b>Numbers</b> ({@code rms_epsilon}, {@code freq_base}) are FLOAT32, as llama.cpp requires: a
 * value a float cannot hold (an epsilon of 1e-5) reads back rounded to float.</li>
 * <li><b>Weights</b> are written from the model's memory without a heap copy, in their own types, or
 * converted row by row to {@link #type(GgmlType)}; as llama.cpp does, a matrix whose rows are not a
 * multiple of the type's block size stays F32. Norm weights, biases and RoPE factors are F32.</li>
 * <li><b>Vocabulary.</b> A GGUF model's {@code tokenizer.*} metadata is copied. A model without one
 * (synthetic, llama2.c) gets a made-up SentencePiece-style vocabulary ({@code tokenizer.ggml.model =
 * llama}) that llama.cpp loads: {@code <unk>}, {@code <s>} (BOS, 1), {@code </s>} (2), the 256 byte
 * tokens {@code <0x00>}..{@code <0xFF>} where the vocabulary has room for them, then one single code
 * point per token from U+4E00 on (surrogates, private use and non-characters skipped), so any token id
 * can be written as text and tokenizes back to itself (no space prefix; llama.cpp adds BOS).
 * The model's stop tokens are written as {@code eos_token_id}, then {@code eot_token_id} and
 * {@code eom_token_id}: what {@link LlamaModel#stopTokens()} reads back.</li>
 * </ul>
 *
 * <pre>{@code
 * try (LlamaModel m = Models.load("synthetic:llama-1b:q8_0")) {
 *     GgufModelWriter.of(m).write(Path.of("llama-1b-q8_0.gguf"));
 * }
 * }</pre>
 */
public final class GgufModelWriter {

    /** The first code point of the made-up vocabulary's ordinary tokens. */
    public static final int FIRST_PIECE_CODE_POINT = 0x4E00;

    /**
     * One tensor as it will be written.
     *
     * @param name ggml's name, e.g. {@code blk.0.attn_q.weight}
     * @param type its type
     * @param dims its shape, innermost first ({@code {cols, rows}} for a matrix)
     * @param data its stored bytes, little-endian
     */
    public record Tensor(String name, GgmlType type, long[] dims, MemorySegment data) {

        /** Copies the shape. */
        public Tensor {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(type, "type");
            Objects.requireNonNull(data, "data");
            dims = dims.clone();
        }

        @Override
        public long[] dims() {
            return dims.clone();
        }
    }

    private final LlamaModel model;
    private GgmlType type;          // null: every matrix keeps its own type
    private boolean vocabulary = true;

    private GgufModelWriter(LlamaModel model) {
        this.model = Objects.requireNonNull(model, "model");
    }

    /**
     * @param model the model to write; it stays open and owned by the caller, and must stay open until
     *              the file is written
     * @return a writer of that model, every matrix in its own type, with a vocabulary
     */
    public static GgufModelWriter of(LlamaModel model) {
        return new GgufModelWriter(model);
    }

    /**
     * @param t the type every matrix is converted to: F32, F16, BF16, Q8_0 or Q4_0
     * @return this
     * @throws IllegalArgumentException if matrices cannot be converted to {@code t} here (K-quants)
     */
    public GgufModelWriter type(GgmlType t) {
        if (!Quantizer.canQuantize(t)) {
            throw new IllegalArgumentException("cannot convert weights to " + t + "; supported: F32, F16, BF16, Q8_0, Q4_0");
        }
        this.type = t;
        return this;
    }

    /**
     * Leaves the vocabulary out when the model has none of its own (files for tests of the reader).
     *
     * @return this
     */
    public GgufModelWriter withoutVocabulary() {
        this.vocabulary = false;
        return this;
    }

    /**
     * @return the metadata the file will hold, in order
     * @throws IllegalArgumentException if the model's architecture or RoPE cannot be written as GGUF
     */
    public Map<String, GgufValue> metadata() {
        ModelConfig c = model.config();
        RopeLayout expected = switch (c.architecture()) {
            case "llama" -> RopeLayout.ADJACENT_PAIRS;
            case "qwen2", "qwen3", "gemma2", "gemma3" -> RopeLayout.HALVES;
            default -> throw new IllegalArgumentException("no GGUF architecture for '" + c.architecture()
                    + "'; supported: llama, qwen2, qwen3, gemma2, gemma3");
        };
        if (c.ropeLayout() != expected) {
            throw new IllegalArgumentException("GGUF '" + c.architecture() + "' means " + expected
                    + " RoPE; the model uses " + c.ropeLayout() + " and would need its Q/K rows permuted");
        }
        Map<String, GgufValue> m = new LinkedHashMap<>();
        String a = c.architecture();
        m.put("general.architecture", GgufValue.of(a));
        m.put("general.name", GgufValue.of(model.gguf().filter(f -> f.metadata().containsKey("general.name"))
                .map(f -> f.getString("general.name")).orElse(model.source())));
        Integer fileType = fileType();
        if (fileType != null) {
            m.put("general.file_type", u32(fileType));
        }
        m.put(a + ".block_count", u32(c.layers()));
        m.put(a + ".context_length", u32(c.contextLength()));
        m.put(a + ".embedding_length", u32(c.dim()));
        m.put(a + ".feed_forward_length", u32(c.hiddenDim()));
        m.put(a + ".attention.head_count", u32(c.heads()));
        m.put(a + ".attention.head_count_kv", u32(c.kvHeads()));
        m.put(a + ".attention.key_length", u32(c.headDim()));
        m.put(a + ".attention.value_length", u32(c.headDim()));
        m.put(a + ".attention.layer_norm_rms_epsilon", number(c.rmsEps()));
        m.put(a + ".rope.freq_base", number(c.ropeTheta()));
        m.put(a + ".rope.dimension_count", u32(c.headDim()));
        m.put(a + ".vocab_size", u32(c.vocab()));
        if (c.variant().slidingWindow() > 0) {
            m.put(a + ".attention.sliding_window", u32(c.variant().slidingWindow()));
        }
        if (c.variant().attentionSoftcap() > 0) { // llama.cpp's keys (Gemma 2)
            m.put(a + ".attn_logit_softcapping", number(c.variant().attentionSoftcap()));
        }
        if (c.variant().finalSoftcap() > 0) {
            m.put(a + ".final_logit_softcapping", number(c.variant().finalSoftcap()));
        }
        if (c.ropeScaling() instanceof RopeScaling.Linear l) {
            m.put(a + ".rope.scaling.type", GgufValue.of("linear"));
            m.put(a + ".rope.scaling.factor", number(l.factor()));
        }
        boolean own = model.gguf().map(f -> f.metadata().containsKey("tokenizer.ggml.model")).orElse(false);
        if (own) {
            model.gguf().orElseThrow().metadata().forEach((k, v) -> {
                if (k.startsWith("tokenizer.")) {
                    m.put(k, v);
                }
            });
        } else {
            if (vocabulary && c.vocab() >= 3) {
                madeUpVocabulary(c.vocab(), m);
            }
            stopTokens(m);
        }
        return m;
    }

    /**
     * @return the tensors the file will hold, in order; matrices in the model's memory (or converted
     *         copies in memory freed when no longer reachable)
     * @throws IllegalArgumentException if a shape cannot be written
     */
    public List<Tensor> tensors() {
        ModelConfig c = model.config();
        List<Tensor> out = new ArrayList<>();
        Arena converted = Arena.ofAuto();
        out.add(matrix("token_embd.weight", model.tokenEmbedding(), converted));
        for (int i = 0; i < c.layers(); i++) {
            LlamaModel.Layer l = model.layer(i);
            String p = "blk." + i + ".";
            out.add(vector(p + "attn_norm.weight", l.attnNorm()));
            out.add(matrix(p + "attn_q.weight", l.wq(), converted));
            out.add(matrix(p + "attn_k.weight", l.wk(), converted));
            out.add(matrix(p + "attn_v.weight", l.wv(), converted));
            if (l.bq() != null) {
                out.add(vector(p + "attn_q.bias", l.bq()));
                out.add(vector(p + "attn_k.bias", l.bk()));
                out.add(vector(p + "attn_v.bias", l.bv()));
            }
            if (l.qNorm() != null) {
                out.add(vector(p + "attn_q_norm.weight", l.qNorm()));
                out.add(vector(p + "attn_k_norm.weight", l.kNorm()));
            }
            out.add(matrix(p + "attn_output.weight", l.wo(), converted));
            if (l.postAttnNorm() != null) {
                out.add(vector(p + "post_attention_norm.weight", l.postAttnNorm()));
            }
            out.add(vector(p + "ffn_norm.weight", l.ffnNorm()));
            out.add(matrix(p + "ffn_gate.weight", l.gate(), converted));
            out.add(matrix(p + "ffn_up.weight", l.up(), converted));
            out.add(matrix(p + "ffn_down.weight", l.down(), converted));
            if (l.postFfnNorm() != null) {
                out.add(vector(p + "post_ffw_norm.weight", l.postFfnNorm()));
            }
        }
        out.add(vector("output_norm.weight", model.finalNorm()));
        if (model.output() != model.tokenEmbedding()) {
            out.add(matrix("output.weight", model.output(), converted));
        }
        float[] factors = ropeFreqFactors(model);
        if (factors != null) {
            out.add(vector("rope_freqs.weight", factors));
        }
        return out;
    }

    /**
     * @return a writer holding {@link #metadata()} and {@link #tensors()}
     * @throws IllegalArgumentException if the model cannot be written as GGUF
     */
    public GgufWriter writer() {
        GgufWriter w = new GgufWriter();
        metadata().forEach(w::put);
        for (Tensor t : tensors()) {
            w.addTensor(t.name(), t.type(), t.dims(), t.data());
        }
        return w;
    }

    /**
     * Writes the file, replacing it if present.
     *
     * @param path where to write
     * @return {@code path}
     * @throws IOException              if it cannot be written
     * @throws IllegalArgumentException if the model cannot be written as GGUF
     */
    public Path write(Path path) throws IOException {
        writer().write(path);
        return path;
    }

    /**
     * The RoPE frequency divisors llama.cpp reads from {@code rope_freqs.weight}: per pair,
     * {@code theta^(-2i / headDim)} (divided by a linear scaling's factor, which the metadata holds)
     * over the model's inverse frequency.
     *
     * @param model a model
     * @return {@code (headDim / 2)} divisors, or {@code null} when every one is 1
     */
    public static float[] ropeFreqFactors(LlamaModel model) {
        ModelConfig c = model.config();
        float[] f = new float[c.headDim() / 2];
        boolean trivial = true;
        for (int i = 0; i < f.length; i++) {
            double base = Math.pow(c.ropeTheta(), -2.0 * i / c.headDim());
            if (c.ropeScaling() instanceof RopeScaling.Linear l) {
                base /= l.factor();
            }
            f[i] = (float) (base / model.rope().inverseFrequency(i));
            trivial &= Math.abs(f[i] - 1) < 1e-6;
        }
        return trivial ? null : f;
    }

    /** @return llama.cpp's {@code general.file_type} for the type most layer matrices have, or null */
    private Integer fileType() {
        Map<GgmlType, Integer> counts = new EnumMap<>(GgmlType.class);
        for (int i = 0; i < model.config().layers(); i++) {
            LlamaModel.Layer l = model.layer(i);
            for (WeightMatrix w : List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.gate(), l.up(), l.down())) {
                counts.merge(written(w), 1, Integer::sum);
            }
        }
        GgmlType most = counts.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey)
                .orElse(GgmlType.F32);
        return switch (most) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case Q4_K -> 15; // Q4_K_M: Q4_K with some Q6_K
            case Q5_K -> 17; // Q5_K_M: Q5_K with some Q6_K
            case Q6_K -> 18;
            case IQ4_NL -> 25;
            case BF16 -> 32;
        };
    }

    /** @return the type a matrix is written in */
    private GgmlType written(WeightMatrix m) {
        if (type == null || m.type() == type) {
            return m.type();
        }
        return m.cols() % type.blockSize() == 0 ? type : GgmlType.F32; // as llama.cpp: odd shapes stay F32
    }

    private Tensor matrix(String name, WeightMatrix m, Arena converted) {
        long[] dims = {m.cols(), m.rows()};
        GgmlType t = written(m);
        if (t == m.type()) {
            return new Tensor(name, t, dims, m.data());
        }
        long rowBytes = t.bytesFor(m.cols());
        MemorySegment seg = converted.allocate(rowBytes * m.rows(), 64);
        float[] row = new float[m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.dequantizeRow(r, row, 0);
            Quantizer.quantize(t, row, 0, row.length, seg, rowBytes * r);
        }
        return new Tensor(name, t, dims, seg);
    }

    private static Tensor vector(String name, float[] v) {
        return new Tensor(name, GgmlType.F32, new long[] {v.length},
                MemorySegment.ofArray(Quantizer.quantize(GgmlType.F32, v)));
    }

    private void stopTokens(Map<String, GgufValue> m) {
        int[] stops = model.stopTokens();
        List<String> keys = List.of("tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                "tokenizer.ggml.eom_token_id");
        if (stops.length > keys.size()) {
            throw new IllegalArgumentException("GGUF holds at most " + keys.size() + " stop tokens, the model has "
                    + Arrays.toString(stops));
        }
        for (int i = 0; i < stops.length; i++) {
            m.put(keys.get(i), u32(stops[stops.length - 1 - i])); // llama2.c's {1, 2}: EOS 2, then BOS 1
        }
    }

    /** The made-up SentencePiece-style vocabulary of the class notes. */
    private static void madeUpVocabulary(int size, Map<String, GgufValue> m) {
        String[] tokens = madeUpPieces(size);
        int[] types = new int[size];
        types[0] = TokenType.UNKNOWN.code();
        types[1] = TokenType.CONTROL.code();
        types[2] = TokenType.CONTROL.code();
        boolean bytes = size >= 3 + 256; // as madeUpPieces
        for (int i = 3; i < size; i++) {
            types[i] = bytes && i < 3 + 256 ? TokenType.BYTE.code() : TokenType.NORMAL.code();
        }
        m.put("tokenizer.ggml.model", GgufValue.of("llama"));
        m.put("tokenizer.ggml.tokens", GgufValue.array(GgufType.STRING, tokens));
        m.put("tokenizer.ggml.scores", GgufValue.array(GgufType.FLOAT32, new float[size]));
        m.put("tokenizer.ggml.token_type", GgufValue.array(GgufType.INT32, types));
        m.put("tokenizer.ggml.bos_token_id", u32(1));
        m.put("tokenizer.ggml.unknown_token_id", u32(0));
        m.put("tokenizer.ggml.add_bos_token", new GgufValue(GgufType.BOOL, null, true));
        m.put("tokenizer.ggml.add_space_prefix", new GgufValue(GgufType.BOOL, null, false));
    }

    /**
     * The pieces of the made-up vocabulary of a model of {@code size} tokens (the class notes).
     *
     * @param size the vocabulary size, at least 3
     * @return {@code (size)} token texts
     */
    private static String[] madeUpPieces(int size) {
        String[] tokens = new String[size];
        tokens[0] = "<unk>";
        tokens[1] = "<s>";
        tokens[2] = "</s>";
        int next = 3;
        if (size >= next + 256) {
            for (int b = 0; b < 256; b++, next++) {
                tokens[next] = String.format("<0x%02X>", b);
            }
        }
        int cp = FIRST_PIECE_CODE_POINT;
        for (; next < size; next++) {
            cp = pieceCodePoint(cp);
            tokens[next] = Character.toString(cp);
            cp++;
        }
        return tokens;
    }

    /**
     * Token ids as the text of the made-up vocabulary {@link #write} gives a model without one: what
     * llama.cpp tokenizes back to the same ids (after the BOS it adds).
     *
     * @param vocab the model's vocabulary size
     * @param ids   token ids, none of them special ({@code < 3}) or a byte token
     * @return their text
     * @throws IllegalArgumentException if an id has no text of its own, naming it
     */
    public static String madeUpText(int vocab, int[] ids) {
        String[] pieces = madeUpPieces(vocab);
        int firstPiece = vocab >= 3 + 256 ? 3 + 256 : 3;
        StringBuilder s = new StringBuilder();
        for (int id : ids) {
            if (id < firstPiece || id >= vocab) {
                throw new IllegalArgumentException("token " + id + " has no text in the made-up vocabulary of "
                        + vocab + " tokens (special and byte tokens do not)");
            }
            s.append(pieces[id]);
        }
        return s.toString();
    }

    /**
     * @param cp a code point
     * @return the first code point at or after it that is assigned to a piece: no surrogate, private use,
     *         specials block (U+FFF0..U+FFFF) or non-character
     */
    static int pieceCodePoint(int cp) {
        while (true) {
            if (cp >= 0xD800 && cp <= 0xF8FF) {
                cp = 0xF900; // surrogates, then the private use area
            } else if (cp >= 0xFDD0 && cp <= 0xFDEF) {
                cp = 0xFDF0;
            } else if (cp >= 0xFFF0 && cp <= 0xFFFF || (cp & 0xFFFE) == 0xFFFE) {
                cp = (cp | 0xFFFF) + 1;
            } else if (cp >= 0xF0000) {
                throw new IllegalArgumentException("the made-up vocabulary ran out of code points");
            } else {
                return cp;
            }
        }
    }

    private static GgufValue u32(long v) {
        return GgufValue.ofInteger(GgufType.UINT32, v);
    }

    /** FLOAT32, the only type llama.cpp accepts for these keys (1e-5 reads back as 9.99999975e-6). */
    private static GgufValue number(double v) {
        return GgufValue.of((float) v);
    }
}

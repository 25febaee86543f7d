package io.clusterkv.runtime.model;

import io.clusterkv.runtime.attention.Attention;
import io.clusterkv.runtime.attention.AttentionScratch;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;

/**
 * One decoding session over a {@link LlamaModel}: the KV history, one {@link KvShard} per
 * (layer, kvHead), and the scratch buffers of the forward pass.
 *
 * <p>The forward pass: embed, then per layer RMSNorm, Q/K/V projections (plus biases for qwen2), RoPE,
 * K and V appended to the layer's shards, attention per GQA group, output projection and residual,
 * RMSNorm, SwiGLU feed-forward ({@code down(silu(gate·x) * up·x)}) and residual; then the final norm and
 * the classifier. {@link #next} decodes one token with matrix-vector products; {@link #prefill} runs a
 * prompt in chunks of up to {@value #PREFILL_CHUNK} tokens with matrix-matrix products, position
 * {@code p} attending {@code [0, p]}.
 *
 * <p>Design notes. All buffers are allocated when the session is created (prefill's on its first
 * call), so decoding allocates nothing per token. Products run on the pool given at construction (the
 * runtime's own, sized to the cores; never the common pool). A session is confined to one thread at a
 * time. The returned logits array is reused: it is valid until the next call. Attention goes through
 * one method, {@code attendGroup}, which calls the attention kernels ({@link Attention#exact}).
 */
public final class Generation implements AutoCloseable {

    /** Tokens per prefill chunk. */
    public static final int PREFILL_CHUNK = 64;

    private final LlamaModel model;
    private final ModelConfig c;
    private final Rope rope;
    private final ForkJoinPool pool;        // may be null: run on the calling thread
    private final KvShard[] shards;         // (layers * kvHeads), index layer * kvHeads + kvHead
    private final KvShard.View[] views;     // (layers * kvHeads) live views of the shards
    private final float scale;              // 1 / sqrt(headDim)
    private int position;
    private boolean closed;

    private final float[] x;                // (dim) residual stream
    private final float[] xb;               // (dim) normalised input of a sub-layer
    private final float[] q;                // (heads, headDim)
    private final float[] k;                // (kvHeads, headDim)
    private final float[] v;                // (kvHeads, headDim)
    private final float[] att;              // (heads, headDim) attention output
    private final float[] proj;             // (dim)
    private final float[] h1;               // (hiddenDim)
    private final float[] h2;               // (hiddenDim)
    private final float[] logits;           // (vocab)
    private final float[] cos;              // (headDim / 2)
    private final float[] sin;              // (headDim / 2)
    private final float[][] groupQ;         // (kvHeads)(groupSize, headDim)
    private final Queries[] groupQueries;   // (kvHeads) views of groupQ
    private final float[][] groupOut;       // (kvHeads)(groupSize, headDim)
    private final AttentionScratch attention = new AttentionScratch();

    private float[] bx, bxb, bq, bk, bv, batt, bproj, bh1, bh2; // prefill: (PREFILL_CHUNK, width) each

    /**
     * @param model    the model; must stay open while the session is used
     * @param kvFormat how the shards store keys and values
     * @param pool     the pool for matrix products (the runtime's own), or {@code null} for the caller's thread
     */
    public Generation(LlamaModel model, KvFormat kvFormat, ForkJoinPool pool) {
        this.model = Objects.requireNonNull(model, "model");
        this.c = model.config();
        this.rope = model.rope();
        this.pool = pool;
        Objects.requireNonNull(kvFormat, "kvFormat");
        int hd = c.headDim();
        int g = c.groupSize();
        this.shards = new KvShard[c.layers() * c.kvHeads()];
        this.views = new KvShard.View[shards.length];
        for (int i = 0; i < shards.length; i++) {
            shards[i] = new KvShard(hd, kvFormat);
            views[i] = (KvShard.View) shards[i].keys(); // the live view: its size follows the shard
        }
        this.scale = (float) (1.0 / Math.sqrt(hd));
        this.x = new float[c.dim()];
        this.xb = new float[c.dim()];
        this.q = new float[c.qDim()];
        this.k = new float[c.kvDim()];
        this.v = new float[c.kvDim()];
        this.att = new float[c.qDim()];
        this.proj = new float[c.dim()];
        this.h1 = new float[c.hiddenDim()];
        this.h2 = new float[c.hiddenDim()];
        this.logits = new float[c.vocab()];
        this.cos = new float[hd / 2];
        this.sin = new float[hd / 2];
        this.groupQ = new float[c.kvHeads()][g * hd];
        this.groupOut = new float[c.kvHeads()][g * hd];
        this.groupQueries = new Queries[c.kvHeads()];
        for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
            groupQueries[kvh] = Queries.wrap(groupQ[kvh], g, hd);
        }
    }

    /**
     * @param model the model
     * @param pool  the pool for matrix products, or {@code null}
     * @return a session storing KV as F32
     */
    public static Generation create(LlamaModel model, ForkJoinPool pool) {
        return new Generation(model, KvFormat.F32, pool);
    }

    /** @return the model */
    public LlamaModel model() {
        return model;
    }

    /** @return positions written so far: the position the next token takes */
    public int position() {
        return position;
    }

    /**
     * @param layer  a layer
     * @param kvHead a KV head
     * @return that shard (owned by this session)
     */
    public KvShard shard(int layer, int kvHead) {
        Objects.checkIndex(layer, c.layers());
        Objects.checkIndex(kvHead, c.kvHeads());
        return shards[layer * c.kvHeads() + kvHead];
    }

    /**
     * Decodes one token at {@link #position()} and advances it.
     *
     * @param token a token id
     * @return the next-token logits {@code (vocab)}; reused, valid until the next call
     * @throws IndexOutOfBoundsException if the token is not in {@code [0, vocab)}
     * @throws IllegalStateException     if the context is full or the session closed
     */
    public float[] next(int token) {
        return forward(token, position);
    }

    /**
     * Decodes one token at a position, which must be {@link #position()} (the KV history is append-only).
     *
     * @param token    a token id
     * @param position its position
     * @return the next-token logits {@code (vocab)}; reused, valid until the next call
     * @throws IllegalArgumentException  if {@code position != position()}
     * @throws IndexOutOfBoundsException if the token is not in {@code [0, vocab)}
     * @throws IllegalStateException     if the context is full or the session closed
     */
    public float[] forward(int token, int position) {
        if (position != this.position) {
            throw new IllegalArgumentException("position must be the next one, " + this.position + ", was " + position);
        }
        checkRoom(1);
        model.embed(token, x, 0);
        int hd = c.headDim();
        rope.angles(position, cos, sin);
        for (int l = 0; l < c.layers(); l++) {
            LlamaModel.Layer w = model.layer(l);
            rmsNorm(x, 0, w.attnNorm(), xb, 0);
            w.wq().matvec(xb, q, pool);
            w.wk().matvec(xb, k, pool);
            w.wv().matvec(xb, v, pool);
            if (c.qkvBias()) {
                add(q, 0, w.bq());
                add(k, 0, w.bk());
                add(v, 0, w.bv());
            }
            rope.rotate(q, 0, c.heads(), cos, sin);
            rope.rotate(k, 0, c.kvHeads(), cos, sin);
            for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
                shards[l * c.kvHeads() + kvh].append(k, kvh * hd, v, kvh * hd);
            }
            attendAll(l, q, 0, position + 1, att, 0);
            w.wo().matvec(att, proj, pool);
            add(x, 0, proj, 0, c.dim());
            rmsNorm(x, 0, w.ffnNorm(), xb, 0);
            w.gate().matvec(xb, h1, pool);
            w.up().matvec(xb, h2, pool);
            swiglu(h1, 0, h2, 0, c.hiddenDim());
            w.down().matvec(h1, proj, pool);
            add(x, 0, proj, 0, c.dim());
        }
        this.position = position + 1;
        return classify(x, 0);
    }

    /**
     * Runs a prompt at positions {@code [position(), position() + tokens.length)} with batched
     * products, and advances {@link #position()} past it.
     *
     * @param tokens the prompt, at least one token
     * @return the logits after its last token {@code (vocab)}; reused, valid until the next call
     * @throws IllegalArgumentException  if the prompt is empty
     * @throws IndexOutOfBoundsException if a token is not in {@code [0, vocab)}
     * @throws IllegalStateException     if the prompt does not fit in the context or the session is closed
     */
    public float[] prefill(int[] tokens) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        checkRoom(tokens.length);
        for (int i = 0; i < tokens.length; i++) {
            Objects.checkIndex(tokens[i], c.vocab());
        }
        if (bx == null) {
            int n = PREFILL_CHUNK;
            bx = new float[n * c.dim()];
            bxb = new float[n * c.dim()];
            bq = new float[n * c.qDim()];
            bk = new float[n * c.kvDim()];
            bv = new float[n * c.kvDim()];
            batt = new float[n * c.qDim()];
            bproj = new float[n * c.dim()];
            bh1 = new float[n * c.hiddenDim()];
            bh2 = new float[n * c.hiddenDim()];
        }
        int t0 = 0;
        int last = 0;
        while (t0 < tokens.length) {
            last = Math.min(PREFILL_CHUNK, tokens.length - t0);
            prefillChunk(tokens, t0, last);
            t0 += last;
        }
        return classify(bx, (last - 1) * c.dim());
    }

    private void prefillChunk(int[] tokens, int from, int n) {
        int dim = c.dim();
        int qd = c.qDim();
        int kvd = c.kvDim();
        int hd = c.headDim();
        int hidden = c.hiddenDim();
        int start = position;
        for (int t = 0; t < n; t++) {
            model.embed(tokens[from + t], bx, t * dim);
        }
        for (int l = 0; l < c.layers(); l++) {
            LlamaModel.Layer w = model.layer(l);
            for (int t = 0; t < n; t++) {
                rmsNorm(bx, t * dim, w.attnNorm(), bxb, t * dim);
            }
            w.wq().matmul(bxb, n, bq, pool);
            w.wk().matmul(bxb, n, bk, pool);
            w.wv().matmul(bxb, n, bv, pool);
            for (int t = 0; t < n; t++) {
                if (c.qkvBias()) {
                    add(bq, t * qd, w.bq());
                    add(bk, t * kvd, w.bk());
                    add(bv, t * kvd, w.bv());
                }
                rope.angles(start + t, cos, sin);
                rope.rotate(bq, t * qd, c.heads(), cos, sin);
                rope.rotate(bk, t * kvd, c.kvHeads(), cos, sin);
                for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
                    shards[l * c.kvHeads() + kvh].append(bk, t * kvd + kvh * hd, bv, t * kvd + kvh * hd);
                }
            }
            for (int t = 0; t < n; t++) {
                attendAll(l, bq, t * qd, start + t + 1, batt, t * qd);
            }
            w.wo().matmul(batt, n, bproj, pool);
            add(bx, 0, bproj, 0, n * dim);
            for (int t = 0; t < n; t++) {
                rmsNorm(bx, t * dim, w.ffnNorm(), bxb, t * dim);
            }
            w.gate().matmul(bxb, n, bh1, pool);
            w.up().matmul(bxb, n, bh2, pool);
            swiglu(bh1, 0, bh2, 0, n * hidden);
            w.down().matmul(bh1, n, bproj, pool);
            add(bx, 0, bproj, 0, n * dim);
        }
        position = start + n;
    }

    /**
     * Prefills a prompt, then samples up to {@code maxTokens} tokens, stopping early after a token of
     * {@link LlamaModel#stopTokens()} (which is reported and counted, but not fed back).
     *
     * @param prompt    the prompt, at least one token
     * @param maxTokens most tokens to sample, {@code >= 0}
     * @param sampler   picks each token
     * @param onToken   receives each sampled token as it comes
     * @return the sampled tokens
     * @throws IllegalArgumentException if the prompt is empty or {@code maxTokens < 0}
     * @throws IllegalStateException    if the context fills up
     */
    public int[] generate(int[] prompt, int maxTokens, Sampler sampler, IntConsumer onToken) {
        if (maxTokens < 0) {
            throw new IllegalArgumentException("maxTokens must be >= 0, was " + maxTokens);
        }
        int[] stop = model.stopTokens();
        int[] out = new int[maxTokens];
        float[] l = prefill(prompt);
        int n = 0;
        while (n < maxTokens) {
            int token = sampler.sample(l);
            out[n++] = token;
            onToken.accept(token);
            if (contains(stop, token) || n == maxTokens || position == c.contextLength()) {
                break;
            }
            l = next(token);
        }
        return Arrays.copyOf(out, n);
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    private void checkRoom(int tokens) {
        if (closed) {
            throw new IllegalStateException("the session is closed");
        }
        if (tokens > c.contextLength() - position) {
            throw new IllegalStateException("context full: " + position + " of " + c.contextLength()
                    + " positions used, " + tokens + " more requested");
        }
    }

    /** Attention of every query head of one position: queries {@code (heads, headDim)} at {@code qOff}. */
    private void attendAll(int layer, float[] qs, int qOff, int n, float[] out, int outOff) {
        int span = c.groupSize() * c.headDim();
        for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
            System.arraycopy(qs, qOff + kvh * span, groupQ[kvh], 0, span);
            attendGroup(views[layer * c.kvHeads() + kvh], n, groupQueries[kvh], scale, groupOut[kvh]);
            System.arraycopy(groupOut[kvh], 0, out, outOff + kvh * span, span);
        }
    }

    /**
     * Exact attention of one GQA group over positions {@code [0, n)} of a shard: for each query head
     * {@code h}, {@code out[h] = Σ_t softmax_t(scale · q_h·k_t) v_t}.
     *
     * @param kv      the shard's keys and values
     * @param n       positions attended
     * @param queries {@code (groupSize, headDim)}
     * @param scale   score scale, {@code 1 / sqrt(headDim)}
     * @param out     receives {@code (groupSize, headDim)}
     */
    private void attendGroup(KvShard.View kv, int n, Queries queries, float scale, float[] out) {
        Attention.exact(kv, n, queries, scale, out, attention);
    }

    private float[] classify(float[] src, int off) {
        rmsNorm(src, off, model.finalNorm(), xb, 0);
        model.output().matvec(xb, logits, pool);
        return logits;
    }

    private void rmsNorm(float[] in, int inOff, float[] weight, float[] out, int outOff) {
        int n = weight.length;
        double ss = 0;
        for (int i = 0; i < n; i++) {
            float a = in[inOff + i];
            ss += a * a;
        }
        float r = (float) (1.0 / Math.sqrt(ss / n + c.rmsEps()));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = weight[i] * (r * in[inOff + i]);
        }
    }

    private static void add(float[] dst, int off, float[] src) {
        add(dst, off, src, 0, src.length);
    }

    private static void add(float[] dst, int dstOff, float[] src, int srcOff, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOff + i] += src[srcOff + i];
        }
    }

    /** {@code gate[i] = silu(gate[i]) * up[i]}. */
    private static void swiglu(float[] gate, int gOff, float[] up, int uOff, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + (float) Math.exp(-g)) * up[uOff + i];
        }
    }

    /** Frees the KV history. Idempotent. */
    @Override
    public void close() {
        closed = true;
        for (KvShard s : shards) {
            s.close();
        }
    }
}

package io.clusterkv.runtime.model;

import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * The weight side of a Llama forward pass, cut at attention: everything of one token (or one prefill
 * chunk) except attending to the KV history, which belongs to whoever owns the history (a
 * {@link Generation} on one thread, or the shard actors of a runtime session).
 *
 * <p>A decode step is {@link #begin}, then for each layer {@link #attentionInputs} (after which
 * {@link #q()}, {@link #k()} and {@link #v()} hold the layer's rotated queries, keys and values), the
 * caller's attention writing {@link #att()}, and {@link #finishLayer}; then {@link #logits()}. A prefill
 * chunk of up to {@link ForwardPass#PREFILL_CHUNK} tokens is the same with the {@code chunk} methods and
 * row-major {@code (n, width)} buffers.
 *
 * <p>Design notes. Every buffer is allocated up front (the chunk buffers on the first chunk), so decoding
 * allocates nothing per token. Products run on the pool given at construction (the runtime's own), or
 * on the calling thread when it is {@code null}. An instance is confined to one thread at a time; the
 * arrays it returns are its own and reused.
 */
public final class ForwardPass {

    /** Most tokens of one prefill chunk (the batched products' panel height). */
    public static final int PREFILL_CHUNK = 64;

    private final LlamaModel model;
    private final ModelConfig c;
    private final Rope rope;
    private final ForkJoinPool pool;

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

    private float[] bx, bxb, bq, bk, bv, batt, bproj, bh1, bh2; // prefill: (PREFILL_CHUNK, width) each
    private int chunkStart;
    private int chunkSize;

    /**
     * @param model the model; must stay open while this is used
     * @param pool  the pool for matrix products (the runtime's own), or {@code null} for the caller's thread
     */
    public ForwardPass(LlamaModel model, ForkJoinPool pool) {
        this.model = Objects.requireNonNull(model, "model");
        this.c = model.config();
        this.rope = model.rope();
        this.pool = pool;
        int hd = c.headDim();
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
    }

    /** @return the model */
    public LlamaModel model() {
        return model;
    }

    // ---- one token ----

    /**
     * Starts a decode step: embeds the token and computes the RoPE angles of its position.
     *
     * @param token    a token id in {@code [0, vocab)}
     * @param position its position
     */
    public void begin(int token, int position) {
        model.embed(token, x, 0);
        rope.angles(position, cos, sin);
    }

    /**
     * The layer's attention inputs: RMSNorm, the Q/K/V projections (and biases), RoPE. Afterwards
     * {@link #q()}, {@link #k()} and {@link #v()} hold them.
     *
     * @param layer a layer
     */
    public void attentionInputs(int layer) {
        LlamaModel.Layer w = model.layer(layer);
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
    }

    /**
     * Finishes a layer from {@link #att()}: output projection, residual, RMSNorm, SwiGLU feed-forward,
     * residual.
     *
     * @param layer the layer of the last {@link #attentionInputs}
     */
    public void finishLayer(int layer) {
        LlamaModel.Layer w = model.layer(layer);
        w.wo().matvec(att, proj, pool);
        add(x, 0, proj, 0, c.dim());
        rmsNorm(x, 0, w.ffnNorm(), xb, 0);
        w.gate().matvec(xb, h1, pool);
        w.up().matvec(xb, h2, pool);
        swiglu(h1, 0, h2, 0, c.hiddenDim());
        w.down().matvec(h1, proj, pool);
        add(x, 0, proj, 0, c.dim());
    }

    /** @return the next-token logits {@code (vocab)} after the last layer; reused */
    public float[] logits() {
        return classify(x, 0);
    }

    /** @return the layer's rotated queries {@code (heads, headDim)}; reused */
    public float[] q() {
        return q;
    }

    /** @return the layer's rotated keys {@code (kvHeads, headDim)}; reused */
    public float[] k() {
        return k;
    }

    /** @return the layer's values {@code (kvHeads, headDim)}; reused */
    public float[] v() {
        return v;
    }

    /** @return where the caller writes the layer's attention output {@code (heads, headDim)} */
    public float[] att() {
        return att;
    }

    // ---- one prefill chunk ----

    /**
     * Starts a prefill chunk: embeds {@code tokens[from, from + n)}, which take positions
     * {@code [start, start + n)}.
     *
     * @param tokens the prompt
     * @param from   first token of the chunk
     * @param n      tokens in the chunk, {@code 1..PREFILL_CHUNK}
     * @param start  the position of the first
     */
    public void beginChunk(int[] tokens, int from, int n, int start) {
        if (n < 1 || n > ForwardPass.PREFILL_CHUNK) {
            throw new IllegalArgumentException("a chunk has 1.." + ForwardPass.PREFILL_CHUNK + " tokens, was " + n);
        }
        if (bx == null) {
            int m = ForwardPass.PREFILL_CHUNK;
            bx = new float[m * c.dim()];
            bxb = new float[m * c.dim()];
            bq = new float[m * c.qDim()];
            bk = new float[m * c.kvDim()];
            bv = new float[m * c.kvDim()];
            batt = new float[m * c.qDim()];
            bproj = new float[m * c.dim()];
            bh1 = new float[m * c.hiddenDim()];
            bh2 = new float[m * c.hiddenDim()];
        }
        chunkStart = start;
        chunkSize = n;
        for (int t = 0; t < n; t++) {
            model.embed(tokens[from + t], bx, t * c.dim());
        }
    }

    /**
     * The chunk's attention inputs at one layer; afterwards {@link #chunkQ()}, {@link #chunkK()} and
     * {@link #chunkV()} hold them, row {@code t} for position {@code start + t}.
     *
     * @param layer a layer
     */
    public void chunkAttentionInputs(int layer) {
        int n = chunkSize;
        int dim = c.dim();
        int qd = c.qDim();
        int kvd = c.kvDim();
        LlamaModel.Layer w = model.layer(layer);
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
            rope.angles(chunkStart + t, cos, sin);
            rope.rotate(bq, t * qd, c.heads(), cos, sin);
            rope.rotate(bk, t * kvd, c.kvHeads(), cos, sin);
        }
    }

    /**
     * Finishes the chunk's layer from {@link #chunkAtt()}.
     *
     * @param layer the layer of the last {@link #chunkAttentionInputs}
     */
    public void finishChunkLayer(int layer) {
        int n = chunkSize;
        int dim = c.dim();
        LlamaModel.Layer w = model.layer(layer);
        w.wo().matmul(batt, n, bproj, pool);
        add(bx, 0, bproj, 0, n * dim);
        for (int t = 0; t < n; t++) {
            rmsNorm(bx, t * dim, w.ffnNorm(), bxb, t * dim);
        }
        w.gate().matmul(bxb, n, bh1, pool);
        w.up().matmul(bxb, n, bh2, pool);
        chunkSwiglu(n * c.hiddenDim());
        w.down().matmul(bh1, n, bproj, pool);
        add(bx, 0, bproj, 0, n * dim);
    }

    /** @return the logits after the chunk's last token {@code (vocab)}; reused */
    public float[] chunkLogits() {
        return classify(bx, (chunkSize - 1) * c.dim());
    }

    /** @return the chunk's queries {@code (n, heads * headDim)}; reused */
    public float[] chunkQ() {
        return bq;
    }

    /** @return the chunk's keys {@code (n, kvHeads * headDim)}; reused */
    public float[] chunkK() {
        return bk;
    }

    /** @return the chunk's values {@code (n, kvHeads * headDim)}; reused */
    public float[] chunkV() {
        return bv;
    }

    /** @return where the caller writes the chunk's attention outputs {@code (n, heads * headDim)} */
    public float[] chunkAtt() {
        return batt;
    }

    /** @return tokens in the current chunk */
    public int chunkSize() {
        return chunkSize;
    }

    /** @return the position of the current chunk's first token */
    public int chunkStart() {
        return chunkStart;
    }

    // ---- kernels ----

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

    /**
     * {@link #swiglu} of the chunk's hidden activations, split over the pool: one exponential per
     * element, too much work to leave to one thread while the other cores wait.
     */
    private void chunkSwiglu(int n) {
        int par = pool == null ? 1 : pool.getParallelism();
        if (par <= 1 || n < SWIGLU_GRAIN) {
            swiglu(bh1, 0, bh2, 0, n);
            return;
        }
        pool.invoke(new SwigluTask(bh1, bh2, 0, n, Math.max(SWIGLU_GRAIN, (n + par - 1) / par)));
    }

    /** Elements below which a chunk's swiglu stays on the calling thread. */
    private static final int SWIGLU_GRAIN = 1 << 14;

    private static final class SwigluTask extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final transient float[] gate;
        private final transient float[] up;
        private final int lo;
        private final int hi;
        private final int grain;

        SwigluTask(float[] gate, float[] up, int lo, int hi, int grain) {
            this.gate = gate;
            this.up = up;
            this.lo = lo;
            this.hi = hi;
            this.grain = grain;
        }

        @Override
        protected void compute() {
            if (hi - lo <= grain) {
                swiglu(gate, lo, up, lo, hi - lo);
                return;
            }
            int mid = lo + (hi - lo) / 2;
            invokeAll(new SwigluTask(gate, up, lo, mid, grain), new SwigluTask(gate, up, mid, hi, grain));
        }
    }

    /** {@code gate[i] = silu(gate[i]) * up[i]}. */
    private static void swiglu(float[] gate, int gOff, float[] up, int uOff, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[gOff + i];
            gate[gOff + i] = g / (1f + (float) Math.exp(-g)) * up[uOff + i];
        }
    }
}

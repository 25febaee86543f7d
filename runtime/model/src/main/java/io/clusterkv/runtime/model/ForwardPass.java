package io.clusterkv.runtime.model;

import io.clusterkv.runtime.tensor.ComputePool;
import io.clusterkv.runtime.tensor.SoftCap;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * The forward pass of a Llama model, cut at attention: everything of one token (or one prompt) except
 * attending to the KV history, which belongs to whoever owns the history (the reference decoder on one
 * thread, or the shard actors of a runtime session). Both follow the same cursor, so the order of the
 * layers and of a prompt's chunks is decided here and only here.
 *
 * <p>A decode step is {@link #begin}, after which {@link #q()}, {@link #k()} and {@link #v()} hold the
 * rotated queries, keys and values of layer {@link #layer()}; the caller attends, writing {@link #att()},
 * and calls {@link #nextLayer()}, until it returns {@code false}; then {@link #logits()}. A prompt is
 * the same with {@link #beginPrompt} and {@link #nextPromptLayer()} over chunks of up to
 * {@link ForwardPass#PREFILL_CHUNK} tokens, the {@code chunk} buffers row-major {@code (n, width)},
 * row {@code t} for position {@link #chunkStart()} {@code + t}.
 *
 * <p>Design notes. Every buffer is allocated up front (the chunk buffers on the first chunk, as many rows
 * as it needs, grown by a later prompt's longer chunk), so decoding
 * allocates nothing per token. Products run on the pool given at construction (the runtime's own), or
 * on the calling thread when it is {@code null}. On a {@link ComputePool} with a spinning team, a decode
 * step's phases ({@link #begin}, {@link #nextLayer}, {@link #logits}) run on the calling thread and
 * each product on the team, the caller taking part; on any other pool a decode step hands the pool one
 * task per phase, inside which the products fork from a worker: on a small model a hand-off costs as
 * much as a product. An instance is confined to one thread at a
 * time; the arrays it returns are its own and reused.
 */
public final class ForwardPass {

    /** Most tokens of one prefill chunk (the batched products' panel height). */
    public static final int PREFILL_CHUNK = 64;

    private final LlamaModel model;
    private final ModelConfig c;
    private final Rope rope;
    private final ModelConfig.Activation activation;
    private final float finalSoftcap;       // Gemma 2's cap on the logits, 0 for none
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
    private final Rope slidingRope;         // of the sliding-window layers: rope itself for most models
    private final float[] slidingCos;       // (headDim / 2) of sliding-window layers with their own RoPE, else cos
    private final float[] slidingSin;       // (headDim / 2)
    private final DecodeTask decodeTask = new DecodeTask();

    private float[] bx, bxb, bq, bk, bv, batt, bproj, bh1, bh2; // prefill: (chunkRows, width) each
    private int chunkRows;                  // rows the chunk buffers hold, up to PREFILL_CHUNK
    private int layer;                      // the layer whose attention inputs are ready
    private int stepPosition;               // the position of the token of the decode step
    private int[] prompt;                   // the prompt being fed, or null
    private int promptFrom;                 // its first token in the current chunk
    private int chunkStart;                 // the position of that token
    private int chunkSize;

    /**
     * @param model the model; must stay open while this is used
     * @param pool  the pool for matrix products (the runtime's own), or {@code null} for the caller's thread
     */
    public ForwardPass(LlamaModel model, ForkJoinPool pool) {
        this.model = Objects.requireNonNull(model, "model");
        this.c = model.config();
        this.rope = model.rope();
        this.activation = c.variant().activation();
        this.finalSoftcap = (float) c.variant().finalSoftcap();
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
        this.slidingRope = model.slidingRope();
        this.slidingCos = slidingRope != rope ? new float[hd / 2] : cos;
        this.slidingSin = slidingRope != rope ? new float[hd / 2] : sin;
    }

    /** @return the model */
    public LlamaModel model() {
        return model;
    }

    /** @return the layer whose attention inputs are ready and whose attention output is due */
    public int layer() {
        return layer;
    }

    // ---- one token ----

    /**
     * Starts a decode step: embeds the token, computes the RoPE angles of its position and the attention
     * inputs of layer 0.
     *
     * @param token    a token id in {@code [0, vocab)}
     * @param position its position
     */
    public void begin(int token, int position) {
        stepPosition = position;
        model.embed(token, x, 0);
        rope.angles(position, cos, sin);
        if (slidingCos != cos) {
            slidingRope.angles(position, slidingCos, slidingSin);
        }
        layer = 0;
        onPool(Phase.ATTENTION_INPUTS);
    }

    /**
     * The caller has written the attention output of {@link #layer()} to {@link #att()}: finishes the
     * layer and computes the next layer's attention inputs.
     *
     * @return {@code true} if another layer follows; {@code false} after the last, when {@link #logits()}
     *         are ready
     */
    public boolean nextLayer() {
        onPool(Phase.NEXT_LAYER);
        return layer < c.layers();
    }

    /**
     * The layer's attention inputs: RMSNorm, the Q/K/V projections (and biases, and per-head Q/K norms), RoPE. Afterwards
     * {@link #q()}, {@link #k()} and {@link #v()} hold them.
     *
     * @param layer a layer
     */
    private void attentionInputs(int layer) {
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
        if (c.qkNorm()) {
            headNorms(q, 0, c.heads(), w.qNorm());
            headNorms(k, 0, c.kvHeads(), w.kNorm());
        }
        boolean sliding = c.windowOf(layer) > 0;
        float[] lc = sliding ? slidingCos : cos;
        float[] ls = sliding ? slidingSin : sin;
        rope.rotate(q, 0, c.heads(), lc, ls);
        rope.rotate(k, 0, c.kvHeads(), lc, ls);
    }

    /**
     * Finishes a layer from {@link #att()}: output projection, residual, RMSNorm, SwiGLU feed-forward,
     * residual.
     *
     * @param layer the layer of the last {@link #attentionInputs}
     */
    private void finishLayer(int layer) {
        LlamaModel.Layer w = model.layer(layer);
        w.wo().matvec(att, proj, pool);
        if (w.postAttnNorm() != null) {
            rmsNorm(proj, 0, w.postAttnNorm(), proj, 0);
        }
        add(x, 0, proj, 0, c.dim());
        rmsNorm(x, 0, w.ffnNorm(), xb, 0);
        w.gate().matvec(xb, h1, pool);
        w.up().matvec(xb, h2, pool);
        glu(activation, h1, 0, h2, 0, c.hiddenDim());
        w.down().matvec(h1, proj, pool);
        if (w.postFfnNorm() != null) {
            rmsNorm(proj, 0, w.postFfnNorm(), proj, 0);
        }
        add(x, 0, proj, 0, c.dim());
        checkFinite(x, c.dim(), layer, stepPosition);
    }

    /** @return the next-token logits {@code (vocab)} after the last layer; reused */
    public float[] logits() {
        onPool(Phase.LOGITS);
        return logits;
    }

    // ---- a decode step's phases, each one task on the pool ----

    /** What {@link #onPool} runs: the products and the small kernels between two hand-offs. */
    private enum Phase {
        /** {@link #attentionInputs} of {@link #layer} */
        ATTENTION_INPUTS,
        /** {@link #finishLayer} of {@link #layer}, then the next layer's attention inputs if there is one */
        NEXT_LAYER,
        /** the logits of {@link #x} */
        LOGITS
    }

    /**
     * Runs a phase of a decode step as one task on the pool, so that the caller hands the pool one task
     * per phase instead of one per product, and the products inside it fork from a worker (no wake-up of
     * the caller in between). On the caller's thread without a pool, when it is already the pool's, or
     * when the pool's spinning team takes the products (the caller works beside the team).
     */
    private void onPool(Phase phase) {
        if (pool == null || pool.getParallelism() <= 1 || ForkJoinTask.getPool() == pool
                || pool instanceof ComputePool cp && cp.hasTeam()) {
            run(phase);
            return;
        }
        decodeTask.phase = phase;
        decodeTask.reinitialize();
        if (ForkJoinTask.inForkJoinPool()) {
            // a worker of another pool (an actor dispatcher's): that pool may run a spare while this waits
            try {
                ForkJoinPool.managedBlock(decodeTask);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the pool", e);
            }
        } else {
            pool.invoke(decodeTask);
        }
    }

    private void run(Phase phase) {
        switch (phase) {
            case ATTENTION_INPUTS -> attentionInputs(layer);
            case NEXT_LAYER -> {
                finishLayer(layer);
                if (++layer < c.layers()) {
                    attentionInputs(layer);
                }
            }
            case LOGITS -> classify(x, 0);
        }
    }

    /** The one task of {@link #onPool}, reused for every phase (this instance is confined to one thread). */
    private final class DecodeTask extends RecursiveAction implements ForkJoinPool.ManagedBlocker {
        private static final long serialVersionUID = 1L;
        private transient Phase phase;

        @Override
        protected void compute() {
            run(phase);
        }

        @Override
        public boolean block() {
            pool.invoke(this);
            return true;
        }

        @Override
        public boolean isReleasable() {
            return isDone();
        }
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

    // ---- a prompt, chunk by chunk ----

    /** Where a prompt stands after {@link #nextPromptLayer()}. */
    public enum PromptProgress {
        /** the next layer of the same chunk is ready */
        NEXT_LAYER,
        /** the chunk is done; layer 0 of the next chunk is ready */
        NEXT_CHUNK,
        /** the last chunk is done: {@link #chunkLogits()} are ready */
        DONE
    }

    /**
     * Checks that a prompt can run at {@code position}: what every decoder checks before
     * {@link #beginPrompt}.
     *
     * @param tokens   the prompt
     * @param position the position of its first token
     * @param extra    positions needed after the prompt (a scored continuation's), {@code >= 0}
     * @throws IllegalArgumentException  if the prompt is empty
     * @throws IndexOutOfBoundsException if a token is not in {@code [0, vocab)}, naming it
     * @throws IllegalStateException     if the prompt and {@code extra} do not fit in the context
     */
    public void checkPrompt(int[] tokens, int position, int extra) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        for (int t : tokens) {
            if (t < 0 || t >= c.vocab()) {
                throw new IndexOutOfBoundsException("prompt token " + t + " is not in [0, " + c.vocab() + ")");
            }
        }
        checkRoom(position, (long) tokens.length + extra);
    }

    /**
     * Checks that {@code tokens} more positions fit in the context after {@code position}.
     *
     * @param position positions already used
     * @param tokens   positions requested
     * @throws IllegalStateException if they do not fit, with both counts
     */
    public void checkRoom(int position, long tokens) {
        if (tokens > c.contextLength() - position) {
            throw new IllegalStateException("context full: " + position + " of " + c.contextLength()
                    + " positions used, " + tokens + " more requested");
        }
    }

    /**
     * Starts a prompt at positions {@code [start, start + tokens.length)}: its first chunk of up to
     * {@link #PREFILL_CHUNK} tokens is embedded and the chunk's attention inputs of layer 0 computed.
     *
     * @param tokens the prompt, at least one token, each in {@code [0, vocab)}; read until {@link PromptProgress#DONE}
     * @param start  the position of its first token
     * @throws IllegalArgumentException if the prompt is empty
     */
    public void beginPrompt(int[] tokens, int start) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        prompt = tokens;
        promptFrom = 0;
        chunkStart = start;
        beginChunk();
    }

    /**
     * The caller has written the chunk's attention outputs of {@link #layer()} to {@link #chunkAtt()}:
     * finishes the layer, then computes the next layer's inputs or, after the last layer, starts the
     * next chunk.
     *
     * @return what is ready now
     */
    public PromptProgress nextPromptLayer() {
        finishChunkLayer(layer);
        if (++layer < c.layers()) {
            chunkAttentionInputs(layer);
            return PromptProgress.NEXT_LAYER;
        }
        if (lastChunk()) {
            prompt = null;
            return PromptProgress.DONE;
        }
        promptFrom += chunkSize;
        chunkStart += chunkSize;
        beginChunk();
        return PromptProgress.NEXT_CHUNK;
    }

    /** @return whether the current chunk is the prompt's last; valid until {@link PromptProgress#DONE} */
    public boolean lastChunk() {
        return promptFrom + chunkSize == prompt.length;
    }

    /** Embeds the chunk at {@code promptFrom} and computes its layer 0 attention inputs. */
    private void beginChunk() {
        int n = Math.min(PREFILL_CHUNK, prompt.length - promptFrom);
        if (chunkRows < n) {
            // as many rows as the chunk needs (a one-token prompt does not pay for 64), kept for later prompts
            int m = n;
            chunkRows = m;
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
        chunkSize = n;
        for (int t = 0; t < n; t++) {
            model.embed(prompt[promptFrom + t], bx, t * c.dim());
        }
        layer = 0;
        chunkAttentionInputs(0);
    }

    /**
     * The chunk's attention inputs at one layer; afterwards {@link #chunkQ()}, {@link #chunkK()} and
     * {@link #chunkV()} hold them, row {@code t} for position {@code chunkStart + t}.
     *
     * @param layer a layer
     */
    private void chunkAttentionInputs(int layer) {
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
            if (c.qkNorm()) {
                headNorms(bq, t * qd, c.heads(), w.qNorm());
                headNorms(bk, t * kvd, c.kvHeads(), w.kNorm());
            }
            Rope r = model.rope(layer);
            r.angles(chunkStart + t, cos, sin);
            r.rotate(bq, t * qd, c.heads(), cos, sin);
            r.rotate(bk, t * kvd, c.kvHeads(), cos, sin);
        }
    }

    /**
     * Finishes the chunk's layer from {@link #chunkAtt()}.
     *
     * @param layer the layer of the last {@link #chunkAttentionInputs}
     */
    private void finishChunkLayer(int layer) {
        int n = chunkSize;
        int dim = c.dim();
        LlamaModel.Layer w = model.layer(layer);
        w.wo().matmul(batt, n, bproj, pool);
        if (w.postAttnNorm() != null) {
            for (int t = 0; t < n; t++) {
                rmsNorm(bproj, t * dim, w.postAttnNorm(), bproj, t * dim);
            }
        }
        add(bx, 0, bproj, 0, n * dim);
        for (int t = 0; t < n; t++) {
            rmsNorm(bx, t * dim, w.ffnNorm(), bxb, t * dim);
        }
        w.gate().matmul(bxb, n, bh1, pool);
        w.up().matmul(bxb, n, bh2, pool);
        chunkSwiglu(n * c.hiddenDim());
        w.down().matmul(bh1, n, bproj, pool);
        if (w.postFfnNorm() != null) {
            for (int t = 0; t < n; t++) {
                rmsNorm(bproj, t * dim, w.postFfnNorm(), bproj, t * dim);
            }
        }
        add(bx, 0, bproj, 0, n * dim);
        checkFinite(bx, n * dim, layer, chunkStart);
    }

    /**
     * Stops on a NaN or an infinity in a layer's output: their sum is finite exactly when every value is
     * (an overflow of the sum of finite values aside, which no usable hidden state comes near).
     */
    private void checkFinite(float[] a, int n, int layer, int position) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += a[i];
        }
        if (!Double.isFinite(sum)) {
            throw new NonFiniteValueException(model.source(), layer, position);
        }
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
        if (finalSoftcap > 0) { // Gemma 2
            SoftCap.apply(logits, 0, logits.length, finalSoftcap);
        }
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

    /** RMSNorm of each of {@code heads} heads of {@code headDim} channels at {@code off}, in place (Qwen3). */
    private void headNorms(float[] a, int off, int heads, float[] weight) {
        for (int h = 0, hd = c.headDim(); h < heads; h++) {
            rmsNorm(a, off + h * hd, weight, a, off + h * hd);
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
            glu(activation, bh1, 0, bh2, 0, n);
            return;
        }
        pool.invoke(new SwigluTask(activation, bh1, bh2, 0, n, Math.max(SWIGLU_GRAIN, (n + par - 1) / par)));
    }

    /** Elements below which a chunk's swiglu stays on the calling thread. */
    private static final int SWIGLU_GRAIN = 1 << 14;

    private static final class SwigluTask extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final ModelConfig.Activation activation;
        private final transient float[] gate;
        private final transient float[] up;
        private final int lo;
        private final int hi;
        private final int grain;

        SwigluTask(ModelConfig.Activation activation, float[] gate, float[] up, int lo, int hi, int grain) {
            this.activation = activation;
            this.gate = gate;
            this.up = up;
            this.lo = lo;
            this.hi = hi;
            this.grain = grain;
        }

        @Override
        protected void compute() {
            if (hi - lo <= grain) {
                glu(activation, gate, lo, up, lo, hi - lo);
                return;
            }
            int mid = lo + (hi - lo) / 2;
            invokeAll(new SwigluTask(activation, gate, up, lo, mid, grain),
                    new SwigluTask(activation, gate, up, mid, hi, grain));
        }
    }

    /** {@code gate[i] = act(gate[i]) * up[i]}: SwiGLU or GeGLU. */
    private static void glu(ModelConfig.Activation act, float[] gate, int gOff, float[] up, int uOff, int n) {
        switch (act) {
            case SILU -> {
                for (int i = 0; i < n; i++) {
                    float g = gate[gOff + i];
                    gate[gOff + i] = g / (1f + (float) Math.exp(-g)) * up[uOff + i];
                }
            }
            case GELU_TANH -> {
                for (int i = 0; i < n; i++) {
                    float g = gate[gOff + i];
                    float t = (float) Math.tanh(GELU_C * (g + 0.044715f * g * g * g));
                    gate[gOff + i] = 0.5f * g * (1f + t) * up[uOff + i];
                }
            }
        }
    }

    /** {@code sqrt(2 / pi)} of GELU's tanh approximation. */
    private static final float GELU_C = (float) Math.sqrt(2 / Math.PI);
}

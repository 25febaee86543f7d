package io.clusterkv.runtime.decode;

import io.clusterkv.runtime.model.ForwardPass;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.Sampler;
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
 * prompt in chunks of up to {@value ForwardPass#PREFILL_CHUNK} tokens with matrix-matrix products, position
 * {@code p} attending {@code [0, p]}.
 *
 * <p>Design notes. All buffers are allocated when the session is created (prefill's on its first
 * call), so decoding allocates nothing per token. Products run on the pool given at construction (the
 * runtime's own, sized to the cores; never the common pool). A session is confined to one thread at a
 * time. The returned logits array is reused: it is valid until the next call. The weight side of the
 * pass is a {@link ForwardPass}; this class adds the KV history and exact attention
 * ({@link Attention#exact}), and lets an {@link AttentionObserver} watch each shard's queries and keys.
 */
public final class ReferenceDecoder implements AutoCloseable {

    private final LlamaModel model;
    private final ModelConfig c;
    private final ForwardPass pass;
    private final KvShard[] shards;         // (layers * kvHeads), index layer * kvHeads + kvHead
    private final KvShard.View[] views;     // (layers * kvHeads) live views of the shards
    private final float scale;              // 1 / sqrt(headDim)
    private int position;
    private boolean closed;
    private AttentionObserver observer;     // may be null

    private final float[][] groupQ;         // (kvHeads)(groupSize, headDim)
    private final Queries[] groupQueries;   // (kvHeads) views of groupQ
    private final float[][] groupOut;       // (kvHeads)(groupSize, headDim)
    private final AttentionScratch attention = new AttentionScratch();

    /**
     * @param model    the model; must stay open while the session is used
     * @param kvFormat how the shards store keys and values
     * @param pool     the pool for matrix products (the runtime's own), or {@code null} for the caller's thread
     */
    public ReferenceDecoder(LlamaModel model, KvFormat kvFormat, ForkJoinPool pool) {
        this.model = Objects.requireNonNull(model, "model");
        this.c = model.config();
        this.pass = new ForwardPass(model, pool);
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
    public static ReferenceDecoder create(LlamaModel model, ForkJoinPool pool) {
        return new ReferenceDecoder(model, KvFormat.F32, pool);
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
     * Lets an observer see every shard's queries and keys (the arena's replay mode).
     *
     * @param observer the observer, or {@code null} for none
     */
    public void observe(AttentionObserver observer) {
        this.observer = observer;
    }

    /**
     * Places positions in every shard without running the model (benchmarks at long contexts), and
     * advances {@link #position()} past them.
     *
     * @param fill the keys and values
     * @throws IllegalStateException if they do not fit in the context, the session is closed, or the fill
     *                               did not append exactly {@code fill.positions()} to a shard
     */
    public void fill(HistoryFill fill) {
        int n = fill.positions();
        checkRoom(n);
        for (int l = 0; l < c.layers(); l++) {
            for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
                KvShard s = shards[l * c.kvHeads() + kvh];
                int before = s.size();
                fill.fill(l, kvh, s);
                if (s.size() != before + n) {
                    throw new IllegalStateException("the history fill appended " + (s.size() - before)
                            + " positions to shard (" + l + ", " + kvh + "), not " + n);
                }
            }
        }
        position += n;
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
        Objects.checkIndex(token, c.vocab());
        int hd = c.headDim();
        pass.begin(token, position);
        for (int l = 0; l < c.layers(); l++) {
            pass.attentionInputs(l);
            float[] k = pass.k();
            float[] v = pass.v();
            for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
                shards[l * c.kvHeads() + kvh].append(k, kvh * hd, v, kvh * hd);
            }
            attendAll(l, pass.q(), 0, position + 1, pass.att(), 0, observer);
            pass.finishLayer(l);
        }
        this.position = position + 1;
        return pass.logits();
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
        int t0 = 0;
        while (t0 < tokens.length) {
            int n = Math.min(ForwardPass.PREFILL_CHUNK, tokens.length - t0);
            prefillChunk(tokens, t0, n);
            t0 += n;
        }
        if (observer != null) {
            for (int l = 0; l < c.layers(); l++) {
                for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
                    observer.onPrefill(l, kvh, views[l * c.kvHeads() + kvh]);
                }
            }
        }
        return pass.chunkLogits();
    }

    private void prefillChunk(int[] tokens, int from, int n) {
        int qd = c.qDim();
        int kvd = c.kvDim();
        int hd = c.headDim();
        int start = position;
        pass.beginChunk(tokens, from, n, start);
        for (int l = 0; l < c.layers(); l++) {
            pass.chunkAttentionInputs(l);
            float[] bk = pass.chunkK();
            float[] bv = pass.chunkV();
            for (int t = 0; t < n; t++) {
                for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
                    shards[l * c.kvHeads() + kvh].append(bk, t * kvd + kvh * hd, bv, t * kvd + kvh * hd);
                }
            }
            float[] bq = pass.chunkQ();
            float[] batt = pass.chunkAtt();
            for (int t = 0; t < n; t++) {
                attendAll(l, bq, t * qd, start + t + 1, batt, t * qd, null);
            }
            pass.finishChunkLayer(l);
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
    private void attendAll(int layer, float[] qs, int qOff, int n, float[] out, int outOff, AttentionObserver obs) {
        int span = c.groupSize() * c.headDim();
        for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
            System.arraycopy(qs, qOff + kvh * span, groupQ[kvh], 0, span);
            KvShard.View kv = views[layer * c.kvHeads() + kvh];
            if (obs != null) {
                obs.onDecode(layer, kvh, n - 1, groupQueries[kvh], kv);
            }
            Attention.exact(kv, n, groupQueries[kvh], scale, groupOut[kvh], attention);
            System.arraycopy(groupOut[kvh], 0, out, outOff + kvh * span, span);
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

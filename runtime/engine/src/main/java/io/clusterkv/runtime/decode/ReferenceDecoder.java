package io.clusterkv.runtime.decode;

import io.clusterkv.runtime.model.ForwardPass;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.function.IntConsumer;

/**
 * The reference decoder: one sequence over a {@link LlamaModel} on the calling thread, with exact
 * attention and no policy. The runtime's actors are checked against it, and the arena's replay watches
 * it. It holds the KV history, one {@link KvShard} per (layer, kvHead).
 *
 * <p>The forward pass: embed, then per layer RMSNorm, Q/K/V projections (plus biases for qwen2), RoPE,
 * K and V appended to the layer's shards, attention per GQA group, output projection and residual,
 * RMSNorm, SwiGLU feed-forward ({@code down(silu(gate·x) * up·x)}) and residual; then the final norm and
 * the classifier. {@link #next} decodes one token with matrix-vector products; {@link #prefill} runs a
 * prompt in chunks of up to {@value ForwardPass#PREFILL_CHUNK} tokens with matrix-matrix products, position
 * {@code p} attending {@code [0, p]}, each chunk's attention one causal block per shard (the KV heads in
 * parallel on the pool), as the session actors prefill.
 *
 * <p>Design notes. Everything but attention is the {@link ForwardPass}, whose cursor the runtime's
 * session actor follows too; each shard's attention is a {@link GroupAttention}, as in a shard actor;
 * sampling and its stopping rule are {@link GeneratedTokens}. So the two decoders differ only in who
 * attends: here each shard in turn on this thread, there the shard actors. All buffers are allocated
 * when the decoder is created (prefill's on its first call), so decoding allocates nothing per token.
 * Products run on the pool given at construction (the runtime's own, sized to the cores; never the
 * common pool). A decoder is confined to one thread at a time. The returned logits array is reused: it
 * is valid until the next call. An {@link AttentionObserver} may watch each shard's queries and keys.
 */
public final class ReferenceDecoder implements AutoCloseable {

    private final LlamaModel model;
    private final ModelConfig c;
    private final ForwardPass pass;
    private final KvShard[] shards;         // (layers * kvHeads), index layer * kvHeads + kvHead
    private final KvShard.View[] views;     // (layers * kvHeads) live views of the shards
    private final GroupAttention[] groups;  // (kvHeads) each KV head's share of a layer's attention
    private final ForkJoinPool pool;        // may be null: the calling thread
    private int position;
    private boolean closed;
    private AttentionObserver observer;     // may be null

    /**
     * @param model    the model; must stay open while the session is used
     * @param kvFormat how the shards store keys and values
     * @param pool     the pool for matrix products (the runtime's own), or {@code null} for the caller's thread
     */
    public ReferenceDecoder(LlamaModel model, KvFormat kvFormat, ForkJoinPool pool) {
        this.model = Objects.requireNonNull(model, "model");
        this.c = model.config();
        this.pass = new ForwardPass(model, pool);
        this.pool = pool;
        Objects.requireNonNull(kvFormat, "kvFormat");
        this.shards = new KvShard[c.layers() * c.kvHeads()];
        this.views = new KvShard.View[shards.length];
        for (int i = 0; i < shards.length; i++) {
            shards[i] = new KvShard(c.headDim(), kvFormat);
            views[i] = (KvShard.View) shards[i].keys(); // the live view: its size follows the shard
        }
        this.groups = new GroupAttention[c.kvHeads()];
        for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
            groups[kvh] = new GroupAttention(kvh, c.kvHeads(), c.groupSize(), c.headDim(), (float) c.attentionScale(),
                    (float) c.variant().attentionSoftcap());
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
                HistoryFill.fillShard(fill, l, kvh, shards[l * c.kvHeads() + kvh]);
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
        pass.begin(token, position);
        do {
            attendRow(pass.layer(), pass.q(), pass.k(), pass.v(), pass.att(), 0, observer);
        } while (pass.nextLayer());
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
        checkOpen();
        pass.checkPrompt(tokens, position, 0);
        pass.beginPrompt(tokens, position);
        do {
            attendBlock(pass.layer(), pass.chunkStart(), pass.chunkSize());
        } while (pass.nextPromptLayer() != ForwardPass.PromptProgress.DONE);
        position += tokens.length;
        if (observer != null) {
            for (int l = 0; l < c.layers(); l++) {
                for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
                    observer.onPrefill(l, kvh, views[l * c.kvHeads() + kvh]);
                }
            }
        }
        return pass.chunkLogits();
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
        float[] l = prefill(prompt);
        GeneratedTokens out = GeneratedTokens.within(maxTokens, position, c.contextLength(), sampler, model.stopTokens());
        while (!out.full()) {
            int token = out.sample(l);
            onToken.accept(token);
            if (out.stopAfter(token, position, c.contextLength()) != null) {
                break;
            }
            l = next(token);
        }
        return out.tokens();
    }

    private void checkRoom(int tokens) {
        checkOpen();
        pass.checkRoom(position, tokens);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the session is closed");
        }
    }

    /**
     * One row of a layer, every shard in turn: its key and value appended, its queries attending every
     * position up to its own.
     */
    private void attendRow(int layer, float[] q, float[] k, float[] v, float[] att, int row, AttentionObserver obs) {
        for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
            int i = layer * c.kvHeads() + kvh;
            GroupAttention group = groups[kvh];
            int n = group.append(shards[i], k, v, row) + 1;
            Queries queries = group.gather(q, row);
            if (obs != null) {
                obs.onDecode(layer, kvh, n - 1, queries, views[i]);
            }
            group.exact(views[i], n, c.windowOf(layer));
            group.scatter(att, row);
        }
    }

    /**
     * A prompt chunk's rows of a layer: every shard appends the chunk's keys and values, then attends
     * the chunk causally in one block ({@link GroupAttention#exactBlock}: the positions before the chunk
     * are read once for all its rows, as a shard actor's prefill does). The KV heads are independent, so
     * with a pool they attend in parallel, one task each.
     */
    private void attendBlock(int layer, int first, int rows) {
        float[] q = pass.chunkQ();
        float[] att = pass.chunkAtt();
        for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
            KvShard shard = shards[layer * c.kvHeads() + kvh];
            for (int t = 0; t < rows; t++) {
                groups[kvh].append(shard, pass.chunkK(), pass.chunkV(), t);
            }
        }
        int window = c.windowOf(layer);
        if (pool == null || c.kvHeads() == 1) {
            for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
                groups[kvh].exactBlock(views[layer * c.kvHeads() + kvh], q, att, first, rows, window);
            }
            return;
        }
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[c.kvHeads()];
        for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
            int h = kvh;
            tasks[kvh] = ForkJoinTask.adapt(() -> groups[h].exactBlock(views[layer * c.kvHeads() + h], q, att, first,
                    rows, window));
        }
        pool.invoke(ForkJoinTask.adapt(() -> ForkJoinTask.invokeAll(tasks)));
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

package io.clusterkv.runtime;

import io.clusterkv.runtime.model.ForwardPass;
import io.clusterkv.runtime.decode.HistoryFill;
import io.clusterkv.runtime.decode.Generation;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.Sampler;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The actor of one session: it runs the weight side of the forward pass ({@link ForwardPass}, products
 * on the runtime's pool) and, at each layer, tells that layer's shard actors to attend and waits for
 * their replies (tell with a preallocated reply, never ask). Its children are the shard actors.
 *
 * <p>One job (a {@link Generate} or a {@link Score}) runs at a time: prefill in chunks of
 * {@link ForwardPass#PREFILL_CHUNK} tokens through {@link ShardActor.Prefill}, then decode steps through
 * {@link ShardActor.Step}. After each layer it checks the session's policy failures against
 * {@code max-policy-failures}; past it, or on any failure of its own, the session fails: the job's
 * future completes with a {@link SessionFailedException} and every later job is refused.
 */
final class SessionActor extends AbstractBehavior<SessionActor.Command> {

    /** What a session actor receives. */
    sealed interface Command permits Generate, Score, Fill, LayerDone, ShardFailed, Close {
    }

    /** Prefill a prompt, then sample up to {@code maxTokens} tokens. */
    record Generate(int[] prompt, int maxTokens, Sampler sampler, TokenListener listener,
                    CompletableFuture<GenerationResult> done) implements Command {
    }

    /** Prefill a prompt, then feed a continuation token by token, scoring each. */
    record Score(int[] prompt, int[] continuation, CompletableFuture<ScoreResult> done) implements Command {
    }

    /** Place positions in every shard without running the model. */
    record Fill(HistoryFill fill, CompletableFuture<Void> done) implements Command {
    }

    /** A shard could not do its part (a history fill threw); the session fails. */
    record ShardFailed(int layer, int kvHead, Throwable cause) implements Command {
    }

    /** A shard finished its part of a layer. One instance serves every reply. */
    enum LayerDone implements Command {
        /** the instance */
        INSTANCE
    }

    /** Stop the session and its shards; {@code done} completes once they are stopped. */
    record Close(CompletableFuture<Void> done) implements Command {
    }

    static Behavior<Command> create(LlamaModel model, ForkJoinPool pool, List<ShardActor.Setup> shards,
                                    SessionCounters counters, int maxPolicyFailures,
                                    CompletableFuture<Void> stopped) {
        return Behaviors.setup(ctx -> new SessionActor(ctx, model, pool, shards, counters, maxPolicyFailures, stopped));
    }

    private enum Phase { IDLE, PREFILL, DECODE, FILL }

    private final ModelConfig c;
    private final LlamaModel model;
    private final ForwardPass pass;
    private final SessionCounters counters;
    private final int maxPolicyFailures;
    private final CompletableFuture<Void> stopped;
    private final ActorRef<ShardActor.Command>[] shards;   // (layers * kvHeads)
    private final ShardActor.Step[] steps;                 // (layers * kvHeads) preallocated
    private final int kvHeads;

    private Phase phase = Phase.IDLE;
    private Command job;                  // the Generate or Score running, or null
    private Throwable failure;            // set once the session failed
    private int position;
    private int layer;
    private int pending;
    // the job's progress
    private int[] prompt;
    private int promptFrom;
    private int chunk;
    private long jobStart;
    private long decodeStart;
    private int[] out;
    private int produced;
    private double[] nll;
    private int[] argmax;

    @SuppressWarnings("unchecked")
    private SessionActor(ActorContext<Command> context, LlamaModel model, ForkJoinPool pool,
                         List<ShardActor.Setup> setups, SessionCounters counters, int maxPolicyFailures,
                         CompletableFuture<Void> stopped) {
        super(context);
        this.model = model;
        this.c = model.config();
        this.pass = new ForwardPass(model, pool);
        this.counters = counters;
        this.maxPolicyFailures = maxPolicyFailures;
        this.stopped = stopped;
        this.kvHeads = c.kvHeads();
        this.shards = new ActorRef[setups.size()];
        this.steps = new ShardActor.Step[setups.size()];
        DispatcherSelector shardDispatcher = DispatcherSelector.fromConfig("clusterkv.shard-dispatcher");
        for (int i = 0; i < setups.size(); i++) {
            ShardActor.Setup s = setups.get(i);
            shards[i] = context.spawn(ShardActor.create(s), "shard-" + s.layer() + "-" + s.kvHead(), shardDispatcher);
            context.watch(shards[i]);
            steps[i] = new ShardActor.Step(pass.q(), pass.k(), pass.v(), pass.att(), context.getSelf(), LayerDone.INSTANCE);
        }
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Generate.class, this::onGenerate)
                .onMessage(Score.class, this::onScore)
                .onMessage(Fill.class, this::onFill)
                .onMessage(ShardFailed.class, this::onShardFailed)
                .onSignal(Terminated.class, this::onTerminated)
                .onMessageEquals(LayerDone.INSTANCE, this::onLayerDone)
                .onMessage(Close.class, this::onClose)
                .onSignal(PostStop.class, signal -> onStopped())
                .build();
    }

    private Behavior<Command> onGenerate(Generate g) {
        if (refuse(g.done())) {
            return this;
        }
        if (g.maxTokens() < 0) {
            g.done().completeExceptionally(new IllegalArgumentException("maxTokens must be >= 0, was " + g.maxTokens()));
            return this;
        }
        if (!checkPrompt(g.prompt(), 0, g.done())) {
            return this;
        }
        out = new int[g.maxTokens()];
        produced = 0;
        start(g, g.prompt());
        return this;
    }

    private Behavior<Command> onScore(Score s) {
        if (refuse(s.done())) {
            return this;
        }
        if (s.continuation().length == 0) {
            s.done().completeExceptionally(new IllegalArgumentException("the continuation is empty"));
            return this;
        }
        if (!checkPrompt(s.prompt(), s.continuation().length - 1, s.done())) {
            return this;
        }
        for (int t : s.continuation()) {
            if (t < 0 || t >= c.vocab()) {
                s.done().completeExceptionally(new IndexOutOfBoundsException(
                        "continuation token " + t + " is not in [0, " + c.vocab() + ")"));
                return this;
            }
        }
        nll = new double[s.continuation().length];
        argmax = new int[s.continuation().length];
        produced = 0;
        start(s, s.prompt());
        return this;
    }

    private Behavior<Command> onFill(Fill f) {
        if (refuse(f.done())) {
            return this;
        }
        int n = f.fill().positions();
        if (n < 1 || (long) n > c.contextLength() - position) {
            f.done().completeExceptionally(new IllegalArgumentException("a history fill of " + n + " positions does not fit: "
                    + position + " of " + c.contextLength() + " positions used"));
            return this;
        }
        job = f;
        phase = Phase.FILL;
        ActorRef<Command> self = getContext().getSelf();
        for (ActorRef<ShardActor.Command> shard : shards) {
            shard.tell(new ShardActor.Fill(f.fill(), self, LayerDone.INSTANCE));
        }
        pending = shards.length;
        return this;
    }

    private Behavior<Command> onShardFailed(ShardFailed m) {
        fail(new SessionFailedException("session " + counters.session + ": shard (" + m.layer() + ", " + m.kvHead()
                + ") failed: " + m.cause(), m.cause()));
        return this;
    }

    private Behavior<Command> onTerminated(Terminated t) {
        fail(new SessionFailedException("session " + counters.session + ": shard actor " + t.getRef().path().name()
                + " stopped unexpectedly (see the log for its failure)", new IllegalStateException("shard stopped")));
        return this;
    }

    private boolean refuse(CompletableFuture<?> done) {
        if (failure != null) {
            done.completeExceptionally(new SessionFailedException("session " + counters.session + " has failed", failure));
            return true;
        }
        if (job != null) {
            done.completeExceptionally(new IllegalStateException("session " + counters.session + " is busy"));
            return true;
        }
        return false;
    }

    private boolean checkPrompt(int[] tokens, int extra, CompletableFuture<?> done) {
        if (tokens.length == 0) {
            done.completeExceptionally(new IllegalArgumentException("the prompt is empty"));
            return false;
        }
        for (int t : tokens) {
            if (t < 0 || t >= c.vocab()) {
                done.completeExceptionally(new IndexOutOfBoundsException("prompt token " + t + " is not in [0, " + c.vocab() + ")"));
                return false;
            }
        }
        if ((long) tokens.length + extra > c.contextLength() - position) {
            done.completeExceptionally(new IllegalStateException("context full: " + position + " of " + c.contextLength()
                    + " positions used, " + (tokens.length + extra) + " more requested"));
            return false;
        }
        return true;
    }

    private void start(Command j, int[] tokens) {
        job = j;
        prompt = tokens;
        promptFrom = 0;
        jobStart = System.nanoTime();
        guarded(this::startChunk);
    }

    private void startChunk() {
        phase = Phase.PREFILL;
        chunk = Math.min(ForwardPass.PREFILL_CHUNK, prompt.length - promptFrom);
        pass.beginChunk(prompt, promptFrom, chunk, position);
        layer = 0;
        sendPrefill();
    }

    private void sendPrefill() {
        pass.chunkAttentionInputs(layer);
        boolean last = promptFrom + chunk == prompt.length;
        ActorRef<Command> self = getContext().getSelf();
        for (int kvh = 0; kvh < kvHeads; kvh++) {
            shards[layer * kvHeads + kvh].tell(new ShardActor.Prefill(pass.chunkQ(), pass.chunkK(), pass.chunkV(),
                    pass.chunkAtt(), chunk, last, self, LayerDone.INSTANCE));
        }
        pending = kvHeads;
    }

    private void sendStep() {
        pass.attentionInputs(layer);
        int base = layer * kvHeads;
        for (int kvh = 0; kvh < kvHeads; kvh++) {
            shards[base + kvh].tell(steps[base + kvh]);
        }
        pending = kvHeads;
    }

    private Behavior<Command> onLayerDone() {
        if (--pending > 0 || job == null) {
            return this;
        }
        if (counters.policyFailures.get() > maxPolicyFailures) {
            fail(new SessionFailedException("session " + counters.session + ": the policy failed "
                    + counters.policyFailures.get() + " times, more than clusterkv.runtime.max-policy-failures = "
                    + maxPolicyFailures, counters.lastFailure.get()));
            return this;
        }
        guarded(this::layerDone);
        return this;
    }

    private void layerDone() {
        if (phase == Phase.FILL) {
            Fill f = (Fill) job;
            position += f.fill().positions();
            counters.promptTokens += f.fill().positions();
            endJob();
            f.done().complete(null);
            return;
        }
        if (phase == Phase.PREFILL) {
            pass.finishChunkLayer(layer);
            if (++layer < c.layers()) {
                sendPrefill();
                return;
            }
            position += chunk;
            counters.promptTokens += chunk;
            promptFrom += chunk;
            if (promptFrom < prompt.length) {
                startChunk();
                return;
            }
            decodeStart = System.nanoTime();
            afterLogits(pass.chunkLogits());
        } else {
            pass.finishLayer(layer);
            if (++layer < c.layers()) {
                sendStep();
                return;
            }
            position++;
            counters.decodeSteps++;
            afterLogits(pass.logits());
        }
    }

    private void afterLogits(float[] logits) {
        switch (job) {
            case Generate g -> {
                if (produced == g.maxTokens()) {
                    finishGenerate(g, GenerationResult.StopReason.MAX_TOKENS);
                    return;
                }
                int token = g.sampler().sample(logits);
                out[produced++] = token;
                try {
                    g.listener().onToken(token, position);
                } catch (RuntimeException e) {
                    Command j = job;
                    endJob();
                    ((Generate) j).done().completeExceptionally(e);
                    return;
                }
                if (contains(model.stopTokens(), token)) {
                    finishGenerate(g, GenerationResult.StopReason.STOP_TOKEN);
                } else if (produced == g.maxTokens()) {
                    finishGenerate(g, GenerationResult.StopReason.MAX_TOKENS);
                } else if (position == c.contextLength()) {
                    finishGenerate(g, GenerationResult.StopReason.CONTEXT_FULL);
                } else {
                    decode(token);
                }
            }
            case Score s -> {
                int target = s.continuation()[produced];
                nll[produced] = -Sampler.logProbability(logits, target);
                argmax[produced] = Sampler.argmax(logits);
                produced++;
                if (produced == nll.length) {
                    ScoreResult r = new ScoreResult(nll, argmax, decodeStart - jobStart, System.nanoTime() - decodeStart);
                    endJob();
                    s.done().complete(r);
                } else {
                    decode(target);
                }
            }
            default -> throw new IllegalStateException("no job");
        }
    }

    private void decode(int token) {
        phase = Phase.DECODE;
        pass.begin(token, position);
        layer = 0;
        sendStep();
    }

    private void finishGenerate(Generate g, GenerationResult.StopReason stop) {
        long now = System.nanoTime();
        GenerationResult r = new GenerationResult(Arrays.copyOf(out, produced), stop, prompt.length,
                decodeStart - jobStart, now - decodeStart);
        endJob();
        g.done().complete(r);
    }

    private void endJob() {
        job = null;
        phase = Phase.IDLE;
        prompt = null;
        out = null;
        nll = null;
        argmax = null;
    }

    /** Runs a step of the job; a failure of the runtime's own code fails the session. */
    private void guarded(Runnable step) {
        try {
            step.run();
        } catch (RuntimeException | LinkageError | AssertionError e) {
            fail(new SessionFailedException("session " + counters.session + " failed: " + e, e));
        }
    }

    private void fail(SessionFailedException e) {
        failure = e.getCause() == null ? e : e.getCause();
        Command j = job;
        endJob();
        switch (j) {
            case Generate g -> g.done().completeExceptionally(e);
            case Score s -> s.done().completeExceptionally(e);
            case Fill f -> f.done().completeExceptionally(e);
            case null, default -> { }
        }
    }

    private Behavior<Command> onClose(Close close) {
        Command j = job;
        endJob();
        IllegalStateException closed = new IllegalStateException("session " + counters.session + " was closed");
        switch (j) {
            case Generate g -> g.done().completeExceptionally(closed);
            case Score s -> s.done().completeExceptionally(closed);
            case Fill f -> f.done().completeExceptionally(closed);
            case null, default -> { }
        }
        stopped.whenComplete((r, e) -> close.done().complete(null));
        return Behaviors.stopped();
    }

    private Behavior<Command> onStopped() {
        stopped.complete(null);
        return this;
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }
}

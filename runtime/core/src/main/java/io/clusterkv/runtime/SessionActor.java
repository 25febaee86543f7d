package io.clusterkv.runtime;

import io.clusterkv.runtime.model.ForwardPass;
import io.clusterkv.runtime.decode.GeneratedTokens;
import io.clusterkv.runtime.decode.HistoryFill;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.Sampler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.Cancellable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The actor of one session: it runs the forward pass ({@link ForwardPass}, products on the runtime's
 * pool) and, at each layer, tells that layer's shard actors to attend and waits for their replies (tell
 * with the shard's preallocated reply, never ask). Its children are the shard actors. It follows the
 * forward pass's cursor and samples with {@link GeneratedTokens}, as the reference decoder
 * ({@link io.clusterkv.runtime.decode.ReferenceDecoder}) does: the two differ only in who attends.
 *
 * <p>One behavior per phase. <b>Idle</b> takes a job: a {@link Generate} or a {@link Score} is
 * <b>prefilling</b> (chunks of {@link ForwardPass#PREFILL_CHUNK} tokens through
 * {@link ShardActor.Prefill}), then <b>decoding</b> (one token per round of {@link ShardActor.Step}
 * over the layers); a {@link Fill} is <b>filling</b>. Each phase keeps its own progress (layer, replies
 * pending, tokens produced) and returns to idle when its job's future is completed; a job that arrives
 * meanwhile is refused as busy. After each layer the session's policy failures are checked against
 * {@code max-policy-failures}; past it, or on any failure of its own or of a shard, the session is
 * <b>failed</b>: the job's future completes with a {@link SessionFailedException} and every later job
 * is refused. The positions written so far are the session's, across jobs.
 *
 * <p>Faults. Whatever the session's own code or its listener throws is caught ({@code Throwable}): a
 * listener's exception ends its generation only; anything else fails the session with the cause. A
 * {@link VirtualMachineError} (an {@code OutOfMemoryError}, a {@code StackOverflowError}), the
 * session's or a shard's, also stops the session and its shards, which frees their memory (the
 * {@link Session} sees it closed).
 *
 * <p>The watchdog: a task the actor system's scheduler runs on Pekko's internal dispatcher (every
 * quarter of {@code step-timeout}, at most a second apart) that checks, off the shard dispatcher, how long the shards told have been
 * silent. Past {@code step-timeout} it completes the job's future with a {@link SessionFailedException}
 * naming the shards still due, and tells the actor ({@link Tick}), which fails the session when it
 * next runs. It runs off the dispatcher so that it fires even when policies blocked in {@code select}
 * hold every thread of the dispatcher. It reads the actor's progress through volatile fields (written
 * once per tell or reply) and the shards' replies through a racy read that is only used for the
 * message.
 */
final class SessionActor {

    /** What a session actor receives: jobs, {@link Close}, and its shards' replies. */
    sealed interface Command permits Request, Close, ShardActor.Reply, Tick {
    }

    /** A job; its future completes when the job ends. One runs at a time. */
    sealed interface Request extends Command permits Job, Fill {
        /** @return completed with the job's result, or exceptionally */
        CompletableFuture<?> done();
    }

    /** A job that runs the model: a prompt, then decode steps. */
    sealed interface Job extends Request permits Generate, Score {
        /** @return the prompt */
        int[] prompt();
    }

    /** Prefill a prompt, then sample up to {@code maxTokens} tokens. */
    record Generate(int[] prompt, int maxTokens, Sampler sampler, TokenListener listener,
                    CompletableFuture<GenerationResult> done) implements Job {
    }

    /** Prefill a prompt, then feed a continuation token by token, scoring each. */
    record Score(int[] prompt, int[] continuation, CompletableFuture<ScoreResult> done) implements Job {
    }

    /** Place positions in every shard without running the model. */
    record Fill(HistoryFill fill, CompletableFuture<Void> done) implements Request {
    }

    /** Stop the session and its shards; {@code done} completes once they are stopped. */
    record Close(CompletableFuture<Void> done) implements Command {
    }

    /** The watchdog timed the shards out: fail the session with {@link #timedOut}. */
    enum Tick implements Command {
        INSTANCE
    }

    private static final Logger LOG = LoggerFactory.getLogger(SessionActor.class);
    private static final long NOT_WAITING = Long.MIN_VALUE;

    static Behavior<Command> create(LlamaModel model, ForkJoinPool pool, List<ShardActor.Setup> shards,
                                    SessionCounters counters, int maxPolicyFailures, Duration stepTimeout,
                                    CompletableFuture<Void> stopped) {
        return Behaviors.setup(ctx -> {
            try {
                return new SessionActor(ctx, model, pool, shards, counters, maxPolicyFailures, stepTimeout, stopped).idle;
            } catch (Throwable e) {
                return failedToStart(ctx, shards, counters, stopped, e);
            }
        });
    }

    /**
     * The actor could not start (its buffers did not fit in memory, say): the shards it did not spawn
     * are closed here (those it spawned close when they stop, with it), and {@code stopped} completes so
     * that the {@link Session} is released and its jobs fail instead of waiting for a dead actor.
     */
    private static Behavior<Command> failedToStart(ActorContext<Command> ctx, List<ShardActor.Setup> setups,
                                                   SessionCounters counters, CompletableFuture<Void> stopped,
                                                   Throwable e) {
        LOG.error("session {} could not start", counters.session, e);
        for (ShardActor.Setup s : setups) {
            if (ctx.getChild("shard-" + s.layer() + "-" + s.kvHead()).isEmpty()) {
                try {
                    if (s.policy() != null) {
                        s.policy().close();
                    }
                    s.attend().close();
                } catch (Throwable ignored) {
                    // already failing
                } finally {
                    s.shard().close();
                }
            }
        }
        if (e instanceof VirtualMachineError) {
            counters.fatal = e;
        }
        stopped.complete(null);
        return Behaviors.stopped();
    }

    private final ModelConfig c;
    private final int[] stopTokens;
    private final ForwardPass pass;
    private final SessionCounters counters;
    private final int maxPolicyFailures;
    private final CompletableFuture<Void> stopped;
    private final ActorRef<ShardActor.Command>[] shards;   // (layers * kvHeads)
    private final ShardActor.Step[] steps;                 // (layers * kvHeads) preallocated
    private final ActorRef<ShardActor.Reply> replies;      // this actor, as the shards see it
    private final int kvHeads;
    private final Behavior<Command> idle;
    private int position;                                  // positions written, by every job so far
    // the watchdog's view, written on the actor's thread, read on the scheduler's
    private final Duration stepTimeout;
    private final Cancellable watchdog;
    private final ActorRef<Command> self;
    private final boolean[] answered;                      // (layers * kvHeads) replied since told, this round
    private int toldFrom;                                  // the shards told: [toldFrom, toldFrom + toldCount)
    private int toldCount;
    private volatile long waitingSince = NOT_WAITING;      // System.nanoTime() of the last tell or reply while replies are due
    private volatile CompletableFuture<?> job;             // the job in progress, or the last one
    private volatile SessionFailedException timedOut;      // set once, by the watchdog

    @SuppressWarnings("unchecked")
    private SessionActor(ActorContext<Command> context, LlamaModel model, ForkJoinPool pool,
                         List<ShardActor.Setup> setups, SessionCounters counters, int maxPolicyFailures,
                         Duration stepTimeout, CompletableFuture<Void> stopped) {
        this.stepTimeout = stepTimeout;
        this.self = context.getSelf();
        this.c = model.config();
        this.stopTokens = model.stopTokens();
        this.pass = new ForwardPass(model, pool);
        this.counters = counters;
        this.maxPolicyFailures = maxPolicyFailures;
        this.stopped = stopped;
        this.kvHeads = c.kvHeads();
        this.replies = context.getSelf().narrow();
        this.shards = new ActorRef[setups.size()];
        this.steps = new ShardActor.Step[setups.size()];
        this.answered = new boolean[setups.size()];
        DispatcherSelector shardDispatcher = DispatcherSelector.fromConfig("clusterkv.shard-dispatcher");
        for (int i = 0; i < setups.size(); i++) {
            ShardActor.Setup s = setups.get(i);
            shards[i] = context.spawn(ShardActor.create(s), "shard-" + s.layer() + "-" + s.kvHead(), shardDispatcher);
            context.watch(shards[i]);
            steps[i] = new ShardActor.Step(pass.q(), pass.k(), pass.v(), pass.att(), replies);
        }
        Duration period = Duration.ofMillis(Math.clamp(stepTimeout.toMillis() / 4, 1, 1000));
        // on the system's internal dispatcher: never the shard dispatcher, whose threads it watches
        this.watchdog = context.getSystem().scheduler().scheduleAtFixedRate(period, period, this::watch,
                context.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("pekko.actor.internal-dispatcher")));
        counters.gauges.sessionActors.incrementAndGet(); // started: its PostStop counts it off
        this.idle = always(Behaviors.receive(Command.class)
                .onMessage(Generate.class, this::generate)
                .onMessage(Score.class, this::score)
                .onMessage(Fill.class, this::fill), null)
                .build();
    }

    // ---- idle ----

    private Behavior<Command> generate(Generate g) {
        if (g.maxTokens() < 0) {
            g.done().completeExceptionally(new IllegalArgumentException("maxTokens must be >= 0, was " + g.maxTokens()));
            return Behaviors.same();
        }
        if (!checkPrompt(g.prompt(), 0, g.done())) {
            return Behaviors.same();
        }
        return guarded(new Prefilling(g), true);
    }

    private Behavior<Command> score(Score s) {
        if (s.continuation().length == 0) {
            s.done().completeExceptionally(new IllegalArgumentException("the continuation is empty"));
            return Behaviors.same();
        }
        if (!checkPrompt(s.prompt(), s.continuation().length - 1, s.done())) {
            return Behaviors.same();
        }
        for (int t : s.continuation()) {
            if (t < 0 || t >= c.vocab()) {
                s.done().completeExceptionally(new IndexOutOfBoundsException(
                        "continuation token " + t + " is not in [0, " + c.vocab() + ")"));
                return Behaviors.same();
            }
        }
        return guarded(new Prefilling(s), true);
    }

    private Behavior<Command> fill(Fill f) {
        int n = f.fill().positions();
        if (n < 1 || (long) n > c.contextLength() - position) {
            f.done().completeExceptionally(new IllegalArgumentException("a history fill of " + n + " positions does not fit: "
                    + position + " of " + c.contextLength() + " positions used"));
            return Behaviors.same();
        }
        return guarded(new Filling(f), true);
    }

    private boolean checkPrompt(int[] tokens, int extra, CompletableFuture<?> done) {
        try {
            pass.checkPrompt(tokens, position, extra);
            return true;
        } catch (RuntimeException e) {
            done.completeExceptionally(e);
            return false;
        }
    }

    // ---- a job in progress ----

    /**
     * A job in progress, one behavior: it tells shards, counts their replies of one kind, and goes on
     * when every shard told has replied. Other jobs are refused as busy meanwhile.
     */
    private abstract sealed class Busy permits Prefilling, Decoding, Filling {
        final Request request;
        final Behavior<Command> behavior;
        int pending;                       // replies still due from the shards told

        Busy(Request request, Class<? extends ShardActor.Reply> reply) {
            this.request = request;
            this.behavior = always(Behaviors.receive(Command.class)
                    .onMessage(reply, r -> replied(this, r))
                    .onMessage(Request.class, this::refuse), request.done())
                    .build();
            job = request.done();
        }

        /** @return this phase's behavior, waiting for the {@code count} shards told from {@code from} */
        Behavior<Command> told(int from, int count) {
            java.util.Arrays.fill(answered, from, from + count, false);
            toldFrom = from;
            toldCount = count;
            pending = count;
            waitingSince = System.nanoTime(); // publishes the above to the watchdog
            return behavior;
        }

        /** @return the behavior after starting: tells the first shards, or ends at once */
        abstract Behavior<Command> start();

        /** @return the behavior after every shard told has replied */
        abstract Behavior<Command> layerDone();

        private Behavior<Command> refuse(Request r) {
            r.done().completeExceptionally(new IllegalStateException("session " + counters.session + " is busy"));
            return Behaviors.same();
        }
    }

    private Behavior<Command> replied(Busy phase, ShardActor.Reply reply) {
        answered[reply.layer() * kvHeads + reply.kvHead()] = true;
        if (--phase.pending > 0) {
            waitingSince = System.nanoTime();
            return Behaviors.same();
        }
        waitingSince = NOT_WAITING;
        if (timedOut != null) {
            return fail(phase.request.done(), timedOut);
        }
        if (counters.policyFailures.get() > maxPolicyFailures) {
            return fail(phase.request.done(), new SessionFailedException("session " + counters.session
                    + ": the policy failed " + counters.policyFailures.get()
                    + " times, more than clusterkv.runtime.max-policy-failures = " + maxPolicyFailures,
                    counters.lastFailure.get()));
        }
        return guarded(phase, false);
    }

    /** Starts or continues a phase; whatever the runtime's own code throws fails the session. */
    private Behavior<Command> guarded(Busy phase, boolean start) {
        try {
            return start ? phase.start() : phase.layerDone();
        } catch (Throwable e) {
            return fail(phase.request.done(), new SessionFailedException("session " + counters.session + " failed: " + e, e));
        }
    }

    /**
     * The watchdog, on the scheduler's thread: past {@code step-timeout} without a reply from the shards
     * told, completes the job's future and tells the actor to fail. Fires once.
     */
    private void watch() {
        long since = waitingSince;
        if (since == NOT_WAITING || timedOut != null) {
            return;
        }
        long silent = System.nanoTime() - since;
        if (silent < stepTimeout.toNanos()) {
            return;
        }
        StringBuilder late = new StringBuilder();
        for (int i = toldFrom; i < toldFrom + toldCount; i++) {
            if (!answered[i]) {
                late.append(late.isEmpty() ? "" : ", ").append('(').append(i / kvHeads).append(", ")
                        .append(i % kvHeads).append(')');
            }
        }
        String what = "no reply from shard(s) " + late + " (layer, kv head) for " + silent / 1_000_000
                + " ms, more than clusterkv.runtime.step-timeout = " + stepTimeout.toMillis() + " ms";
        SessionFailedException e = new SessionFailedException("session " + counters.session + ": " + what
                + "; a policy may be blocked in select or in synchronous maintenance", new TimeoutException(what));
        timedOut = e;
        CompletableFuture<?> current = job;
        if (current != null) {
            current.completeExceptionally(e);
        }
        self.tell(Tick.INSTANCE);
    }

    /** A job's prompt, chunk by chunk, layer by layer; then its decoding. */
    private final class Prefilling extends Busy {
        private final Job job;
        private final long jobStart = System.nanoTime();

        Prefilling(Job job) {
            super(job, ShardActor.PrefillDone.class);
            this.job = job;
        }

        @Override
        Behavior<Command> start() {
            pass.beginPrompt(job.prompt(), position);
            return sendLayer();
        }

        private Behavior<Command> sendLayer() {
            int base = pass.layer() * kvHeads;
            for (int kvh = 0; kvh < kvHeads; kvh++) {
                shards[base + kvh].tell(new ShardActor.Prefill(pass.chunkQ(), pass.chunkK(), pass.chunkV(),
                        pass.chunkAtt(), pass.chunkSize(), pass.lastChunk(), replies));
            }
            return told(base, kvHeads);
        }

        @Override
        Behavior<Command> layerDone() {
            return switch (pass.nextPromptLayer()) {
                case NEXT_LAYER -> sendLayer();
                case NEXT_CHUNK -> {
                    written(pass.chunkStart());
                    yield sendLayer();
                }
                case DONE -> {
                    written(pass.chunkStart() + pass.chunkSize());
                    yield new Decoding(job, jobStart).start();
                }
            };
        }

        /** The prompt's positions up to {@code end} are written. */
        private void written(int end) {
            counters.promptTokens += end - position;
            position = end;
        }
    }

    /** A job's decode steps, layer by layer, until it ends. */
    private final class Decoding extends Busy {
        private final Job job;
        private final long jobStart;
        private final long decodeStart = System.nanoTime();
        private final GeneratedTokens tokens; // a Generate's tokens
        private final double[] nll;           // (continuation) a Score's negative log-likelihoods
        private final int[] argmax;           // (continuation) a Score's greedy tokens
        private int scored;

        Decoding(Job job, long jobStart) {
            super(job, ShardActor.StepDone.class);
            this.job = job;
            this.jobStart = jobStart;
            switch (job) {
                case Generate g -> {
                    tokens = GeneratedTokens.within(g.maxTokens(), position, c.contextLength(), g.sampler(), stopTokens);
                    nll = null;
                    argmax = null;
                }
                case Score s -> {
                    tokens = null;
                    nll = new double[s.continuation().length];
                    argmax = new int[s.continuation().length];
                }
            }
        }

        /** The prompt's logits are ready. */
        @Override
        Behavior<Command> start() {
            return afterLogits(pass.chunkLogits());
        }

        @Override
        Behavior<Command> layerDone() {
            if (pass.nextLayer()) {
                return sendLayer();
            }
            position++;
            counters.decodeSteps++;
            return afterLogits(pass.logits());
        }

        private Behavior<Command> afterLogits(float[] logits) {
            return switch (job) {
                case Generate g -> {
                    if (tokens.full()) {
                        yield finish(g, GeneratedTokens.Stop.MAX_TOKENS);
                    }
                    int token = tokens.sample(logits);
                    try {
                        g.listener().onToken(token, position);
                    } catch (VirtualMachineError e) {
                        throw e; // guarded: fails and closes the session
                    } catch (Throwable e) {
                        g.done().completeExceptionally(e);
                        yield idle;
                    }
                    GeneratedTokens.Stop stop = tokens.stopAfter(token, position, c.contextLength());
                    yield stop != null ? finish(g, stop) : decode(token);
                }
                case Score s -> {
                    int target = s.continuation()[scored];
                    nll[scored] = -Sampler.logProbability(logits, target);
                    argmax[scored] = Sampler.argmax(logits);
                    scored++;
                    if (scored == nll.length) {
                        s.done().complete(new ScoreResult(nll, argmax, decodeStart - jobStart,
                                System.nanoTime() - decodeStart));
                        yield idle;
                    }
                    yield decode(target);
                }
            };
        }

        private Behavior<Command> decode(int token) {
            pass.begin(token, position);
            return sendLayer();
        }

        private Behavior<Command> sendLayer() {
            int base = pass.layer() * kvHeads;
            for (int kvh = 0; kvh < kvHeads; kvh++) {
                shards[base + kvh].tell(steps[base + kvh]);
            }
            return told(base, kvHeads);
        }

        private Behavior<Command> finish(Generate g, GeneratedTokens.Stop stop) {
            long now = System.nanoTime();
            GenerationResult.StopReason reason = switch (stop) {
                case STOP_TOKEN -> GenerationResult.StopReason.STOP_TOKEN;
                case MAX_TOKENS -> GenerationResult.StopReason.MAX_TOKENS;
                case CONTEXT_FULL -> GenerationResult.StopReason.CONTEXT_FULL;
            };
            g.done().complete(new GenerationResult(tokens.tokens(), reason, g.prompt().length,
                    decodeStart - jobStart, now - decodeStart));
            return idle;
        }
    }

    /** A history fill: every shard appends it. */
    private final class Filling extends Busy {
        private final Fill fill;

        Filling(Fill fill) {
            super(fill, ShardActor.FillDone.class);
            this.fill = fill;
        }

        @Override
        Behavior<Command> start() {
            for (ActorRef<ShardActor.Command> shard : shards) {
                shard.tell(new ShardActor.Fill(fill.fill(), replies));
            }
            return told(0, shards.length);
        }

        @Override
        Behavior<Command> layerDone() {
            position += fill.fill().positions();
            counters.promptTokens += fill.fill().positions();
            fill.done().complete(null);
            return idle;
        }
    }

    // ---- failed ----

    /**
     * The session failed: the job's future (if any) completes with {@code e}, and from now on every job
     * is refused with the cause; replies still under way from the shards, later failures and stops of
     * shards are dropped (the first failure is the cause). A {@link VirtualMachineError} also stops the
     * session and its shards.
     */
    private Behavior<Command> fail(CompletableFuture<?> job, SessionFailedException e) {
        waitingSince = NOT_WAITING;
        if (job != null) {
            job.completeExceptionally(e);
        }
        Throwable cause = e.getCause() == null ? e : e.getCause();
        if (cause instanceof VirtualMachineError) {
            counters.fatal = cause;
            LOG.error("session {} is closed: {}", counters.session, e.getMessage(), cause);
            return Behaviors.stopped();
        }
        return Behaviors.receive(Command.class)
                .onMessage(Request.class, r -> {
                    r.done().completeExceptionally(new SessionFailedException("session " + counters.session
                            + " has failed", cause));
                    return Behaviors.same();
                })
                .onMessage(Close.class, close -> close(close, null))
                .onMessage(ShardActor.Reply.class, late -> Behaviors.same())
                .onMessage(Tick.class, t -> Behaviors.same())
                .onSignal(Terminated.class, t -> Behaviors.same())
                .onSignal(PostStop.class, signal -> stopped())
                .build();
    }

    // ---- every phase ----

    /**
     * What every phase handles: {@link Close}, a shard that failed or stopped and the watchdog's
     * {@link Tick} (each fails the session), and the actor's stop.
     *
     * @param job the future of the job in progress, or {@code null}
     */
    private BehaviorBuilder<Command> always(BehaviorBuilder<Command> phase, CompletableFuture<?> job) {
        return phase
                .onMessage(Close.class, close -> close(close, job))
                .onMessage(ShardActor.ShardFailed.class, f -> fail(job, new SessionFailedException("session "
                        + counters.session + ": shard (" + f.layer() + ", " + f.kvHead() + ") failed: " + f.cause(),
                        f.cause())))
                .onSignal(Terminated.class, t -> fail(job, new SessionFailedException("session " + counters.session
                        + ": shard actor " + t.getRef().path().name() + " stopped unexpectedly (see the log for its failure)",
                        new IllegalStateException("shard stopped"))))
                .onMessage(Tick.class, t -> fail(job, timedOut))
                .onSignal(PostStop.class, signal -> stopped());
    }

    private Behavior<Command> stopped() {
        watchdog.cancel();
        counters.gauges.sessionActors.decrementAndGet();
        stopped.complete(null);
        return Behaviors.same();
    }

    private Behavior<Command> close(Close close, CompletableFuture<?> job) {
        if (job != null) {
            job.completeExceptionally(new IllegalStateException("session " + counters.session + " was closed"));
        }
        stopped.whenComplete((r, e) -> close.done().complete(null));
        return Behaviors.stopped();
    }
}

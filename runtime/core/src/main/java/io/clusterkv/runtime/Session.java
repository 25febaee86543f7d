package io.clusterkv.runtime;

import io.clusterkv.runtime.decode.HistoryFill;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.residency.ResidencyCache;
import io.clusterkv.runtime.residency.ResidencyStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * One conversation with a model: its KV history, spread over one shard actor per (layer, kvHead), and
 * its recall policy. Opened by {@link ClusterKvRuntime#openSession}.
 *
 * <p>Calls return at once; the work runs on the runtime's threads and completes the returned future.
 * One {@link #generate} or {@link #score} runs at a time (a second one while the first is running
 * completes exceptionally with {@link IllegalStateException}); each continues the same history, so a
 * second {@code generate} is the next turn of the conversation. Many sessions, on one model or several,
 * decode concurrently.
 *
 * <p>Methods are thread-safe. A session whose policy failed too often, whose forward pass failed, or
 * whose shards did not reply within {@code clusterkv.runtime.step-timeout}, completes every later call
 * with {@link SessionFailedException}; close it. A session hit by a {@link VirtualMachineError} (an
 * {@code OutOfMemoryError} in its forward pass, a shard, a policy's {@code select} or its listener)
 * closes itself: its job fails with {@link SessionFailedException} carrying the error, and its memory
 * is freed. Every future a session returned completes, whatever happens to it: if its actors stop
 * before a job ends, the job completes with {@link SessionFailedException}. Closing frees its KV
 * history.
 */
public final class Session implements AutoCloseable {

    private final String id;
    private final long number;
    private final ResidencyCache residency;
    private volatile SessionStats finalStats;   // kept when closed: the device tier forgets the session
    private final LlamaModel model;
    private final RuntimeSettings settings;
    private final ActorRef<SessionActor.Command> actor;
    private final SessionCounters counters;
    private final Runnable onClosed;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean released = new AtomicBoolean();
    private final CompletableFuture<Void> closedDone = new CompletableFuture<>();
    private final Set<CompletableFuture<?>> jobs = ConcurrentHashMap.newKeySet(); // not yet completed

    Session(String id, long number, LlamaModel model, RuntimeSettings settings, ActorRef<SessionActor.Command> actor,
            SessionCounters counters, CompletableFuture<Void> stopped, ResidencyCache residency, Runnable onClosed) {
        this.id = id;
        this.number = number;
        this.residency = residency;
        this.model = model;
        this.settings = settings;
        this.actor = actor;
        this.counters = counters;
        this.onClosed = onClosed;
        stopped.whenComplete((r, e) -> release());
    }

    /** @return the session's id, unique within its runtime */
    public String id() {
        return id;
    }

    /** @return the model it decodes */
    public LlamaModel model() {
        return model;
    }

    /** @return its validated settings (policy, budget, ...) */
    public RuntimeSettings settings() {
        return settings;
    }

    /**
     * Prefills a prompt, then samples up to {@code maxTokens} tokens, stopping early after one of the
     * model's stop tokens (reported, not fed back) or when the context is full.
     *
     * @param prompt    the prompt's token ids, at least one
     * @param maxTokens most tokens to sample, {@code >= 0}
     * @param sampler   picks each token
     * @param listener  receives each token as it is sampled, on the session's thread
     * @return completes with the tokens, or exceptionally: {@link IllegalArgumentException} (empty prompt,
     *         negative {@code maxTokens}), {@link IndexOutOfBoundsException} (a token outside the
     *         vocabulary), {@link IllegalStateException} (busy, closed, the prompt does not fit),
     *         {@link SessionFailedException}, or what the listener threw
     * @throws IllegalStateException if the session is closed
     */
    public CompletableFuture<GenerationResult> generate(int[] prompt, int maxTokens, Sampler sampler,
                                                        TokenListener listener) {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(sampler, "sampler");
        Objects.requireNonNull(listener, "listener");
        checkOpen();
        CompletableFuture<GenerationResult> done = new CompletableFuture<>();
        return submit(done, new SessionActor.Generate(prompt.clone(), maxTokens, sampler, listener, done));
    }

    /**
     * Teacher forcing: prefills a prompt, then feeds a continuation token by token and scores each
     * token given everything before it (perplexity, agreement with the model's argmax). The
     * continuation's tokens but the last are added to the history.
     *
     * @param prompt       the prompt, at least one token
     * @param continuation the tokens to score, at least one
     * @return completes with the scores, or exceptionally as {@link #generate} does
     * @throws IllegalStateException if the session is closed
     */
    public CompletableFuture<ScoreResult> score(int[] prompt, int[] continuation) {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(continuation, "continuation");
        checkOpen();
        CompletableFuture<ScoreResult> done = new CompletableFuture<>();
        return submit(done, new SessionActor.Score(prompt.clone(), continuation.clone(), done));
    }

    /**
     * Places positions in every shard without running the model (benchmarks and the arena measure long
     * contexts this way): each shard actor appends {@code fill.positions()} keys and values, and its
     * policy sees them as the prompt (or as appended positions after one). Decoding then continues after
     * them.
     *
     * @param fill the keys and values
     * @return completes when every shard has them, or exceptionally: {@link IllegalArgumentException}
     *         (does not fit the context), {@link IllegalStateException} (busy),
     *         {@link SessionFailedException} (the fill threw; the session is then unusable)
     * @throws IllegalStateException if the session is closed
     */
    public CompletableFuture<Void> fill(HistoryFill fill) {
        Objects.requireNonNull(fill, "fill");
        checkOpen();
        CompletableFuture<Void> done = new CompletableFuture<>();
        return submit(done, new SessionActor.Fill(fill, done));
    }

    /**
     * Tells the actor a job, keeping its future until it completes: if the actors stop first (or had
     * stopped already, and the job went to dead letters), {@link #release} completes it.
     */
    private <T> CompletableFuture<T> submit(CompletableFuture<T> done, SessionActor.Request job) {
        jobs.add(done);
        done.whenComplete((r, e) -> jobs.remove(done));
        actor.tell(job);
        if (released.get()) { // released meanwhile: it may not have seen this job
            done.completeExceptionally(stoppedBeforeTheEnd());
        }
        return done;
    }

    /** @return a snapshot of the session's counters; readable at any time from any thread */
    public SessionStats stats() {
        SessionStats kept = finalStats;
        return kept != null ? kept : liveStats();
    }

    private SessionStats liveStats() {
        int layers = model.config().layers();
        List<ResidencyStats> byLayer = new ArrayList<>(layers);
        for (int l = 0; l < layers; l++) {
            byLayer.add(residency.stats(number, l));
        }
        return new SessionStats(id, settings.policy(), settings.budget(), counters.promptTokens, counters.decodeSteps,
                counters.exactShardSteps.sum(), counters.sparseShardSteps.sum(), counters.attendedRows.sum(),
                counters.policyFailures.get(), counters.maintenanceStarted.sum(), counters.maintenanceApplied.sum(),
                residency.stats(number), byLayer);
    }

    /** @return whether {@link #close} has not been called */
    public boolean isOpen() {
        return !closed.get();
    }

    /**
     * Stops the session's actors and frees its KV history; a job still running completes exceptionally.
     * Idempotent.
     *
     * @return completes once the shards are stopped
     */
    public CompletableFuture<Void> closeAsync() {
        if (closed.compareAndSet(false, true)) {
            actor.tell(new SessionActor.Close(new CompletableFuture<>()));
        }
        return closedDone;
    }

    /**
     * The actors have stopped, closed or not (a {@link VirtualMachineError} stops them too): keeps the
     * final counters, frees the session's device-tier units, completes the jobs the actors did not, and
     * leaves the runtime. Once.
     */
    private void release() {
        if (!released.compareAndSet(false, true)) {
            return;
        }
        closed.set(true);
        try {
            finalStats = liveStats();
            residency.closeSession(number);
            onClosed.run();
        } finally {
            for (CompletableFuture<?> job : jobs) {
                job.completeExceptionally(stoppedBeforeTheEnd());
            }
            closedDone.complete(null);
        }
    }

    private SessionFailedException stoppedBeforeTheEnd() {
        Throwable fatal = counters.fatal;
        return new SessionFailedException("session " + id + " stopped before the job ended"
                + (fatal == null ? "" : ": " + fatal), fatal);
    }

    /** Closes and waits (up to 30 s) until the shards are stopped. Idempotent. */
    @Override
    public void close() {
        try {
            closeAsync().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("session " + id + " did not stop cleanly", e);
        }
    }

    private void checkOpen() {
        if (closed.get()) {
            Throwable fatal = counters.fatal;
            throw new IllegalStateException("session " + id + " is closed"
                    + (fatal == null ? "" : ", after " + fatal), fatal);
        }
    }

    @Override
    public String toString() {
        return "Session[" + id + ", " + settings.policy() + ", budget " + settings.budget() + "]";
    }
}

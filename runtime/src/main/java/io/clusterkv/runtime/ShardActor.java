package io.clusterkv.runtime;

import io.clusterkv.runtime.attention.Attention;
import io.clusterkv.runtime.attention.AttentionScratch;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.model.HistoryFill;
import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The actor of one (layer, kvHead) shard. It alone touches the shard's {@link KvShard}, its
 * {@link RecallPolicy} instance and its scratch buffers, so none of them needs a lock.
 *
 * <p>Protocol: {@link Prefill} appends a prefill chunk's keys and values and attends each of its rows
 * exactly; the last chunk of a prompt hands the prompt to the policy ({@code onPrompt}). {@link Step}
 * appends one decode step's key and value, tells the policy ({@code onAppend}), starts due maintenance,
 * selects and attends. Both read their inputs from, and write their outputs to, the session's buffers
 * (each shard its own slice), then tell the session the preallocated reply: the messages of a session
 * are made once, so a decode step allocates nothing here in steady state.
 *
 * <p>Maintenance: the policy's pure task runs on the maintenance dispatcher; its result comes back
 * through {@code pipeToSelf} as {@link MaintenanceDone} and is applied between two steps. At most
 * {@code max-outstanding-maintenance} tasks are in flight per shard; while the bound is reached the
 * policy is not polled, and attends what it has not indexed as its recent window.
 *
 * <p>Supervision: whatever the policy throws ({@code onPrompt}, {@code onAppend}, {@code select},
 * {@code pollMaintenance}, a task's {@code compute} or {@code apply}) is counted in the session's
 * {@link SessionCounters}; a failing step is attended exactly. The session decides when there were too
 * many. The actor itself never fails because of its policy.
 */
final class ShardActor extends AbstractBehavior<ShardActor.Command> {

    /** What a shard actor receives. */
    sealed interface Command permits Step, Prefill, Fill, MaintenanceDone {
    }

    /**
     * One decode step. The arrays are the session's: queries {@code (heads, headDim)}, keys and values
     * {@code (kvHeads, headDim)}; the shard writes its group's rows of {@code att}.
     */
    record Step(float[] q, float[] k, float[] v, float[] att, ActorRef<SessionActor.Command> replyTo,
                SessionActor.Command reply) implements Command {
    }

    /**
     * A prefill chunk of {@code rows} positions, row-major like {@link Step}'s arrays. After the last
     * chunk of a prompt ({@code promptComplete}) the policy learns of the prompt.
     */
    record Prefill(float[] q, float[] k, float[] v, float[] att, int rows, boolean promptComplete,
                   ActorRef<SessionActor.Command> replyTo, SessionActor.Command reply) implements Command {
    }

    /** Append positions from a {@link HistoryFill}; the policy sees them as the prompt (or as appends). */
    record Fill(HistoryFill fill, ActorRef<SessionActor.Command> replyTo, SessionActor.Command reply)
            implements Command {
    }

    /** A maintenance task's result, or its failure, back on the shard's thread. */
    record MaintenanceDone<R>(MaintenanceTask<R> task, R result, Throwable failure) implements Command {
    }

    /**
     * Everything a shard actor owns or uses.
     *
     * @param layer          its layer
     * @param kvHead         its KV head
     * @param groupSize      query heads per KV head
     * @param kvHeads        KV heads per layer (the row stride of keys and values is {@code kvHeads * headDim})
     * @param budget         positions per query head
     * @param shard          its host KV store (owned; closed when the actor stops)
     * @param policy         its policy (owned), or {@code null} for a dense layer
     * @param attend         how selected positions are attended (the residency front end)
     * @param maxOutstanding maintenance tasks in flight at most
     * @param syncMaintenance run maintenance inline (reproducible runs) instead of on the executor
     * @param maintenance    the maintenance dispatcher
     * @param counters       the session's counters
     */
    record Setup(int layer, int kvHead, int groupSize, int kvHeads, int budget, KvShard shard, RecallPolicy policy,
                 SelectedAttention attend, int maxOutstanding, boolean syncMaintenance, Executor maintenance,
                 SessionCounters counters) {
    }

    /** Attends a selection: every head of {@code selection}, writing rows of {@code out}. */
    interface SelectedAttention extends AutoCloseable {
        void attend(KvShard.View kv, Queries queries, SelectionBuffer selection, float scale, float[] out,
                    AttentionScratch scratch);

        @Override
        default void close() {
        }

        /** Straight from the host store, no device tier. */
        SelectedAttention HOST = (kv, queries, selection, scale, out, scratch) -> {
            for (int h = 0; h < selection.heads(); h++) {
                Attention.selected(kv, queries, selection.head(h), scale, out, scratch);
            }
        };
    }

    static Behavior<Command> create(Setup setup) {
        return Behaviors.setup(context -> new ShardActor(context, setup));
    }

    private final Setup s;
    private final KvShard shard;
    private final KvShard.View live;
    private final RecallPolicy policy;
    private final int headDim;
    private final float scale;
    private final float[] groupQ;           // (groupSize, headDim)
    private final float[] groupOut;         // (groupSize, headDim)
    private final Queries queries;
    private final SelectionBuffer selection;
    private final AttentionScratch scratch = new AttentionScratch();
    private final List<CompletableFuture<?>> inFlight = new ArrayList<>();
    private boolean prompted;
    private int outstanding;

    private ShardActor(ActorContext<Command> context, Setup setup) {
        super(context);
        this.s = setup;
        this.shard = setup.shard();
        this.live = (KvShard.View) shard.keys();
        this.policy = setup.policy();
        this.headDim = shard.headDim();
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        this.groupQ = new float[setup.groupSize() * headDim];
        this.groupOut = new float[setup.groupSize() * headDim];
        this.queries = Queries.wrap(groupQ, setup.groupSize(), headDim);
        // sized for a small budget; reset() grows it at the first sparse step (only a context larger than
        // the budget has one), so a huge budget costs nothing up front
        this.selection = policy == null ? null : new SelectionBuffer(setup.groupSize(), Math.min(setup.budget(), 1024));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Step.class, this::onStep)
                .onMessage(Prefill.class, this::onPrefill)
                .onMessage(Fill.class, this::onFill)
                .onMessage(MaintenanceDone.class, this::onMaintenanceDone)
                .onSignal(PostStop.class, signal -> onStop())
                .build();
    }

    private Behavior<Command> onStep(Step m) {
        int span = s.groupSize() * headDim;
        int position = shard.append(m.k(), s.kvHead() * headDim, m.v(), s.kvHead() * headDim);
        System.arraycopy(m.q(), s.kvHead() * span, groupQ, 0, span);
        int n = position + 1;
        boolean exact = policy == null || n <= s.budget();
        if (policy != null) {
            if (prompted) {
                try {
                    policy.onAppend(position, live);
                } catch (RuntimeException | LinkageError | AssertionError e) {
                    failed("onAppend", e);
                }
            }
            pollMaintenance();
        }
        if (!exact) {
            selection.reset(s.budget(), n);
            try {
                policy.select(queries, live, s.budget(), selection);
            } catch (RuntimeException | LinkageError | AssertionError e) {
                failed("select", e);
                exact = true;
            }
        }
        if (!exact) {
            try {
                s.attend().attend(live, queries, selection, scale, groupOut, scratch);
                s.counters().sparseShardSteps.increment();
                long rows = 0;
                for (int h = 0; h < selection.heads(); h++) {
                    rows += selection.head(h).attendedCount();
                }
                s.counters().attendedRows.add(rows);
            } catch (RuntimeException e) {   // a selection the kernels reject (e.g. a position out of range)
                failed("select (invalid selection)", e);
                exact = true;
            }
        }
        if (exact) {
            Attention.exact(live, n, queries, scale, groupOut, scratch);
            s.counters().exactShardSteps.increment();
            s.counters().attendedRows.add(n); // the group reads each row once
        }
        System.arraycopy(groupOut, 0, m.att(), s.kvHead() * span, span);
        m.replyTo().tell(m.reply());
        return this;
    }

    private Behavior<Command> onPrefill(Prefill m) {
        int kvDim = s.kvHeads() * headDim;
        int qDim = kvDim * s.groupSize();
        int span = s.groupSize() * headDim;
        int first = shard.size();
        for (int t = 0; t < m.rows(); t++) {
            shard.append(m.k(), t * kvDim + s.kvHead() * headDim, m.v(), t * kvDim + s.kvHead() * headDim);
        }
        for (int t = 0; t < m.rows(); t++) {
            System.arraycopy(m.q(), t * qDim + s.kvHead() * span, groupQ, 0, span);
            Attention.exact(live, first + t + 1, queries, scale, groupOut, scratch);
            System.arraycopy(groupOut, 0, m.att(), t * qDim + s.kvHead() * span, span);
        }
        if (policy != null) {
            try {
                if (prompted) {
                    for (int p = first; p < first + m.rows(); p++) {
                        policy.onAppend(p, live);
                    }
                } else if (m.promptComplete()) {
                    prompted = true;
                    policy.onPrompt(live);
                }
            } catch (RuntimeException | LinkageError | AssertionError e) {
                failed(prompted ? "onAppend" : "onPrompt", e);
            }
            if (prompted) {
                pollMaintenance();
            }
        }
        m.replyTo().tell(m.reply());
        return this;
    }

    private Behavior<Command> onFill(Fill m) {
        int first = shard.size();
        try {
            m.fill().fill(s.layer(), s.kvHead(), shard);
            if (shard.size() != first + m.fill().positions()) {
                throw new IllegalStateException("the history fill appended " + (shard.size() - first)
                        + " positions to shard (" + s.layer() + ", " + s.kvHead() + "), not " + m.fill().positions());
            }
        } catch (RuntimeException | LinkageError | AssertionError e) {
            m.replyTo().tell(new SessionActor.ShardFailed(s.layer(), s.kvHead(), e));
            return this;
        }
        if (policy != null) {
            try {
                if (prompted) {
                    for (int p = first; p < shard.size(); p++) {
                        policy.onAppend(p, live);
                    }
                } else {
                    prompted = true;
                    policy.onPrompt(live);
                }
            } catch (RuntimeException | LinkageError | AssertionError e) {
                failed("onPrompt", e);
            }
            pollMaintenance();
        }
        m.replyTo().tell(m.reply());
        return this;
    }

    private void pollMaintenance() {
        while (outstanding < s.maxOutstanding()) {
            Optional<MaintenanceTask<?>> task;
            try {
                task = policy.pollMaintenance(shard.snapshot());
            } catch (RuntimeException | LinkageError | AssertionError e) {
                failed("pollMaintenance", e);
                return;
            }
            if (task.isEmpty()) {
                return;
            }
            launch(task.get());
        }
    }

    private <R> void launch(MaintenanceTask<R> task) {
        s.counters().maintenanceStarted.increment();
        if (s.syncMaintenance()) {
            R result;
            try {
                result = task.compute();
            } catch (RuntimeException | LinkageError | AssertionError e) {
                failed("maintenance '" + task.description() + "'", e);
                return;
            }
            applyResult(task, result);
            return;
        }
        outstanding++;
        CompletableFuture<R> future = CompletableFuture.supplyAsync(task::compute, s.maintenance());
        inFlight.removeIf(CompletableFuture::isDone);
        inFlight.add(future);
        getContext().pipeToSelf(future, (result, failure) -> new MaintenanceDone<>(task, result, failure));
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private Behavior<Command> onMaintenanceDone(MaintenanceDone m) {
        outstanding--;
        if (m.failure() != null) {
            Throwable cause = m.failure() instanceof java.util.concurrent.CompletionException c && c.getCause() != null
                    ? c.getCause() : m.failure();
            failed("maintenance '" + m.task().description() + "'", cause);
        } else {
            applyResult(m.task(), m.result());
        }
        pollMaintenance();
        return this;
    }

    private <R> void applyResult(MaintenanceTask<R> task, R result) {
        try {
            task.apply(result);
            s.counters().maintenanceApplied.increment();
        } catch (RuntimeException | LinkageError | AssertionError e) {
            failed("maintenance apply '" + task.description() + "'", e);
        }
    }

    private void failed(String where, Throwable e) {
        s.counters().policyFailed(where, s.layer(), s.kvHead(), e);
    }

    private Behavior<Command> onStop() {
        try {
            if (policy != null) {
                policy.close();
            }
        } catch (RuntimeException | LinkageError | AssertionError e) {
            failed("close", e);
        }
        try {
            s.attend().close();
        } finally {
            // a task still computing reads a snapshot of the shard: free the memory after it ends
            CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new))
                    .whenComplete((r, e) -> shard.close());
        }
        return this;
    }
}

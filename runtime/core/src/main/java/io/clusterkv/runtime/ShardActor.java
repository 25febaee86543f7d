package io.clusterkv.runtime;

import io.clusterkv.runtime.attention.Attention;
import io.clusterkv.runtime.attention.AttentionScratch;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.decode.GroupAttention;
import io.clusterkv.runtime.decode.HistoryFill;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.internal.SelectionBuffer;
import io.clusterkv.spi.driver.ShardPolicyDriver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The actor of one (layer, kvHead) shard. It alone touches the shard's {@link KvShard}, its
 * {@link RecallPolicy} instance and its scratch buffers, so none of them needs a lock.
 *
 * <p>Protocol: {@link Prefill} appends a prefill chunk's keys and values and attends each of its rows
 * exactly; the last chunk of a prompt hands the prompt to the policy ({@code onPrompt}). {@link Step}
 * appends one decode step's key and value, tells the policy ({@code onAppend}), starts due maintenance,
 * selects and attends. Both read their inputs from, and write their outputs to, the session's buffers
 * (each shard its own slice), then reply with the shard's own {@link Reply}, made once per shard: with
 * the session's {@link Step} messages made once too, a decode step allocates nothing here in steady
 * state.
 *
 * <p>The policy is called through a {@link ShardPolicyDriver}. Maintenance: the policy's pure task
 * runs on the maintenance dispatcher; its result comes back through {@code pipeToSelf} as
 * {@link MaintenanceDone} and is applied between two steps. At most {@code max-outstanding-maintenance}
 * tasks are in flight per shard; while the bound is reached the policy is not polled, and attends what
 * it has not indexed as its recent window. With {@code synchronous-maintenance} each task is computed
 * and applied at once instead (reproducible runs).
 *
 * <p>Supervision: whatever the policy throws (caught by the driver), a selection that breaks the
 * contract in a way its buffer cannot see while it is written (a position twice, or inside the head's
 * window: {@link SelectionCheck}), and a selection the attention kernels reject, is counted in the
 * session's {@link SessionCounters}; a failing step is attended exactly. The session decides when
 * there were too many. Anything else thrown while the actor handles a message (a bug of the runtime, a
 * {@link VirtualMachineError} such as an {@code OutOfMemoryError}, whoever threw it) is reported to the
 * session as {@link ShardFailed}, and the actor stops, freeing what it owns: its state may be
 * half-updated. The session then fails.
 */
final class ShardActor extends AbstractBehavior<ShardActor.Command> {

    private static final Logger LOG = LoggerFactory.getLogger(ShardActor.class);

    /** What a shard actor receives. */
    sealed interface Command permits Step, Prefill, Fill, MaintenanceDone {
    }

    /**
     * One decode step. The arrays are the session's: queries {@code (heads, headDim)}, keys and values
     * {@code (kvHeads, headDim)}; the shard writes its group's rows of {@code att}. Replied with
     * {@link StepDone}.
     */
    record Step(float[] q, float[] k, float[] v, float[] att, ActorRef<Reply> replyTo) implements Command {
    }

    /**
     * A prefill chunk of {@code rows} positions, row-major like {@link Step}'s arrays. After the last
     * chunk of a prompt ({@code promptComplete}) the policy learns of the prompt. Replied with
     * {@link PrefillDone}.
     */
    record Prefill(float[] q, float[] k, float[] v, float[] att, int rows, boolean promptComplete,
                   ActorRef<Reply> replyTo) implements Command {
    }

    /**
     * Append positions from a {@link HistoryFill}; the policy sees them as the prompt (or as appends).
     * Replied with {@link FillDone}, or {@link ShardFailed} if the fill threw or appended another count.
     */
    record Fill(HistoryFill fill, ActorRef<Reply> replyTo) implements Command {
    }

    /** A maintenance task's result, or its failure, back on the shard's thread. */
    record MaintenanceDone(MaintenanceTask<?> task, Object result, Throwable failure) implements Command {
    }

    /**
     * What a shard actor replies. A subtype of the session's protocol so that the session receives the
     * shard's replies as they are: a message adapter would wrap every reply of every decode step.
     */
    sealed interface Reply extends SessionActor.Command permits StepDone, PrefillDone, FillDone, ShardFailed {
        /** @return the shard's layer */
        int layer();

        /** @return the shard's KV head */
        int kvHead();
    }

    /** A {@link Step} is attended; its rows of {@code att} are written. One instance per shard. */
    record StepDone(int layer, int kvHead) implements Reply {
    }

    /** A {@link Prefill} chunk is attended; its rows of {@code att} are written. One instance per shard. */
    record PrefillDone(int layer, int kvHead) implements Reply {
    }

    /** A {@link Fill} is appended. One instance per shard. */
    record FillDone(int layer, int kvHead) implements Reply {
    }

    /**
     * The shard cannot go on: a {@link Fill} threw or appended another count than it said, or handling a
     * message threw (the actor then stops). The shard's history is not usable.
     */
    record ShardFailed(int layer, int kvHead, Throwable cause) implements Reply {
    }

    /**
     * Everything a shard actor owns or uses.
     *
     * @param layer          its layer
     * @param kvHead         its KV head
     * @param groupSize      query heads per KV head
     * @param kvHeads        KV heads per layer (the row stride of keys and values is {@code kvHeads * headDim})
     * @param budget         positions per query head
     * @param exactUpTo      positions up to which the shard attends exactly without selecting
     * @param scope          whether each query head selects or the group shares one selection
     * @param shard          its host KV store (owned; closed when the actor stops)
     * @param policy         its policy (owned), or {@code null} for a dense layer
     * @param attend         how selected positions are attended (the residency front end)
     * @param maxOutstanding maintenance tasks in flight at most
     * @param syncMaintenance run maintenance inline (reproducible runs) instead of on the executor
     * @param maintenance    the maintenance dispatcher
     * @param counters       the session's counters
     * @param scale          the softmax scale of attention scores
     * @param window         positions a sliding-window layer attends (Gemma 2 and 3), 0 for the whole history;
     *                       such a layer has no policy
     * @param softcap        the attention logit soft-cap (Gemma 2), 0 for none
     */
    record Setup(int layer, int kvHead, int groupSize, int kvHeads, int budget, int exactUpTo, SelectionScope scope,
                 KvShard shard, RecallPolicy policy,
                 SelectedAttention attend, int maxOutstanding, boolean syncMaintenance, Executor maintenance,
                 SessionCounters counters, float scale, int window, float softcap) {

        /** A shard of a layer that attends its whole history, scaled by {@code 1 / sqrt(headDim)}, scores uncapped. */
        Setup(int layer, int kvHead, int groupSize, int kvHeads, int budget, int exactUpTo, SelectionScope scope,
              KvShard shard, RecallPolicy policy, SelectedAttention attend, int maxOutstanding, boolean syncMaintenance,
              Executor maintenance, SessionCounters counters) {
            this(layer, kvHead, groupSize, kvHeads, budget, exactUpTo, scope, shard, policy, attend, maxOutstanding,
                    syncMaintenance, maintenance, counters, (float) (1 / Math.sqrt(shard.headDim())), 0, 0);
        }
    }

    /**
     * Attends a selection: every head of {@code selection}, writing rows of {@code out}; a selection of
     * one head for a group of several ({@link SelectionScope#GROUP}) is attended by every query head.
     */
    interface SelectedAttention extends AutoCloseable {
        void attend(KvShard.View kv, Queries queries, SelectionBuffer selection, float scale, float[] out,
                    AttentionScratch scratch);

        @Override
        default void close() {
        }

        /**
         * Straight from the host store, in place, no device tier: a shared selection by every head, the
         * heads' own selections in one pass over their union (each row read once).
         */
        SelectedAttention HOST = (kv, queries, selection, scale, out, scratch) -> {
            if (selection.heads() != queries.heads()) {
                Attention.shared(kv, queries, selection.head(0), scale, out, scratch);
            } else if (selection.heads() > 1 && selection.heads() <= Attention.MAX_GROUPED_HEADS) {
                Attention.grouped(kv, queries, selection, scale, out, scratch);
            } else {
                for (int h = 0; h < selection.heads(); h++) {
                    Attention.selected(kv, queries, selection.head(h), scale, out, scratch);
                }
            }
        };
    }

    static Behavior<Command> create(Setup setup) {
        return Behaviors.setup(context -> new ShardActor(context, setup));
    }

    private final Setup s;
    private final KvShard shard;
    private final KvShard.View live;
    private final ShardPolicyDriver driver;  // drives the policy; null for a dense layer
    private final GroupAttention group;     // the shard's rows of the session's buffers, exact attention
    private final SelectionBuffer selection;
    private final SelectionScope.PolicyQueries policyQueries;
    private final List<CompletableFuture<?>> inFlight = new ArrayList<>();
    private final StepDone stepDone;
    private final PrefillDone prefillDone;
    private final FillDone fillDone;
    private final SelectionCheck check = new SelectionCheck();
    private ActorRef<Reply> session;         // where the last message's reply went: where failures go

    private ShardActor(ActorContext<Command> context, Setup setup) {
        super(context);
        this.s = setup;
        this.shard = setup.shard();
        this.live = (KvShard.View) shard.keys();
        this.driver = setup.policy() == null ? null : new ShardPolicyDriver(setup.policy(),
                setup.syncMaintenance() ? new ShardPolicyDriver.Maintenance.Inline()
                        : new ShardPolicyDriver.Maintenance.Async(setup.maxOutstanding(), this::launch),
                new Supervision(setup));
        this.group = new GroupAttention(setup.kvHead(), setup.kvHeads(), setup.groupSize(), shard.headDim(),
                setup.scale(), setup.softcap());
        // sized for a small budget; reset() grows it at the first sparse step (only a context larger than
        // the budget has one), so a huge budget costs nothing up front
        this.selection = driver == null ? null
                : new SelectionBuffer(setup.scope().selectionHeads(setup.groupSize()), Math.min(setup.budget(), 1024));
        this.policyQueries = new SelectionScope.PolicyQueries(setup.scope(), shard.headDim());
        this.stepDone = new StepDone(setup.layer(), setup.kvHead());
        this.prefillDone = new PrefillDone(setup.layer(), setup.kvHead());
        this.fillDone = new FillDone(setup.layer(), setup.kvHead());
        setup.counters().gauges.shardActors.incrementAndGet();
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

    // ---- each handler: its work, and anything it throws reported as the shard's failure ----

    private Behavior<Command> onStep(Step m) {
        session = m.replyTo();
        try {
            step(m);
            return this;
        } catch (Throwable e) {
            return failed("a decode step", e);
        }
    }

    private Behavior<Command> onPrefill(Prefill m) {
        session = m.replyTo();
        try {
            prefill(m);
            return this;
        } catch (Throwable e) {
            return failed("a prefill chunk", e);
        }
    }

    private Behavior<Command> onFill(Fill m) {
        session = m.replyTo();
        try {
            fill(m);
            return this;
        } catch (Throwable e) {
            return failed("a history fill", e);
        }
    }

    private Behavior<Command> onMaintenanceDone(MaintenanceDone m) {
        try {
            driver.completed(m.task(), m.result(), m.failure(), live);
            return this;
        } catch (Throwable e) {
            return failed("a maintenance result", e);
        }
    }

    /**
     * Tells the session that this shard failed, and stops: what the shard owns is freed by
     * {@link #onStop}. A {@link VirtualMachineError} is logged here as well, where it happened.
     */
    private Behavior<Command> failed(String what, Throwable e) {
        if (e instanceof VirtualMachineError) {
            LOG.error("session {}: shard ({}, {}) failed in {} with {}; the shard stops and its session fails",
                    s.counters().session, s.layer(), s.kvHead(), what, e, e);
        }
        if (session != null) {
            session.tell(new ShardFailed(s.layer(), s.kvHead(), e));
        }
        return Behaviors.stopped();
    }

    private void step(Step m) {
        int position = group.append(shard, m.k(), m.v(), 0);
        Queries queries = group.gather(m.q(), 0);
        int n = position + 1;
        boolean exact = driver == null || n <= s.exactUpTo();
        if (driver != null) {
            driver.append(position, live);
            driver.maintain(live);
        }
        if (!exact) {
            exact = !driver.select(policyQueries.of(queries), live, s.budget(), selection);
            if (!exact) {
                RuntimeException invalid = check.violation(selection);
                if (invalid != null) {
                    s.counters().policyFailed("select (invalid selection)", s.layer(), s.kvHead(), invalid);
                    exact = true;
                }
            }
        }
        if (!exact) {
            try {
                s.attend().attend(live, queries, selection, group.scale(), group.out(), group.scratch());
                s.counters().sparseShardSteps.increment();
                long rows = 0; // rows read: a shared selection's once for the group
                for (int h = 0; h < selection.heads(); h++) {
                    rows += selection.head(h).attendedCount();
                }
                s.counters().attendedRows.add(rows);
            } catch (RuntimeException e) {   // a selection the kernels reject (e.g. a position out of range)
                s.counters().policyFailed("select (invalid selection)", s.layer(), s.kvHead(), e);
                exact = true;
            }
        }
        if (exact) {
            group.exact(live, n, s.window());
            s.counters().exactShardSteps.increment();
            s.counters().attendedRows.add(s.window() > 0 ? Math.min(n, s.window()) : n); // each row once for the group
        }
        group.scatter(m.att(), 0);
        m.replyTo().tell(stepDone);
    }

    private void prefill(Prefill m) {
        int first = shard.size();
        for (int t = 0; t < m.rows(); t++) {
            group.append(shard, m.k(), m.v(), t);
        }
        group.exactBlock(live, m.q(), m.att(), first, m.rows(), s.window());
        if (driver != null) {
            if (driver.prompted()) {
                driver.append(first, first + m.rows(), live);
                driver.maintain(live);
            } else if (m.promptComplete()) {
                driver.prompt(live);
            }
        }
        m.replyTo().tell(prefillDone);
    }

    private void fill(Fill m) {
        int first = shard.size();
        try {
            HistoryFill.fillShard(m.fill(), s.layer(), s.kvHead(), shard);
        } catch (RuntimeException | LinkageError | AssertionError e) {
            m.replyTo().tell(new ShardFailed(s.layer(), s.kvHead(), e));
            return;
        }
        if (driver != null) {
            if (driver.prompted()) {
                driver.append(first, shard.size(), live);
                driver.maintain(live);
            } else {
                driver.prompt(live);
            }
        }
        m.replyTo().tell(fillDone);
    }

    /** The driver's launcher: the task's compute on the maintenance dispatcher, its outcome piped back. */
    private void launch(MaintenanceTask<?> task) {
        CompletableFuture<?> future = CompletableFuture.supplyAsync(task::compute, s.maintenance());
        inFlight.removeIf(CompletableFuture::isDone);
        inFlight.add(future);
        getContext().pipeToSelf(future, (result, failure) -> new MaintenanceDone(task, result, failure));
    }

    /**
     * Frees what the shard owns, whatever throws on the way (logged: the actor is stopping); the store
     * after the tasks still reading it.
     */
    private Behavior<Command> onStop() {
        s.counters().gauges.shardActors.decrementAndGet();
        try {
            if (driver != null) {
                driver.close();
            }
        } catch (Throwable e) {
            LOG.error("session {}: closing the policy of shard ({}, {}) threw", s.counters().session, s.layer(),
                    s.kvHead(), e);
        }
        try {
            s.attend().close();
        } catch (Throwable e) {
            LOG.error("session {}: closing the device tier of shard ({}, {}) threw", s.counters().session, s.layer(),
                    s.kvHead(), e);
        }
        // a task still computing reads a snapshot of the shard: free the memory after it ends
        CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).whenComplete((r, e) -> shard.close());
        return this;
    }

    /** The driver's reports, counted in the session's counters. */
    private record Supervision(Setup s) implements ShardPolicyDriver.Events {
        @Override
        public void policyFailed(String where, Throwable cause) {
            s.counters().policyFailed(where, s.layer(), s.kvHead(), cause);
        }

        @Override
        public void maintenanceStarted(MaintenanceTask<?> task) {
            s.counters().maintenanceStarted.increment();
        }

        @Override
        public void maintenanceApplied(MaintenanceTask<?> task) {
            s.counters().maintenanceApplied.increment();
        }
    }
}

package io.clusterkv.spi.driver;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.CompletionException;

/**
 * Drives the {@link RecallPolicy} of one shard through its lifecycle, in the order of the SPI's
 * package documentation: {@link #prompt} once the prompt's keys are written, then at each decode
 * step {@link #append} (the step's key is written), {@link #maintain} and {@link #select}, and
 * {@link #close} at the end. The runtime's shard actors, the arena's replay, the selection benchmark
 * and the conformance kit all call a policy through this class.
 *
 * <h2>Design notes</h2>
 * <ul>
 *   <li><b>Maintenance.</b> Whenever the policy may hand out work (after the prompt, at each
 *       {@link #maintain}, after an asynchronous result), it is polled until it has none, at most
 *       {@value #MAX_TASKS_PER_CALL} tasks a call. What happens to a task is the {@link Maintenance}
 *       mode's: {@link Maintenance.Inline computed and applied at once}, {@link Maintenance.Lagged
 *       computed at once and applied a number of steps later}, or {@link Maintenance.Async handed to
 *       a launcher} whose result comes back through {@link #completed}, with a bound on the tasks in
 *       flight (while it is reached the policy is not polled).</li>
 *   <li><b>Supervision.</b> Whatever the policy throws from any of its methods or a task's (any
 *       {@code Throwable}: an exception, checked ones a JVM language other than Java throws included,
 *       or an {@code Error}) is caught here, and only here, and reported to {@link Events#policyFailed}
 *       with where it happened. The failing call has no effect (a failed {@link #select} returns
 *       {@code false}: the caller attends exactly) and the policy stays in service. A caller that
 *       retires a failed policy stops calling it; one that wants the exception itself reports with
 *       {@link Events#RETHROW}. The one exception is a {@link VirtualMachineError} thrown on the
 *       caller's thread ({@code OutOfMemoryError}, {@code StackOverflowError}): the JVM itself is in
 *       trouble and the caller's own state may be half-updated, so it propagates to the caller. A task
 *       computed elsewhere that failed that way is reported as any failure ({@link #completed}): it
 *       touched only its snapshot.</li>
 *   <li><b>Before the prompt.</b> {@link #append} and {@link #maintain} do nothing until
 *       {@link #prompt}: the policy's first call is {@code onPrompt}, which covers every position
 *       written so far.</li>
 *   <li><b>Threading and allocation.</b> Confined to the shard's thread, like the policy. Nothing is
 *       allocated per step while the policy hands out no work; a lagged result costs one small record.</li>
 * </ul>
 */
public final class ShardPolicyDriver implements AutoCloseable {

    /** Most tasks handed out by one call: a policy that hands out without end cannot stall its shard. */
    public static final int MAX_TASKS_PER_CALL = 64;

    /** How the maintenance a policy hands out is run. */
    public sealed interface Maintenance {

        /** Computed and applied on the shard's thread as soon as it is handed out (reproducible runs). */
        record Inline() implements Maintenance {
        }

        /**
         * Computed on the shard's thread as soon as it is handed out, applied {@code steps} steps later:
         * by the {@link #maintain} of step {@code s + steps} (before its select) for a task handed out at
         * step {@code s}. Steps are counted by {@link #maintain} calls, from 0; the prompt's tasks are
         * handed out at step 0.
         *
         * @param steps the lag, {@code >= 0}; {@link #NEVER} for results that are never applied
         */
        record Lagged(int steps) implements Maintenance {
            /** The lag of results that are computed but never applied. */
            public static final int NEVER = Integer.MAX_VALUE;

            /** @throws IllegalArgumentException if {@code steps < 0}, naming it */
            public Lagged {
                if (steps < 0) {
                    throw new IllegalArgumentException("the maintenance lag must be >= 0 steps, was " + steps);
                }
            }
        }

        /**
         * Handed to {@code launcher}, which computes it off the shard's thread and hands the outcome back
         * to {@link #completed} on the shard's thread.
         *
         * @param maxOutstanding tasks launched and not yet completed, at most; {@code >= 1}
         * @param launcher       starts a task's {@link MaintenanceTask#compute()} elsewhere
         */
        record Async(int maxOutstanding, Launcher launcher) implements Maintenance {
            /** @throws IllegalArgumentException if {@code maxOutstanding < 1} or the launcher is null */
            public Async {
                if (maxOutstanding < 1) {
                    throw new IllegalArgumentException("max outstanding maintenance must be >= 1, was " + maxOutstanding);
                }
                if (launcher == null) {
                    throw new IllegalArgumentException("the launcher is null");
                }
            }
        }
    }

    /** Starts a task's computation off the shard's thread (the shard actor: on its maintenance dispatcher). */
    @FunctionalInterface
    public interface Launcher {
        /**
         * Starts computing; the outcome must come back to {@link #completed} on the shard's thread.
         *
         * @param task the task handed out
         */
        void launch(MaintenanceTask<?> task);
    }

    /** What the driver reports: failures of the policy, and the maintenance it ran. */
    @FunctionalInterface
    public interface Events {

        /** Throws the failure on: for callers where a failing policy is a failing run (the kit, benchmarks). */
        Events RETHROW = (where, cause) -> {
            if (cause instanceof RuntimeException e) {
                throw e;
            }
            if (cause instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException("the policy failed in " + where, cause);
        };

        /**
         * The policy threw; the call had no effect.
         *
         * @param where the method, e.g. {@code "select"} or {@code "maintenance apply 'cluster 16..320'"}
         * @param cause what it threw
         */
        void policyFailed(String where, Throwable cause);

        /**
         * A task was handed out and is being run.
         *
         * @param task the task
         */
        default void maintenanceStarted(MaintenanceTask<?> task) {
        }

        /**
         * A task's result was applied.
         *
         * @param task the task
         */
        default void maintenanceApplied(MaintenanceTask<?> task) {
        }
    }

    /** A lagged task's result, waiting for its step. */
    private record Computed<R>(MaintenanceTask<R> task, R result, long dueStep) {
    }

    private final RecallPolicy policy;
    private final Maintenance maintenance;
    private final Events events;
    private final int maxOutstanding;
    private final ArrayDeque<Computed<?>> lagged = new ArrayDeque<>(); // in due order: the lag is fixed
    private boolean prompted;
    private boolean closed;
    private int outstanding;
    private int step;

    /**
     * @param policy      the shard's policy; owned from now on ({@link #close} closes it)
     * @param maintenance how its maintenance runs
     * @param events      where failures and maintenance are reported
     */
    public ShardPolicyDriver(RecallPolicy policy, Maintenance maintenance, Events events) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.maintenance = Objects.requireNonNull(maintenance, "maintenance");
        this.events = Objects.requireNonNull(events, "events");
        this.maxOutstanding = maintenance instanceof Maintenance.Async a ? a.maxOutstanding() : Integer.MAX_VALUE;
    }

    /** @return the policy driven */
    public RecallPolicy policy() {
        return policy;
    }

    /** @return whether {@link #prompt} was called */
    public boolean prompted() {
        return prompted;
    }

    /** @return asynchronous tasks launched and not yet {@link #completed} */
    public int outstanding() {
        return outstanding;
    }

    /**
     * The prompt's keys are written: {@code onPrompt}, then the maintenance the policy hands out. Only
     * the first call does anything.
     *
     * @param live the shard's live key view
     */
    public void prompt(KeyView live) {
        if (prompted) {
            return;
        }
        prompted = true;
        try {
            policy.onPrompt(live);
        } catch (Throwable e) {
            rethrowIfFatal(e);
            events.policyFailed("onPrompt", e);
        }
        handOut(live);
    }

    /**
     * One key was written after the prompt, at {@code position}: {@code onAppend}.
     *
     * @param position the new position, {@code live.size() - 1}
     * @param live     the shard's live key view
     */
    public void append(int position, KeyView live) {
        append(position, position + 1, live);
    }

    /**
     * Keys were written after the prompt at positions {@code [from, to)}: {@code onAppend} for each, in
     * order; after a failure the rest of the range is not told.
     *
     * @param from the first new position
     * @param to   one past the last
     * @param live the shard's live key view
     */
    public void append(int from, int to, KeyView live) {
        if (!prompted) {
            return;
        }
        try {
            for (int p = from; p < to; p++) {
                policy.onAppend(p, live);
            }
        } catch (Throwable e) {
            rethrowIfFatal(e);
            events.policyFailed("onAppend", e);
        }
    }

    /**
     * A step's maintenance, between its {@link #append} and its {@link #select}: lagged results now due
     * are applied, the policy hands out what is due, and lagged results due at once are applied. Counts
     * one step of the {@link Maintenance.Lagged lag}.
     *
     * @param live the shard's live key view
     */
    public void maintain(KeyView live) {
        if (!prompted) {
            return;
        }
        applyDue();
        handOut(live);
        applyDue();
        step++;
    }

    /**
     * Resets {@code out} to this step and lets the policy select.
     *
     * @param queries the step's queries {@code (out.heads(), headDim)}
     * @param keys    the shard's live key view, this step's key included
     * @param budget  positions per query head
     * @param out     the selection to fill
     * @return {@code true}, or {@code false} if the policy failed (reported; attend exactly)
     */
    public boolean select(Queries queries, KeyView keys, int budget, SelectionBuffer out) {
        out.reset(budget, keys.size());
        try {
            policy.select(queries, keys, budget, out);
            return true;
        } catch (Throwable e) {
            rethrowIfFatal(e);
            events.policyFailed("select", e);
            return false;
        }
    }

    /**
     * An asynchronous task's outcome, back on the shard's thread: its result is applied (or its failure
     * reported), then the policy may hand out more.
     *
     * @param task    the task the launcher was given
     * @param result  what its {@code compute} returned, when it did not fail
     * @param failure what it threw (a {@link CompletionException} is unwrapped), or {@code null}
     * @param live    the shard's live key view
     * @throws IllegalStateException if no asynchronous task is outstanding
     */
    public void completed(MaintenanceTask<?> task, Object result, Throwable failure, KeyView live) {
        if (outstanding == 0) {
            throw new IllegalStateException("no maintenance task is outstanding, yet '" + task.description()
                    + "' completed");
        }
        outstanding--;
        if (closed) {
            return;
        }
        if (failure != null) {
            Throwable cause = failure instanceof CompletionException c && c.getCause() != null ? c.getCause() : failure;
            events.policyFailed("maintenance '" + task.description() + "'", cause);
        } else {
            applyUnchecked(task, result);
        }
        handOut(live);
    }

    /** Closes the policy; lagged results not yet applied are dropped. Only the first call does anything. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        lagged.clear();
        try {
            policy.close();
        } catch (Throwable e) {
            rethrowIfFatal(e);
            events.policyFailed("close", e);
        }
    }

    /** A {@link VirtualMachineError} is not the policy's failure to report: it goes on to the caller. */
    private static void rethrowIfFatal(Throwable e) {
        if (e instanceof VirtualMachineError fatal) {
            throw fatal;
        }
    }

    private void handOut(KeyView live) {
        for (int i = 0; i < MAX_TASKS_PER_CALL && outstanding < maxOutstanding; i++) {
            MaintenanceTask<?> task;
            try {
                task = policy.pollMaintenance(live.snapshot()).orElse(null);
            } catch (Throwable e) {
                rethrowIfFatal(e);
                events.policyFailed("pollMaintenance", e);
                return;
            }
            if (task == null) {
                return;
            }
            events.maintenanceStarted(task);
            run(task);
        }
    }

    private <R> void run(MaintenanceTask<R> task) {
        long due;
        switch (maintenance) {
            case Maintenance.Async async -> {
                outstanding++;
                async.launcher().launch(task);
                return;
            }
            case Maintenance.Inline _ -> due = -1;
            case Maintenance.Lagged lag -> due = lag.steps() == Maintenance.Lagged.NEVER ? Long.MAX_VALUE
                    : (long) step + lag.steps();
        }
        R result;
        try {
            result = task.compute();
        } catch (Throwable e) {
            rethrowIfFatal(e);
            events.policyFailed("maintenance '" + task.description() + "'", e);
            return;
        }
        if (due < 0) {
            apply(task, result);
        } else {
            lagged.add(new Computed<>(task, result, due));
        }
    }

    private void applyDue() {
        while (!lagged.isEmpty() && lagged.peek().dueStep() <= step) {
            applyComputed(lagged.poll());
        }
    }

    private <R> void applyComputed(Computed<R> c) {
        apply(c.task(), c.result());
    }

    @SuppressWarnings("unchecked")
    private <R> void applyUnchecked(MaintenanceTask<R> task, Object result) {
        apply(task, (R) result); // the launcher hands back what this task's compute returned
    }

    private <R> void apply(MaintenanceTask<R> task, R result) {
        try {
            task.apply(result);
        } catch (Throwable e) {
            rethrowIfFatal(e);
            events.policyFailed("maintenance apply '" + task.description() + "'", e);
            return;
        }
        events.maintenanceApplied(task);
    }
}

package io.clusterkv.spi;

import java.util.Optional;

/**
 * The recall policy of one shard: it keeps whatever index it needs over the shard's keys and, at
 * every decode step, picks the positions each query head attends.
 *
 * <p>Threading: every method is called from the shard's single thread, never concurrently (see the
 * package documentation for the order). Only {@link MaintenanceTask#compute()} runs elsewhere.
 *
 * <p>The trivial policy attends the newest {@code budget} positions, in pages of 16 so that each
 * page is one residency unit whose version changes with its membership (see {@link HeadSelection});
 * this is the {@code select} of {@code RecentPolicy} in this module's tests, which passes the
 * conformance kit:
 * {@snippet lang=java id="recent-policy" :
 * public void select(Queries queries, KeyView keys, int budget, Selection out) {
 *     int n = keys.size();
 *     int from = Math.max(0, n - budget);
 *     for (int h = 0; h < out.heads(); h++) {
 *         out.head(h).addPages(0, 16, from, n); // one unit per page of 16 positions
 *     }
 * }
 * }
 *
 * <p>A policy that ranks fixed pages by a score writes one function on {@link PageScoringPolicy}.
 */
public interface RecallPolicy extends AutoCloseable {

    /**
     * The prompt's keys are written, positions {@code [0, keys.size())}. Called once, before any
     * other call. A policy that indexes the prompt asynchronously returns that work from the next
     * {@link #pollMaintenance}.
     *
     * @param keys the shard's live key view
     */
    default void onPrompt(KeyView keys) {
    }

    /**
     * One key was appended, at {@code position == keys.size() - 1}. Called before the
     * {@link #select} of the step that produced it. Must be cheap: it is on the decode path.
     *
     * @param position the new position
     * @param keys     the shard's live key view
     */
    default void onAppend(int position, KeyView keys) {
    }

    /**
     * Hands out maintenance work that is due, if any. The runtime calls this when it has room for
     * more outstanding work (its only back-pressure), runs the task's {@link MaintenanceTask#compute()}
     * off the decode path and later calls {@link MaintenanceTask#apply}. A policy must tolerate the
     * result arriving any number of steps later.
     *
     * @param snapshot an immutable view of the keys written so far, safe to capture in the task
     * @return the due task, or empty
     */
    default Optional<MaintenanceTask<?>> pollMaintenance(KeyView snapshot) {
        return Optional.empty();
    }

    /**
     * Selects, for each query head, the positions it attends at this step.
     *
     * <p>Contract (checked by the conformance kit): at most {@code budget} explicit positions per head
     * ({@link HeadSelection} enforces it), each in {@code [0, keys.size())}, no position twice,
     * none inside the head's recent window; every position of {@link #alwaysAttended} is attended;
     * when {@code keys.size() <= budget} every position is attended; the same inputs, config and seed
     * give the same selection. Must not allocate per call in steady state.
     *
     * @param queries the step's queries, {@code (out.heads(), headDim)}
     * @param keys    the shard's live key view, including this step's key
     * @param budget  explicit positions each query head may attend, {@code >= 1}
     * @param out     the selection to fill, empty, for this budget and context size
     */
    void select(Queries queries, KeyView keys, int budget, Selection out);

    /**
     * Positions this policy always attends, whatever the query (e.g. attention sinks). Not on the
     * decode path: used by checks and reports.
     *
     * @param contextSize positions written
     * @param budget      the step's budget
     * @return the positions, in any order; empty by default
     */
    default int[] alwaysAttended(int contextSize, int budget) {
        return new int[0];
    }

    /** Releases anything the policy holds. Called once, from the shard's thread. */
    @Override
    default void close() {
    }
}

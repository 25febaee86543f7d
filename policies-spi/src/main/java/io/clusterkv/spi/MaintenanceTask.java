package io.clusterkv.spi;

/**
 * Asynchronous index maintenance a policy hands to the runtime (e.g. ClusterKV's k-means over the
 * prompt, or over the newest {@code m} keys every {@code m} steps).
 *
 * <p>{@link #compute()} is a pure function over state the task captured when it was created (an
 * immutable {@link KeyView#snapshot()}, copies of parameters); it runs on the runtime's maintenance
 * threads while the shard goes on decoding, and must not touch the policy's mutable state.
 * {@link #apply} then runs on the shard's own thread, at a later step the policy cannot predict, and
 * merges the result. Until then the policy must still return valid selections that cover the
 * positions the task is about (typically attending them as its recent window), so accuracy never
 * depends on timing.
 *
 * @param <R> the result type
 */
public interface MaintenanceTask<R> {

    /** @return what the task does, for logs and metrics, e.g. {@code "cluster positions 16..32000 into 400"} */
    String description();

    /**
     * Does the work. Runs off the shard's thread; may take long.
     *
     * @return the result, handed to {@link #apply}
     */
    R compute();

    /**
     * Merges a result into the policy. Runs on the shard's thread, between two steps.
     *
     * @param result what {@link #compute()} returned
     */
    void apply(R result);

    /**
     * Runs {@link #compute()} then {@link #apply} at once, as a synchronous caller would.
     *
     * @param task the task
     * @param <R>  its result type
     */
    static <R> void runNow(MaintenanceTask<R> task) {
        task.apply(task.compute());
    }
}

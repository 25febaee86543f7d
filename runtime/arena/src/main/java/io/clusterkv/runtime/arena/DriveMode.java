package io.clusterkv.runtime.arena;

/**
 * The seam for the arena's <b>drive</b> mode: each policy decodes on its own, through the runtime's
 * sessions (shard actors, asynchronous maintenance, the residency cache), and reports what that cost
 * and how far it strayed from exact attention. The arena itself only replays; it calls a
 * {@code DriveMode} when one is given to {@link PolicyArena#run(ArenaSpec, io.clusterkv.runtime.policy.PolicyRegistry,
 * ArenaProgress, DriveMode)} and otherwise records drive results as not run
 * ({@link ArenaResult.DriveStatus#NOT_RUN}).
 *
 * <p><b>When it is called.</b> Only for a model input ({@link ArenaInput.Model}); the synthetic KV
 * workload has no model to decode. Once per context length, policy and budget, after the replay of
 * that context, on the arena's thread, one call at a time. The model in the request stays open for the
 * call; the implementation creates and closes its own session(s) and must leave nothing running.
 *
 * <p><b>What it must do</b>, for {@link DriveRequest#policy()} at {@link DriveRequest#budget()}
 * (with {@link DriveRequest#overrides()} as the policy's config section, the first
 * {@link DriveRequest#denseLayers()} layers exact, the residency rule {@link DriveRequest#residency()},
 * the seed {@link DriveRequest#seed()}):
 * <ol>
 * <li>prefill {@link DriveRequest#prompt()} (exact attention, as a session does);
 * <li>teacher-force {@link DriveRequest#continuation()}: at step {@code t} the logits come from decoding
 * with the policy's selections, after feeding {@code prompt} and {@code continuation[0..t)}; they score
 * {@code continuation[t]} (the first step's logits are the prefill's);
 * <li>return, in a {@link DriveFigures}: the perplexity {@code exp(mean_t -log p(continuation[t]))};
 * greedy agreement, the fraction of steps {@code t} whose argmax token (lowest id on ties, as
 * {@link io.clusterkv.runtime.model.Sampler#argmax}) equals {@link DriveRequest#exactArgmax()}{@code [t]},
 * the exact model's argmax at the same step; decode tokens per second (decode steps only, prefill
 * excluded, wall clock); KV bytes moved into the device tier (residency misses) over the decode steps;
 * and the residency hit rate (hits / unit requests) over the same steps.
 * </ol>
 * The arena divides the perplexity by the exact one it measured itself over the same tokens (the
 * perplexity ratio, 1 for {@code full}) and stores everything in {@link ArenaResult.Entry#drive()}.
 *
 * <p><b>Errors.</b> Whatever the call throws (a bad residency rule or config value should be an
 * {@link IllegalArgumentException} naming it) is recorded as an {@link ArenaResult.Failure} of mode
 * {@code drive} for that context, policy and budget, and the arena goes on with the others.
 *
 * <p>Implementations: none in the runtime yet (the actor-runtime sessions, issue 6, will provide one).
 */
@FunctionalInterface
public interface DriveMode {

    /**
     * Decodes the request's continuation with one policy at one budget.
     *
     * @param request what to decode and how
     * @return the figures
     * @throws IllegalArgumentException if the residency rule or a config value is invalid, naming it
     * @throws RuntimeException         if decoding fails; recorded as a failure of this policy and budget
     */
    DriveFigures drive(DriveRequest request);
}

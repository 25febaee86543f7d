package io.clusterkv.runtime.arena;

import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.policy.SelectionScope;
import java.util.Map;
import java.util.Objects;

/**
 * One drive-mode run: a policy at a budget decoding a model over a prompt and a reference continuation.
 * See {@link DriveMode} for what is done with it. Arrays are the arena's own copies: read them, do not
 * write them.
 *
 * @param policy       the policy's name, as {@link io.clusterkv.runtime.policy.PolicyRegistry} knows it (for an
 *                     arena variant, its base policy: {@link ArenaSpec#policyOf})
 * @param budget       positions each query head attends per step, {@code >= 1}
 * @param overrides    the policy's config section ({@code key -> value}), possibly empty (for a variant, its
 *                     values: {@link ArenaSpec#overridesOf})
 * @param model        the model, open for the duration of the call
 * @param prompt       the prompt's token ids, prefilled exactly, at least one
 * @param continuation the reference continuation's token ids, teacher-forced, at least one
 * @param exactArgmax  {@code (continuation.length)}: the exact model's argmax token at each step of the
 *                     same teacher-forced run, for greedy agreement
 * @param residency    the residency rule of the device tier, e.g. {@code "caffeine"}; an implementation
 *                     rejects rules it does not know
 * @param selectionScope with grouped-query attention, whether each query head selects or a group shares one
 *                     selection ({@code clusterkv.runtime.selection-scope})
 * @param denseLayers  the first layers, attended exactly whatever the policy, {@code >= 0}
 * @param seed         the session seed (policies derive their shard seeds from it)
 */
public record DriveRequest(String policy, int budget, Map<String, String> overrides, LlamaModel model, int[] prompt,
        int[] continuation, int[] exactArgmax, String residency, SelectionScope selectionScope, int denseLayers, long seed) {

    /**
     * @throws IllegalArgumentException if a count is out of range or the arrays disagree in length
     * @throws NullPointerException     if a reference is null
     */
    public DriveRequest {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(residency, "residency");
        Objects.requireNonNull(selectionScope, "selectionScope");
        overrides = Map.copyOf(overrides);
        if (budget < 1) {
            throw new IllegalArgumentException("budget must be >= 1, was " + budget);
        }
        if (prompt.length < 1 || continuation.length < 1) {
            throw new IllegalArgumentException("prompt and continuation need at least one token each, had "
                    + prompt.length + " and " + continuation.length);
        }
        if (exactArgmax.length != continuation.length) {
            throw new IllegalArgumentException("exactArgmax must have one token per continuation step ("
                    + continuation.length + "), had " + exactArgmax.length);
        }
        if (denseLayers < 0) {
            throw new IllegalArgumentException("denseLayers must be >= 0, was " + denseLayers);
        }
    }
}

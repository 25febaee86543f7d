package io.clusterkv.runtime.arena;

import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * What the {@link PolicyArena} runs.
 *
 * @param input          the synthetic KV workload or a model with a prompt
 * @param contexts       context lengths (prompt positions) to replay at, each {@code >= 1}, kept sorted and
 *                       without duplicates; recall is charted at each, cost against them. Empty: the
 *                       defaults of the input, {@link #SYNTHETIC_CONTEXTS} for the synthetic workload; for a
 *                       model, the given prompt's length, or a quarter, a half and all of
 *                       {@code min(1024, model context - steps)} when the prompt is generated
 * @param steps          decode steps replayed after each context's prompt, {@code >= 1}
 * @param budgets        budgets (positions per query head per step), each {@code >= 1}; sorted, distinct.
 *                       Empty: {@link #SYNTHETIC_BUDGETS} for the synthetic workload; for a model, the
 *                       powers of two from 16 up to a quarter of the longest context (rounded up)
 * @param policies       policy names, in the order to report them; empty means every policy found
 * @param overrides      config overrides by policy name, then key inside the policy's section
 * @param maintenanceLag steps between a policy handing out maintenance and its result being applied
 *                       ({@code 0}: at once, synchronously), to show the effect of asynchronous indexing
 * @param denseLayers    the first layers of a model that sessions attend exactly whatever the policy (2 in
 *                       both papers); policies still select there and are scored, but those layers are
 *                       left out of each entry's summary (reported per layer only). Must leave at least
 *                       one layer of the model; {@link #DEFAULT_DENSE_LAYERS} means 2, or fewer for a
 *                       model of at most 2 layers. Ignored by the synthetic workload, which has no layers
 * @param residency      the residency rule of the device tier for drive mode (e.g. {@code caffeine});
 *                       replay does not use it
 * @param selectionScope with grouped-query attention, whom a selection is for: each query head
 *                       ({@link SelectionScope#HEAD}, the default) or the group of a KV head, sharing one
 *                       selection made from the mean of its queries ({@link SelectionScope#GROUP}). Replay
 *                       creates each policy with {@link SelectionScope#policyGeometry} and scores every query
 *                       head against the group's one selection; drive sets
 *                       {@code clusterkv.runtime.selection-scope}. With one query head per KV head both are the same
 * @param seed           the seed: of the synthetic workload, of the policies' shard seeds, of sessions
 */
public record ArenaSpec(ArenaInput input, List<Integer> contexts, int steps, List<Integer> budgets, List<String> policies,
        Map<String, Map<String, String>> overrides, int maintenanceLag, int denseLayers, String residency,
        SelectionScope selectionScope, long seed) {

    /** The residency rule when none is given: exact LRU, the runtime's default. */
    public static final String DEFAULT_RESIDENCY = "lru";

    /** {@link #denseLayers()}: 2, as both papers, but at most the model's layers less one. */
    public static final int DEFAULT_DENSE_LAYERS = -1;

    /** The synthetic workload's context lengths when none are given. */
    public static final List<Integer> SYNTHETIC_CONTEXTS = List.of(2048, 8192, 32768);

    /** The synthetic workload's budgets when none are given. */
    public static final List<Integer> SYNTHETIC_BUDGETS = List.of(128, 256, 512, 1024, 2048);

    /**
     * @throws IllegalArgumentException if a count, context or budget is out of range, naming the value
     */
    public ArenaSpec {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(residency, "residency");
        Objects.requireNonNull(selectionScope, "selectionScope");
        contexts = sortedPositive("context", contexts);
        budgets = sortedPositive("budget", budgets);
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, was " + steps);
        }
        if (maintenanceLag < 0) {
            throw new IllegalArgumentException("maintenanceLag must be >= 0, was " + maintenanceLag);
        }
        if (denseLayers < DEFAULT_DENSE_LAYERS) {
            throw new IllegalArgumentException("denseLayers must be >= 0 (or DEFAULT_DENSE_LAYERS), was " + denseLayers);
        }
        if (residency.isBlank()) {
            throw new IllegalArgumentException("residency must not be blank");
        }
        policies = List.copyOf(new java.util.LinkedHashSet<>(policies));
        Map<String, Map<String, String>> copy = new LinkedHashMap<>();
        overrides.forEach((policy, section) -> copy.put(policy, Map.copyOf(section)));
        overrides = Map.copyOf(copy);
    }

    private static List<Integer> sortedPositive(String what, List<Integer> values) {
        for (int v : values) {
            if (v < 1) {
                throw new IllegalArgumentException(what + " must be >= 1 position"
                        + (what.equals("budget") ? " per query head" : "") + ", was " + v);
            }
        }
        return List.copyOf(new TreeSet<>(values));
    }

    /**
     * The built-in defaults, what {@code ckv arena} runs without arguments: the synthetic workload (head
     * dim 128, four query heads on each of two KV heads) at {@link #SYNTHETIC_CONTEXTS}, 32 decode steps
     * each, at {@link #SYNTHETIC_BUDGETS}, every policy found, each query head selecting for itself, seed 42.
     *
     * @return the defaults
     */
    public static ArenaSpec defaults() {
        return new ArenaSpec(new ArenaInput.SyntheticKv(WorkloadParams.defaults(), 2), List.of(), 32, List.of(),
                List.of(), Map.of(), 0, DEFAULT_DENSE_LAYERS, DEFAULT_RESIDENCY, SelectionScope.HEAD, 42);
    }

    /**
     * @param v the new input
     * @return a copy with {@link #input()} changed
     */
    public ArenaSpec withInput(ArenaInput v) {
        return new ArenaSpec(v, contexts, steps, budgets, policies, overrides, maintenanceLag, denseLayers,
                residency, selectionScope, seed);
    }

    /**
     * @param v the new contexts
     * @return a copy with {@link #contexts()} changed
     * @throws IllegalArgumentException if a context is out of range
     */
    public ArenaSpec withContexts(List<Integer> v) {
        return new ArenaSpec(input, v, steps, budgets, policies, overrides, maintenanceLag, denseLayers,
                residency, selectionScope, seed);
    }

    /**
     * @param v the new steps
     * @return a copy with {@link #steps()} changed
     * @throws IllegalArgumentException if out of range
     */
    public ArenaSpec withSteps(int v) {
        return new ArenaSpec(input, contexts, v, budgets, policies, overrides, maintenanceLag, denseLayers,
                residency, selectionScope, seed);
    }

    /**
     * @param v the new budgets
     * @return a copy with {@link #budgets()} changed
     * @throws IllegalArgumentException if a budget is out of range
     */
    public ArenaSpec withBudgets(List<Integer> v) {
        return new ArenaSpec(input, contexts, steps, v, policies, overrides, maintenanceLag, denseLayers,
                residency, selectionScope, seed);
    }

    /**
     * @param v the new policy names; empty for every policy found
     * @return a copy with {@link #policies()} changed
     */
    public ArenaSpec withPolicies(List<String> v) {
        return new ArenaSpec(input, contexts, steps, budgets, v, overrides, maintenanceLag, denseLayers,
                residency, selectionScope, seed);
    }

    /**
     * @param v the new dense layers
     * @return a copy with {@link #denseLayers()} changed
     * @throws IllegalArgumentException if out of range
     */
    public ArenaSpec withDenseLayers(int v) {
        return new ArenaSpec(input, contexts, steps, budgets, policies, overrides, maintenanceLag, v,
                residency, selectionScope, seed);
    }

    /**
     * @param v the new selection scope
     * @return a copy with {@link #selectionScope()} changed
     */
    public ArenaSpec withSelectionScope(SelectionScope v) {
        return new ArenaSpec(input, contexts, steps, budgets, policies, overrides, maintenanceLag, denseLayers,
                residency, v, seed);
    }
}

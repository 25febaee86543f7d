package io.clusterkv.runtime.arena;

import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import io.clusterkv.spi.PolicyConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * What the {@link PolicyArena} runs.
 *
 * <p><b>Entries.</b> What competes are entries, each under a label: every policy of {@link #policies()}
 * (or every policy found) under its own name, then each {@link Variant} under its label, a base policy
 * with config values of its own, so that one run compares a policy under several configurations. An
 * entry resolves to the policy to create and its config section by {@link #policyOf} and
 * {@link #overridesOf}; {@link #entries(PolicyRegistry)} lists and checks them.
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
 * @param variants       named configurations of policies, each an entry after the policies', in this order;
 *                       labels unique and none among {@code policies}
 */
public record ArenaSpec(ArenaInput input, List<Integer> contexts, int steps, List<Integer> budgets, List<String> policies,
        Map<String, Map<String, String>> overrides, int maintenanceLag, int denseLayers, String residency,
        SelectionScope selectionScope, long seed, List<Variant> variants) {

    /** The residency rule when none is given: exact LRU, the runtime's default. */
    public static final String DEFAULT_RESIDENCY = "lru";

    /** {@link #denseLayers()}: 2, as both papers, but at most the model's layers less one. */
    public static final int DEFAULT_DENSE_LAYERS = -1;

    /** The synthetic workload's context lengths when none are given. */
    public static final List<Integer> SYNTHETIC_CONTEXTS = List.of(2048, 8192, 32768);

    /** The synthetic workload's budgets when none are given. */
    public static final List<Integer> SYNTHETIC_BUDGETS = List.of(128, 256, 512, 1024, 2048);

    /**
     * A policy under a configuration of its own, competing as an entry named {@code label}. Its config
     * section is the spec's overrides for {@code policy}, if any, with {@code overrides} on top.
     *
     * <p>On the command line ({@link #parse}): {@value #SYNTAX}, e.g.
     * {@code clusterkv-topp=clusterkv:top-p=0.9} or {@code clusterkv-ref=clusterkv:preset=reference}.
     *
     * @param label     the entry's name in tables and results: lower-case letters, digits and {@code -},
     *                  starting with a letter or digit; not the name of a policy found
     * @param policy    the policy it configures, by name
     * @param overrides config values inside {@code clusterkv.policy.<policy>}, possibly empty
     */
    public record Variant(String label, String policy, Map<String, String> overrides) {

        /** How a variant is written on the command line. */
        public static final String SYNTAX = "LABEL=POLICY[:KEY=VALUE[,KEY=VALUE...]]";

        private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]*");

        /**
         * @throws IllegalArgumentException if the label or policy is not a name, or a key is blank, naming it
         */
        public Variant {
            Objects.requireNonNull(label, "label");
            Objects.requireNonNull(policy, "policy");
            if (!NAME.matcher(label).matches()) {
                throw new IllegalArgumentException("variant label '" + label
                        + "': expected lower-case letters, digits and '-', e.g. clusterkv-topp");
            }
            if (!NAME.matcher(policy).matches()) {
                throw new IllegalArgumentException("variant " + label + ": '" + policy + "' is not a policy name");
            }
            Map<String, String> copy = new LinkedHashMap<>();
            overrides.forEach((k, v) -> {
                if (k.isBlank()) {
                    throw new IllegalArgumentException("variant " + label + ": a config key is blank");
                }
                copy.put(k, Objects.requireNonNull(v, k));
            });
            overrides = java.util.Collections.unmodifiableMap(copy);
        }

        /**
         * Parses {@value #SYNTAX}.
         *
         * @param text e.g. {@code clusterkv-topp=clusterkv:top-p=0.9,sink=8}
         * @return the variant
         * @throws IllegalArgumentException if the text does not follow the syntax, naming the text
         */
        public static Variant parse(String text) {
            int eq = text.indexOf('=');
            int colon = text.indexOf(':');
            if (eq <= 0 || (colon >= 0 && colon < eq)) {
                throw new IllegalArgumentException("'" + text + "': expected " + SYNTAX
                        + ", e.g. clusterkv-topp=clusterkv:top-p=0.9");
            }
            String label = text.substring(0, eq).trim();
            String policy = colon < 0 ? text.substring(eq + 1) : text.substring(eq + 1, colon);
            Map<String, String> overrides = new LinkedHashMap<>();
            if (colon >= 0) {
                for (String setting : text.substring(colon + 1).split(",", -1)) {
                    int at = setting.indexOf('=');
                    if (at <= 0 || setting.substring(0, at).isBlank()) {
                        throw new IllegalArgumentException("'" + text + "': expected KEY=VALUE after ':', got '"
                                + setting + "' (" + SYNTAX + ")");
                    }
                    String key = setting.substring(0, at).trim();
                    if (overrides.put(key, setting.substring(at + 1).trim()) != null) {
                        throw new IllegalArgumentException("'" + text + "': key '" + key + "' given twice");
                    }
                }
            }
            return new Variant(label, policy.trim(), overrides);
        }

        /** @return as written on the command line, e.g. {@code clusterkv-topp=clusterkv:top-p=0.9} */
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(label).append('=').append(policy);
            String sep = ":";
            for (Map.Entry<String, String> e : overrides.entrySet()) {
                sb.append(sep).append(e.getKey()).append('=').append(e.getValue());
                sep = ",";
            }
            return sb.toString();
        }
    }

    /**
     * The spec without variants, as before they existed.
     *
     * @throws IllegalArgumentException as the canonical constructor
     */
    public ArenaSpec(ArenaInput input, List<Integer> contexts, int steps, List<Integer> budgets, List<String> policies,
            Map<String, Map<String, String>> overrides, int maintenanceLag, int denseLayers, String residency,
            SelectionScope selectionScope, long seed) {
        this(input, contexts, steps, budgets, policies, overrides, maintenanceLag, denseLayers, residency,
                selectionScope, seed, List.of());
    }

    /**
     * @throws IllegalArgumentException if a count, context or budget is out of range, or two variants share
     *                                  a label or one is labelled as a policy of {@code policies}, naming the value
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
        variants = List.copyOf(variants);
        Set<String> labels = new HashSet<>();
        for (Variant v : variants) {
            if (!labels.add(v.label())) {
                throw new IllegalArgumentException("two variants are labelled '" + v.label() + "'");
            }
            if (policies.contains(v.label())) {
                throw new IllegalArgumentException("variant label '" + v.label()
                        + "' is a policy's name; pick another label");
            }
        }
    }

    /**
     * The entries, in report order: {@link #policies()} (or, when it is empty, {@code found}) then the
     * variants' labels.
     *
     * @param found the names of the policies found, for an empty {@link #policies()}
     * @return the entries' labels
     */
    public List<String> entries(List<String> found) {
        List<String> out = new ArrayList<>(policies.isEmpty() ? found : policies);
        variants.forEach(v -> out.add(v.label()));
        return List.copyOf(out);
    }

    /**
     * The entries, checked against the policies found: every policy named (in {@link #policies()}, the
     * overrides or a variant) is found, no variant's label is a policy's name, and every config key of the
     * overrides and variants is one its policy declares. Values are checked when a policy is created.
     *
     * @param registry the policies found
     * @return the entries' labels, as {@link #entries(List)}
     * @throws io.clusterkv.runtime.policy.UnknownPolicyException if a policy named is not found
     * @throws io.clusterkv.spi.PolicyConfigException            if a key is not one its policy declares,
     *                                                            naming the full key
     * @throws IllegalArgumentException                          if a variant's label is a policy's name
     */
    public List<String> entries(PolicyRegistry registry) {
        for (String name : policies) {
            registry.provider(name);
        }
        for (Map.Entry<String, Map<String, String>> e : overrides.entrySet()) {
            var provider = registry.provider(e.getKey());
            PolicyConfig.of(provider.name(), provider.configKeys(), e.getValue());
        }
        for (Variant v : variants) {
            var provider = registry.provider(v.policy());
            if (registry.providers().containsKey(v.label())) {
                throw new IllegalArgumentException("variant label '" + v.label()
                        + "' is the name of a policy found; pick another label");
            }
            PolicyConfig.of(provider.name(), provider.configKeys(), overridesOf(v.label()));
        }
        return entries(registry.names());
    }

    /**
     * @param label an entry's label
     * @return the variant of that label, if it is one
     */
    public Optional<Variant> variant(String label) {
        return variants.stream().filter(v -> v.label().equals(label)).findFirst();
    }

    /**
     * @param label an entry's label
     * @return the policy to create for it: a variant's base policy, else the label itself
     */
    public String policyOf(String label) {
        return variant(label).map(Variant::policy).orElse(label);
    }

    /**
     * @param label an entry's label
     * @return its config section's values: the overrides of its policy, then, for a variant, its own on top
     */
    public Map<String, String> overridesOf(String label) {
        Map<String, String> base = overrides.getOrDefault(policyOf(label), Map.of());
        Optional<Variant> v = variant(label);
        if (v.isEmpty()) {
            return base;
        }
        Map<String, String> merged = new LinkedHashMap<>(base);
        merged.putAll(v.get().overrides());
        return java.util.Collections.unmodifiableMap(merged);
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
                residency, selectionScope, seed, variants);
    }

    /**
     * @param v the new contexts
     * @return a copy with {@link #contexts()} changed
     * @throws IllegalArgumentException if a context is out of range
     */
    public ArenaSpec withContexts(List<Integer> v) {
        return new ArenaSpec(input, v, steps, budgets, policies, overrides, maintenanceLag, denseLayers,
                residency, selectionScope, seed, variants);
    }

    /**
     * @param v the new steps
     * @return a copy with {@link #steps()} changed
     * @throws IllegalArgumentException if out of range
     */
    public ArenaSpec withSteps(int v) {
        return new ArenaSpec(input, contexts, v, budgets, policies, overrides, maintenanceLag, denseLayers,
                residency, selectionScope, seed, variants);
    }

    /**
     * @param v the new budgets
     * @return a copy with {@link #budgets()} changed
     * @throws IllegalArgumentException if a budget is out of range
     */
    public ArenaSpec withBudgets(List<Integer> v) {
        return new ArenaSpec(input, contexts, steps, v, policies, overrides, maintenanceLag, denseLayers,
                residency, selectionScope, seed, variants);
    }

    /**
     * @param v the new policy names; empty for every policy found
     * @return a copy with {@link #policies()} changed
     */
    public ArenaSpec withPolicies(List<String> v) {
        return new ArenaSpec(input, contexts, steps, budgets, v, overrides, maintenanceLag, denseLayers,
                residency, selectionScope, seed, variants);
    }

    /**
     * @param v the new dense layers
     * @return a copy with {@link #denseLayers()} changed
     * @throws IllegalArgumentException if out of range
     */
    public ArenaSpec withDenseLayers(int v) {
        return new ArenaSpec(input, contexts, steps, budgets, policies, overrides, maintenanceLag, v,
                residency, selectionScope, seed, variants);
    }

    /**
     * @param v the new selection scope
     * @return a copy with {@link #selectionScope()} changed
     */
    public ArenaSpec withSelectionScope(SelectionScope v) {
        return new ArenaSpec(input, contexts, steps, budgets, policies, overrides, maintenanceLag, denseLayers,
                residency, v, seed, variants);
    }

    /**
     * @param v the new variants
     * @return a copy with {@link #variants()} changed
     * @throws IllegalArgumentException if two share a label or one is labelled as a policy of {@link #policies()}
     */
    public ArenaSpec withVariants(List<Variant> v) {
        return new ArenaSpec(input, contexts, steps, budgets, policies, overrides, maintenanceLag, denseLayers,
                residency, selectionScope, seed, v);
    }
}

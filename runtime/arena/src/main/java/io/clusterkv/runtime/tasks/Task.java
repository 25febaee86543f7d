package io.clusterkv.runtime.tasks;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The long-context tasks. Each is generated for a context length {@code n}, a needle depth in
 * {@code [0, 1]} and a seed ({@link #generate}); the constructions follow the passkey retrieval of Quest
 * (Tang et al., ICML 2024, arXiv 2406.10774), itself from Landmark Attention (Mohtashami and Jaggi,
 * 2023, arXiv 2305.16300), and RULER (Hsieh et al., 2024, arXiv 2404.06654), word for word where the
 * word-level vocabulary allows; {@code docs/TASKS.md} gives each template.
 */
public enum Task {

    /** Quest's passkey: a 5-digit pass key hidden in noise; answer its 5 digits. */
    PASSKEY("passkey", "Quest / Landmark Attention passkey retrieval"),
    /** RULER niah_single_1: one needle "one of the special magic numbers for K is V"; answer V. */
    NIAH_SINGLE("niah-single", "RULER niah_single_1"),
    /** RULER niah_multikey_1: the target needle and 3 needles of other keys; answer the target's value. */
    NIAH_MULTIKEY("niah-multikey", "RULER niah_multikey_1"),
    /** RULER niah_multivalue: 4 values for one key, each addressed by its ordinal; answer all 4. */
    NIAH_MULTIVALUE("niah-multivalue", "RULER niah_multivalue"),
    /** RULER niah_multiquery: 4 keys, one value each; answer all 4. */
    NIAH_MULTIQUERY("niah-multiquery", "RULER niah_multiquery"),
    /** RULER vt: a chain of 4 hops from a value and a distractor chain; answer the chain's 5 variables. */
    VARIABLE_TRACKING("variable-tracking", "RULER vt (1 chain of 4 hops, 1 distractor chain)");

    private final String id;
    private final String reference;

    Task(String id, String reference) {
        this.id = id;
        this.reference = reference;
    }

    /** @return the task's name on the command line and in results, e.g. {@code niah-multikey} */
    public String id() {
        return id;
    }

    /** @return where the task comes from, in words */
    public String reference() {
        return reference;
    }

    /** @return every task's {@link #id()}, in declaration order */
    public static List<String> names() {
        return Arrays.stream(values()).map(Task::id).toList();
    }

    /**
     * @param id a task's name, e.g. {@code passkey}
     * @return the task
     * @throws UnknownTaskException if no task has that name, listing the names
     */
    public static Task byId(String id) {
        Objects.requireNonNull(id, "id");
        for (Task t : values()) {
            if (t.id.equals(id)) {
                return t;
            }
        }
        throw new UnknownTaskException(id);
    }

    /**
     * Generates one instance. The same arguments always give the same instance.
     *
     * @param lexicon       how words become token ids
     * @param contextLength {@code n}: the context's tokens, BOS included
     * @param depth         where the (first) answer-bearing needle goes, a fraction of the haystack in
     *                      {@code [0, 1]}
     * @param seed          the seed of the instance's keys, values, passkey and other needles' depths
     * @return the instance
     * @throws TaskContextException     if {@code n} cannot hold the task's prefix and needles, naming both
     * @throws IllegalArgumentException if the depth is not in {@code [0, 1]}
     */
    public TaskInstance generate(TaskLexicon lexicon, int contextLength, double depth, long seed) {
        return TaskGenerator.generate(this, lexicon, contextLength, depth, seed);
    }

    @Override
    public String toString() {
        return id;
    }
}

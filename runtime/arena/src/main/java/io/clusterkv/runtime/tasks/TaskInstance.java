package io.clusterkv.runtime.tasks;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One generated instance of a {@link Task}.
 *
 * <p>Scoring protocol (ClusterKV's: the prompt is prefilled except its final question, which is decoded
 * through the sparse path token by token): prefill {@code context[0, n - 1)}, then teacher-force the
 * last context token and the {@link #continuation()}; {@code argmax[j]}, the model's most likely token
 * after {@code continuation[0, j)}, is its prediction of {@code continuation[j]}. The instance is
 * answered correctly iff {@code argmax[j] == continuation[j]} at every index of {@link #answers()}
 * ({@link #answeredBy}); under teacher forcing that is the same as greedy generation producing the
 * answer, since every token fed before a checked one is either fixed text or an answer token already
 * checked.
 *
 * @param task         the task
 * @param depth        the depth asked for: where the (first) answer-bearing needle went, as a fraction of
 *                     the haystack
 * @param seed         the seed it was generated from
 * @param context      {@code (n)} token ids, {@code context[0]} the BOS token; copied
 * @param continuation the question's tokens, then the answer's, with teacher-forced cloze prefixes
 *                     between the answers of multi-answer tasks; copied
 * @param answers      the continuation indices whose tokens are checked, increasing; copied
 * @param needles      the needles as placed in the context, in context order
 */
public record TaskInstance(Task task, double depth, long seed, int[] context, int[] continuation, int[] answers,
        List<Needle> needles) {

    /**
     * A needle: a run of context positions inserted into the haystack.
     *
     * @param start  its first context position
     * @param length its tokens
     * @param role   whether the answer is read from it
     */
    public record Needle(int start, int length, Role role) {

        /**
         * @throws IllegalArgumentException if the start is negative or the length not positive
         */
        public Needle {
            Objects.requireNonNull(role, "role");
            if (start < 0 || length < 1) {
                throw new IllegalArgumentException("a needle needs start >= 0 and length >= 1, got " + start
                        + " and " + length);
            }
        }

        /** @return the position after its last token */
        public int end() {
            return start + length;
        }
    }

    /** What a needle is for. */
    public enum Role {
        /** The answer (or part of it) is read from this needle: without it the task cannot be solved. */
        ANSWER,
        /** A needle of another key or another chain, there to be ignored. */
        DISTRACTOR
    }

    /**
     * @throws IllegalArgumentException if the context is empty, an answer index is outside the
     *                                  continuation or not increasing, or a needle lies outside the context
     */
    public TaskInstance {
        Objects.requireNonNull(task, "task");
        context = context.clone();
        continuation = continuation.clone();
        answers = answers.clone();
        needles = List.copyOf(needles);
        if (context.length < 1 || continuation.length < 1 || answers.length < 1) {
            throw new IllegalArgumentException("an instance needs a context, a continuation and an answer; got "
                    + context.length + ", " + continuation.length + " and " + answers.length + " tokens");
        }
        for (int i = 0; i < answers.length; i++) {
            if (answers[i] < 0 || answers[i] >= continuation.length || (i > 0 && answers[i] <= answers[i - 1])) {
                throw new IllegalArgumentException("answer index " + answers[i] + " is outside the continuation of "
                        + continuation.length + " tokens or not increasing");
            }
        }
        for (Needle needle : needles) {
            if (needle.end() > context.length) {
                throw new IllegalArgumentException("needle " + needle + " ends past the context of " + context.length);
            }
        }
    }

    /** @return {@code n}, the context's tokens */
    public int contextLength() {
        return context.length;
    }

    @Override
    public int[] context() {
        return context.clone();
    }

    @Override
    public int[] continuation() {
        return continuation.clone();
    }

    @Override
    public int[] answers() {
        return answers.clone();
    }

    /** @return the context positions of every token of every {@link Role#ANSWER} needle, increasing */
    public int[] needlePositions() {
        return needles.stream().filter(n -> n.role() == Role.ANSWER)
                .flatMapToInt(n -> java.util.stream.IntStream.range(n.start(), n.end())).toArray();
    }

    /**
     * @param argmax {@code (continuation.length)}: the model's most likely token at each continuation
     *               index under teacher forcing
     * @return whether every checked index holds its answer token
     * @throws IllegalArgumentException if {@code argmax} is not one token per continuation index
     */
    public boolean answeredBy(int[] argmax) {
        if (argmax.length != continuation.length) {
            throw new IllegalArgumentException("argmax has " + argmax.length + " tokens, the continuation "
                    + continuation.length);
        }
        for (int j : answers) {
            if (argmax[j] != continuation[j]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TaskInstance t && task == t.task && Double.compare(depth, t.depth) == 0 && seed == t.seed
                && Arrays.equals(context, t.context) && Arrays.equals(continuation, t.continuation)
                && Arrays.equals(answers, t.answers) && needles.equals(t.needles);
    }

    @Override
    public int hashCode() {
        return Objects.hash(task, depth, seed, Arrays.hashCode(context), Arrays.hashCode(continuation),
                Arrays.hashCode(answers), needles);
    }

    @Override
    public String toString() {
        return "TaskInstance[" + task + ", n=" + context.length + ", depth=" + depth + ", seed=" + seed
                + ", continuation " + continuation.length + " tokens, answers at " + Arrays.toString(answers)
                + ", needles " + needles + "]";
    }
}

package io.clusterkv.runtime.tasks;

import io.clusterkv.runtime.tasks.TaskInstance.Needle;
import io.clusterkv.runtime.tasks.TaskInstance.Role;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * The task constructions (see {@code docs/TASKS.md}, which gives them word for word).
 *
 * <p>Layout of a context of {@code n} tokens: BOS, the task's prefix, then the haystack with the
 * needles inserted. The haystack is the noise of Quest and RULER ({@link #NOISE}, five sentences
 * repeated) cut to {@code H = n - 1 - prefix - needles} tokens; a needle of depth {@code d} goes at the
 * last sentence boundary of the haystack at or before {@code floor(d * H)} haystack tokens, so exactly
 * that many haystack tokens precede it. Needles at one boundary keep the order they were made in (a
 * variable-tracking chain stays in order). Random choices (keys, values, the pass key, other needles'
 * depths) come from one {@link SplittableRandom} of the instance's seed, drawn in a fixed order.
 */
final class TaskGenerator {

    /** The noise haystack of Quest's passkey test and RULER's essay-free tasks. */
    static final List<String> NOISE = List.of("the grass is green .", "the sky is blue .", "the sun is yellow .",
            "here we go .", "there and back again .");

    static final String PASSKEY_PREFIX = "there is an important info hidden inside a lot of irrelevant text . "
            + "find it and memorize them . i will quiz you about the important information there .";
    static final String NIAH_PREFIX = "some special magic numbers are hidden within the following text . "
            + "make sure to memorize it . i will quiz you about the numbers afterwards .";
    static final String VT_PREFIX = "memorize and track the chain of variable assignment hidden in the following text .";
    static final List<String> ORDINALS = List.of("one", "two", "three", "four");

    /** Digits of the pass key. */
    static final int PASSKEY_DIGITS = 5;
    /** Needles of the multi-needle tasks (one target and three distractors, four values, four keys). */
    static final int NEEDLES = 4;
    /** Variables of a variable-tracking chain: a value and 4 hops. */
    static final int CHAIN = 5;

    private TaskGenerator() {
    }

    static TaskInstance generate(Task task, TaskLexicon lexicon, int n, double depth, long seed) {
        if (!(depth >= 0 && depth <= 1)) {
            throw new IllegalArgumentException("depth must be in [0, 1], was " + depth);
        }
        if (n < 1) {
            throw new TaskContextException(task, n, "task " + task + ": context length must be >= 1, was " + n);
        }
        RandomGenerator r = new SplittableRandom(seed);
        Draft d = new Draft(lexicon);
        switch (task) {
            case PASSKEY -> passkey(d, r, depth);
            case NIAH_SINGLE -> niah(d, r, depth, 0);
            case NIAH_MULTIKEY -> niah(d, r, depth, NEEDLES - 1);
            case NIAH_MULTIVALUE -> multivalue(d, r, depth);
            case NIAH_MULTIQUERY -> multiquery(d, r, depth);
            case VARIABLE_TRACKING -> variableTracking(d, r, depth);
        }
        return d.build(task, n, depth, seed);
    }

    private static void passkey(Draft d, RandomGenerator r, double depth) {
        int[] key = d.lex.passkey(Draws.passkey(PASSKEY_DIGITS, r));
        d.prefix(PASSKEY_PREFIX);
        d.needle(depth, Role.ANSWER, d.seq().w("the pass key is").t(key).w(". remember it .").t(key).w("is the pass key ."));
        d.ask().w("what is the pass key ? the pass key is").answer(key);
    }

    /** niah-single ({@code distractors = 0}) and niah-multikey: the target needle at the depth, the others anywhere. */
    private static void niah(Draft d, RandomGenerator r, double depth, int distractors) {
        List<int[]> keys = d.lex.keys(1 + distractors, r);
        List<int[]> values = d.lex.values(1 + distractors, r);
        d.prefix(NIAH_PREFIX);
        for (int i = 0; i <= distractors; i++) {
            d.needle(i == 0 ? depth : r.nextDouble(), i == 0 ? Role.ANSWER : Role.DISTRACTOR,
                    d.seq().w("one of the special magic numbers for").t(keys.get(i)).w("is").t(values.get(i)).w("."));
        }
        d.ask().w("what is the special magic number for").t(keys.get(0))
                .w("mentioned in the provided text ? the special magic number for").t(keys.get(0)).w("is")
                .answer(values.get(0));
    }

    private static void multivalue(Draft d, RandomGenerator r, double depth) {
        int[] key = d.lex.keys(1, r).getFirst();
        List<int[]> values = d.lex.values(NEEDLES, r);
        d.prefix(NIAH_PREFIX);
        for (int i = 0; i < NEEDLES; i++) {
            d.needle(i == 0 ? depth : r.nextDouble(), Role.ANSWER, d.seq().w("the special magic number for").t(key)
                    .w("number " + ORDINALS.get(i) + " is").t(values.get(i)).w("."));
        }
        Seq q = d.ask().w("what are all the special magic numbers for").t(key).w("mentioned in the provided text ?");
        for (int i = 0; i < NEEDLES; i++) {
            q.w("the special magic number for").t(key).w("number " + ORDINALS.get(i) + " is").answer(values.get(i));
        }
    }

    private static void multiquery(Draft d, RandomGenerator r, double depth) {
        List<int[]> keys = d.lex.keys(NEEDLES, r);
        List<int[]> values = d.lex.values(NEEDLES, r);
        d.prefix(NIAH_PREFIX);
        for (int i = 0; i < NEEDLES; i++) {
            d.needle(i == 0 ? depth : r.nextDouble(), Role.ANSWER,
                    d.seq().w("one of the special magic numbers for").t(keys.get(i)).w("is").t(values.get(i)).w("."));
        }
        Seq q = d.ask().w("what are all the special magic numbers for").t(keys.get(0)).w(",").t(keys.get(1)).w(",")
                .t(keys.get(2)).w("and").t(keys.get(3)).w("mentioned in the provided text ?");
        for (int i = 0; i < NEEDLES; i++) {
            q.w("the special magic number for").t(keys.get(i)).w("is").answer(values.get(i));
        }
    }

    private static void variableTracking(Draft d, RandomGenerator r, double depth) {
        List<int[]> vars = d.lex.variables(2 * CHAIN, r);
        List<int[]> values = d.lex.chainValues(2, r);
        d.prefix(VT_PREFIX);
        chain(d, vars.subList(0, CHAIN), values.get(0), depth, r, Role.ANSWER);
        chain(d, vars.subList(CHAIN, 2 * CHAIN), values.get(1), r.nextDouble(), r, Role.DISTRACTOR);
        Seq q = d.ask().w("question : find all variables that are assigned the value").t(values.get(0));
        for (int[] v : vars.subList(0, CHAIN)) {
            q.answer(v);
        }
    }

    /** "var X1 = W .", then "var X(i+1) = Xi ." at depths spread after the first, in order. */
    private static void chain(Draft d, List<int[]> vars, int[] value, double first, RandomGenerator r, Role role) {
        double[] depths = new double[vars.size()];
        depths[0] = first;
        for (int i = 1; i < depths.length; i++) {
            depths[i] = first + (1 - first) * r.nextDouble();
        }
        Arrays.sort(depths, 1, depths.length);
        for (int i = 0; i < vars.size(); i++) {
            d.needle(depths[i], role, d.seq().w("var").t(vars.get(i)).w("=").t(i == 0 ? value : vars.get(i - 1)).w("."));
        }
    }

    /** A growing run of token ids, some of them marked as answers. */
    static final class Seq {
        private final TaskLexicon lex;
        private int[] ids = new int[64];
        private int size;
        private final List<Integer> answers = new ArrayList<>();

        Seq(TaskLexicon lex) {
            this.lex = lex;
        }

        /** Appends template words. */
        Seq w(String words) {
            return t(lex.words(words));
        }

        /** Appends token ids as they are. */
        Seq t(int[] tokens) {
            if (size + tokens.length > ids.length) {
                ids = Arrays.copyOf(ids, Math.max(2 * ids.length, size + tokens.length));
            }
            System.arraycopy(tokens, 0, ids, size, tokens.length);
            size += tokens.length;
            return this;
        }

        /** Appends an answer: token ids whose indices are checked. */
        Seq answer(int[] tokens) {
            for (int i = 0; i < tokens.length; i++) {
                answers.add(size + i);
            }
            return t(tokens);
        }

        int[] ids() {
            return Arrays.copyOf(ids, size);
        }

        int[] answerIndices() {
            return answers.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /** A needle before placement: its tokens, its depth, its role. */
    private record Pending(int[] tokens, double depth, Role role) {
    }

    /** An instance under construction: prefix, needles, the continuation. */
    private static final class Draft {
        final TaskLexicon lex;
        private final Seq prefix;
        private final List<Pending> needles = new ArrayList<>();
        private final Seq continuation;

        Draft(TaskLexicon lex) {
            this.lex = lex;
            this.prefix = new Seq(lex).t(new int[] {lex.bos()});
            this.continuation = new Seq(lex);
        }

        Seq seq() {
            return new Seq(lex);
        }

        void prefix(String words) {
            prefix.w(words);
        }

        void needle(double depth, Role role, Seq tokens) {
            needles.add(new Pending(tokens.ids(), depth, role));
        }

        Seq ask() {
            return continuation;
        }

        TaskInstance build(Task task, int n, double depth, long seed) {
            int[] head = prefix.ids();
            int needleTokens = needles.stream().mapToInt(p -> p.tokens().length).sum();
            int haystack = n - head.length - needleTokens;
            if (haystack < 0) {
                throw new TaskContextException(task, n, "task " + task + " needs a context of at least "
                        + (head.length + needleTokens) + " tokens (BOS, prefix and needles" + (lex instanceof TextLexicon
                        ? " of seed " + seed : "") + "), got " + n);
            }
            // the haystack's sentences, cut to length; every sentence start up to its end is a boundary
            List<int[]> sentences = NOISE.stream().map(lex::words).toList();
            int[] hay = new int[haystack];
            List<Integer> boundaries = new ArrayList<>();
            for (int off = 0, s = 0; off <= haystack; off += sentences.get(s).length, s = (s + 1) % sentences.size()) {
                boundaries.add(off);
                System.arraycopy(sentences.get(s), 0, hay, off, Math.min(sentences.get(s).length, haystack - off));
            }
            record Placed(Pending needle, int offset) {
            }
            List<Placed> placed = new ArrayList<>();
            for (Pending p : needles) {
                int target = (int) Math.floor(p.depth() * haystack);
                int i = java.util.Collections.binarySearch(boundaries, target);
                placed.add(new Placed(p, boundaries.get(i >= 0 ? i : -i - 2)));
            }
            placed.sort(Comparator.comparingInt(Placed::offset)); // stable: needles at one boundary keep their order
            int[] context = Arrays.copyOf(head, n);
            int at = head.length;
            int hayAt = 0;
            List<Needle> out = new ArrayList<>();
            for (Placed p : placed) {
                System.arraycopy(hay, hayAt, context, at, p.offset() - hayAt);
                at += p.offset() - hayAt;
                hayAt = p.offset();
                int[] t = p.needle().tokens();
                System.arraycopy(t, 0, context, at, t.length);
                out.add(new Needle(at, t.length, p.needle().role()));
                at += t.length;
            }
            System.arraycopy(hay, hayAt, context, at, haystack - hayAt);
            return new TaskInstance(task, depth, seed, context, continuation.ids(), continuation.answerIndices(), out);
        }
    }
}

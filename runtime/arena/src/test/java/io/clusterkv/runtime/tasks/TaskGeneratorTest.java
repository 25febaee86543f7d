package io.clusterkv.runtime.tasks;

import static io.clusterkv.runtime.model.RetrievalVocabulary.ids;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.model.RetrievalVocabulary;
import io.clusterkv.runtime.tasks.TaskInstance.Needle;
import io.clusterkv.runtime.tasks.TaskInstance.Role;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The task constructions with {@code synthetic:retrieval}'s token ids, checked against the templates
 * of docs/TASKS.md restated here word for word: length, BOS, needle placement, where the answers sit in
 * the context, determinism, distinctness, and that every answer can be read off the text so far (the
 * bigram before each answer token is followed by that token wherever it occurs earlier).
 */
class TaskGeneratorTest {

    static final TaskLexicon LEX = TaskLexicon.retrieval();

    static final Map<Task, String> PREFIX = Map.of(
            Task.PASSKEY, "there is an important info hidden inside a lot of irrelevant text . find it and memorize "
                    + "them . i will quiz you about the important information there .",
            Task.NIAH_SINGLE, NiahPrefix.TEXT, Task.NIAH_MULTIKEY, NiahPrefix.TEXT,
            Task.NIAH_MULTIVALUE, NiahPrefix.TEXT, Task.NIAH_MULTIQUERY, NiahPrefix.TEXT,
            Task.VARIABLE_TRACKING, "memorize and track the chain of variable assignment hidden in the following text .");

    static final class NiahPrefix {
        static final String TEXT = "some special magic numbers are hidden within the following text . make sure to "
                + "memorize it . i will quiz you about the numbers afterwards .";
    }

    static final int[] NOISE = ids("the grass is green . the sky is blue . the sun is yellow . here we go . "
            + "there and back again .");

    static int[] cat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    static int[] slice(int[] a, int from, int length) {
        return Arrays.copyOfRange(a, from, from + length);
    }

    @Property(tries = 300)
    void layoutLengthBosPrefixHaystackAndDepth(@ForAll Task task, @ForAll @IntRange(min = 400, max = 5000) int n,
            @ForAll @DoubleRange(min = 0, max = 1) double depth, @ForAll long seed) {
        TaskInstance t = task.generate(LEX, n, depth, seed);
        int[] c = t.context();
        assertEquals(n, c.length);
        assertEquals(n, t.contextLength());
        assertEquals(RetrievalVocabulary.BOS, c[0]);
        int[] prefix = cat(new int[] {RetrievalVocabulary.BOS}, ids(PREFIX.get(task)));
        assertArrayEquals(prefix, slice(c, 0, prefix.length), "BOS, then the task's prefix");
        // the needles do not overlap and lie after the prefix; everything else is the noise, in order
        boolean[] needle = new boolean[n];
        int needleTokens = 0;
        for (Needle x : t.needles()) {
            assertTrue(x.start() >= prefix.length, x.toString());
            for (int p = x.start(); p < x.end(); p++) {
                assertFalse(needle[p], "needles overlap at " + p);
                needle[p] = true;
            }
            needleTokens += x.length();
        }
        int h = 0;
        for (int p = prefix.length; p < n; p++) {
            if (!needle[p]) {
                assertEquals(NOISE[h % NOISE.length], c[p], "haystack token " + h + " at position " + p);
                h++;
            }
        }
        int haystack = n - prefix.length - needleTokens;
        assertEquals(haystack, h);
        // the first answer-bearing needle: floor(depth * H) haystack tokens before it, less at most a sentence
        Needle first = t.needles().stream().filter(x -> x.role() == Role.ANSWER).findFirst().orElseThrow();
        Needle target = task == Task.NIAH_MULTIVALUE || task == Task.NIAH_MULTIQUERY ? firstMade(t) : first;
        int before = target.start() - prefix.length - t.needles().stream().filter(x -> x.end() <= target.start())
                .mapToInt(Needle::length).sum();
        int want = (int) Math.floor(depth * haystack);
        assertTrue(before <= want && before > want - 5, "needle after " + before + " haystack tokens, depth asks "
                + want + " of " + haystack);
        int dot = RetrievalVocabulary.id(".");
        assertEquals(dot, c[target.start() - 1], "a needle starts a sentence");
    }

    /** The needle made first of multivalue/multiquery: its value is the first answer. */
    private static Needle firstMade(TaskInstance t) {
        int[] c = t.context();
        int[] k = t.continuation();
        int firstAnswer = k[t.answers()[0]];
        return t.needles().stream().filter(x -> IntStream.range(x.start(), x.end()).anyMatch(p -> c[p] == firstAnswer))
                .findFirst().orElseThrow();
    }

    @Property(tries = 300)
    void everyAnswerCanBeReadOffTheTextSoFar(@ForAll Task task, @ForAll @IntRange(min = 400, max = 3000) int n,
            @ForAll @DoubleRange(min = 0, max = 1) double depth, @ForAll long seed) {
        TaskInstance t = task.generate(LEX, n, depth, seed);
        int[] all = cat(t.context(), t.continuation());
        for (int j : t.answers()) {
            int s = n + j;
            int answer = all[s];
            assertTrue(RetrievalVocabulary.isAnswer(answer), RetrievalVocabulary.name(answer));
            if (task == Task.VARIABLE_TRACKING) {
                // answered by a reverse lookup: "= prev" occurs once in the context, after the answer
                int prev = all[s - 1];
                List<Integer> at = new ArrayList<>();
                for (int p = 1; p + 1 < n; p++) {
                    if (all[p] == RetrievalVocabulary.id("=") && all[p + 1] == prev) {
                        at.add(p);
                    }
                }
                assertEquals(1, at.size(), "'= " + RetrievalVocabulary.name(prev) + "' occurs once: " + at);
                assertEquals(answer, all[at.getFirst() - 1], "var ANSWER = prev");
                continue;
            }
            // the bigram before the answer occurs earlier, and is followed by the answer wherever it does
            Set<Integer> followers = new HashSet<>();
            int occurrences = 0;
            for (int p = 0; p + 2 < s; p++) {
                if (all[p] == all[s - 2] && all[p + 1] == all[s - 1]) {
                    followers.add(all[p + 2]);
                    occurrences++;
                }
            }
            assertEquals(Set.of(answer), followers, "what follows '" + RetrievalVocabulary.name(all[s - 2]) + " "
                    + RetrievalVocabulary.name(all[s - 1]) + "' before continuation index " + j);
            // once; the pass key's inner digit pairs twice, since its needle states the key twice
            int first = t.answers()[0];
            assertEquals(task == Task.PASSKEY && j >= first + 2 ? 2 : 1, occurrences, "occurrences before index " + j);
        }
    }

    @Property(tries = 200)
    void answersSitInTheirNeedles(@ForAll Task task, @ForAll @IntRange(min = 400, max = 3000) int n,
            @ForAll @DoubleRange(min = 0, max = 1) double depth, @ForAll long seed) {
        TaskInstance t = task.generate(LEX, n, depth, seed);
        int[] c = t.context();
        int[] k = t.continuation();
        int[] a = t.answers();
        List<int[]> answerNeedles = t.needles().stream().filter(x -> x.role() == Role.ANSWER)
                .map(x -> slice(c, x.start(), x.length())).toList();
        List<int[]> expected = new ArrayList<>();
        switch (task) {
            case PASSKEY -> {
                int[] question = ids("what is the pass key ? the pass key is");
                assertArrayEquals(question, slice(k, 0, question.length));
                int[] d = slice(k, question.length, 5);
                assertArrayEquals(IntStream.range(question.length, question.length + 5).toArray(), a);
                expected.add(cat(ids("the pass key is"), d, ids(". remember it ."), d, ids("is the pass key .")));
                assertTrue(d[0] != RetrievalVocabulary.digit(0), "the first digit is 1-9");
                Set<List<Integer>> pairs = new HashSet<>();
                for (int i = 0; i + 1 < 5; i++) {
                    assertTrue(pairs.add(List.of(d[i], d[i + 1])), "no digit pair repeats in the pass key");
                }
            }
            case NIAH_SINGLE, NIAH_MULTIKEY -> {
                int key = k[ids("what is the special magic number for").length];
                int[] q = cat(ids("what is the special magic number for"), new int[] {key},
                        ids("mentioned in the provided text ? the special magic number for"), new int[] {key}, ids("is"));
                assertArrayEquals(q, slice(k, 0, q.length));
                assertEquals(q.length + 3, k.length);
                assertArrayEquals(new int[] {q.length, q.length + 1, q.length + 2}, a);
                expected.add(cat(ids("one of the special magic numbers for"), new int[] {key}, ids("is"),
                        slice(k, q.length, 3), ids(".")));
                if (task == Task.NIAH_MULTIKEY) {
                    List<Needle> distractors = t.needles().stream().filter(x -> x.role() == Role.DISTRACTOR).toList();
                    assertEquals(3, distractors.size());
                    Set<Integer> keys = new HashSet<>(List.of(key));
                    for (Needle x : distractors) {
                        int[] tokens = slice(c, x.start(), x.length());
                        assertArrayEquals(ids("one of the special magic numbers for"), slice(tokens, 0, 7));
                        assertTrue(keys.add(tokens[7]), "distractor keys differ from the target's and each other");
                    }
                }
            }
            case NIAH_MULTIVALUE -> {
                int[] head = ids("what are all the special magic numbers for");
                int key = k[head.length];
                int at = head.length + 1 + ids("mentioned in the provided text ?").length;
                List<String> ordinals = List.of("one", "two", "three", "four");
                for (int i = 0; i < 4; i++) {
                    int[] cloze = cat(ids("the special magic number for"), new int[] {key},
                            ids("number " + ordinals.get(i) + " is"));
                    assertArrayEquals(cloze, slice(k, at, cloze.length), "cloze " + i);
                    at += cloze.length;
                    for (int m = 0; m < 3; m++) {
                        assertEquals(at + m, a[3 * i + m]);
                    }
                    expected.add(cat(ids("the special magic number for"), new int[] {key},
                            ids("number " + ordinals.get(i) + " is"), slice(k, at, 3), ids(".")));
                    at += 3;
                }
                assertEquals(k.length, at);
            }
            case NIAH_MULTIQUERY -> {
                int[] head = ids("what are all the special magic numbers for");
                int[] keys = {k[head.length], k[head.length + 2], k[head.length + 4], k[head.length + 6]};
                int[] q = cat(head, new int[] {keys[0]}, ids(","), new int[] {keys[1]}, ids(","), new int[] {keys[2]},
                        ids("and"), new int[] {keys[3]}, ids("mentioned in the provided text ?"));
                assertArrayEquals(q, slice(k, 0, q.length));
                int at = q.length;
                for (int i = 0; i < 4; i++) {
                    int[] cloze = cat(ids("the special magic number for"), new int[] {keys[i]}, ids("is"));
                    assertArrayEquals(cloze, slice(k, at, cloze.length));
                    at += cloze.length;
                    assertEquals(at, a[3 * i]);
                    expected.add(cat(ids("one of the special magic numbers for"), new int[] {keys[i]}, ids("is"),
                            slice(k, at, 3), ids(".")));
                    at += 3;
                }
                assertEquals(k.length, at);
            }
            case VARIABLE_TRACKING -> {
                int[] q = ids("question : find all variables that are assigned the value");
                assertArrayEquals(q, slice(k, 0, q.length));
                int w = k[q.length];
                assertEquals(q.length + 1 + 5, k.length);
                assertArrayEquals(IntStream.range(q.length + 1, q.length + 6).toArray(), a);
                int prev = w;
                for (int i = 0; i < 5; i++) {
                    int x = k[q.length + 1 + i];
                    expected.add(cat(ids("var"), new int[] {x}, ids("="), new int[] {prev}, ids(".")));
                    prev = x;
                }
                assertEquals(5, t.needles().stream().filter(x -> x.role() == Role.DISTRACTOR).count());
            }
        }
        // the answer-bearing needles are exactly the expected ones (variable tracking: in chain order)
        assertEquals(expected.size(), answerNeedles.size());
        List<List<Integer>> got = answerNeedles.stream().map(x -> Arrays.stream(x).boxed().toList()).toList();
        List<List<Integer>> want = expected.stream().map(x -> Arrays.stream(x).boxed().toList()).toList();
        if (task == Task.VARIABLE_TRACKING || task == Task.PASSKEY || task == Task.NIAH_SINGLE
                || task == Task.NIAH_MULTIKEY) {
            assertEquals(want, got);
        } else {
            assertEquals(new HashSet<>(want), new HashSet<>(got));
        }
        assertEquals(t.needles().stream().filter(x -> x.role() == Role.ANSWER).mapToInt(Needle::length).sum(),
                t.needlePositions().length);
    }

    @Property(tries = 200)
    void keysValuesAndVariablesAreDistinct(@ForAll Task task, @ForAll long seed) {
        TaskInstance t = task.generate(LEX, 2000, 0.5, seed);
        int[] c = t.context();
        Set<Integer> keys = new HashSet<>();
        Set<Integer> values = new HashSet<>();
        Set<Integer> variables = new HashSet<>();
        int needleValues = 0;
        int needleVariables = 0;
        Set<Integer> keysSeen = new HashSet<>();
        for (Needle x : t.needles()) {
            for (int p = x.start(); p < x.end(); p++) {
                String name = RetrievalVocabulary.name(c[p]);
                if (name.matches("k\\d\\d")) {
                    keysSeen.add(c[p]);
                } else if (name.matches("v\\d\\d")) {
                    values.add(c[p]);
                    needleValues++;
                } else if (name.matches("x\\d\\d")) {
                    variables.add(c[p]);
                    needleVariables++;
                }
            }
            keys.addAll(keysSeen);
            keysSeen.clear();
        }
        switch (task) {
            case PASSKEY -> assertEquals(0, needleValues + needleVariables + keys.size());
            case NIAH_SINGLE -> assertEquals(List.of(1, 3), List.of(keys.size(), values.size()));
            case NIAH_MULTIKEY, NIAH_MULTIQUERY -> assertEquals(List.of(4, 12, 12), List.of(keys.size(), values.size(),
                    needleValues));
            case NIAH_MULTIVALUE -> assertEquals(List.of(1, 12, 12), List.of(keys.size(), values.size(), needleValues));
            // two chains of 5 variables: each defined once and used once but the last; 2 distinct values
            case VARIABLE_TRACKING -> assertEquals(List.of(10, 2), List.of(variables.size(), values.size()));
        }
    }

    @Property(tries = 100)
    void theSameSeedGivesTheSameInstanceAndAnotherSeedAnother(@ForAll Task task, @ForAll long seed,
            @ForAll @DoubleRange(min = 0, max = 1) double depth) {
        TaskInstance a = task.generate(LEX, 1500, depth, seed);
        TaskInstance b = task.generate(LEX, 1500, depth, seed);
        assertEquals(a, b);
        assertArrayEquals(a.context(), b.context());
        assertArrayEquals(a.continuation(), b.continuation());
        TaskInstance other = task.generate(LEX, 1500, depth, seed + 1);
        assertNotEquals(Arrays.toString(a.continuation()) + a.needles(),
                Arrays.toString(other.continuation()) + other.needles(), "another seed, another instance");
    }

    @Test
    void aDepthOfOneEndsTheContextWithTheNeedleWhereTheHaystackEndsASentence() {
        TaskInstance t = Task.PASSKEY.generate(LEX, 2000, 1.0, 3);
        Needle needle = t.needles().getFirst();
        int haystack = 2000 - 1 - ids(PREFIX.get(Task.PASSKEY)).length - needle.length();
        int before = needle.start() - 1 - ids(PREFIX.get(Task.PASSKEY)).length;
        assertTrue(before > haystack - 5 && before <= haystack, before + " of " + haystack);
        assertEquals(needle.end(), 2000 - (haystack - before), "only the cut sentence follows the needle");
        TaskInstance zero = Task.PASSKEY.generate(LEX, 2000, 0.0, 3);
        assertEquals(1 + ids(PREFIX.get(Task.PASSKEY)).length, zero.needles().getFirst().start(),
                "depth 0: right after the prefix");
    }

    @Test
    void answeredByChecksEveryAnswerIndexAndNothingElse() {
        TaskInstance t = Task.NIAH_MULTIQUERY.generate(LEX, 600, 0.3, 11);
        int[] k = t.continuation();
        int[] argmax = new int[k.length]; // wrong everywhere but at the answers
        for (int j : t.answers()) {
            argmax[j] = k[j];
        }
        assertTrue(t.answeredBy(argmax));
        for (int j : t.answers()) {
            int[] one = argmax.clone();
            one[j] = RetrievalVocabulary.EOS;
            assertFalse(t.answeredBy(one), "a wrong token at answer index " + j);
        }
        assertThrows(IllegalArgumentException.class, () -> t.answeredBy(new int[k.length - 1]));
    }

    @Test
    void aContextTooSmallOrABadDepthOrNameIsATypedErrorNamingIt() {
        var small = assertThrows(TaskContextException.class, () -> Task.NIAH_MULTIKEY.generate(LEX, 60, 0.5, 1));
        assertTrue(small.getMessage().contains("niah-multikey") && small.getMessage().contains("got 60"), small.getMessage());
        assertEquals(60, small.context());
        // the smallest context that fits has no haystack at all
        int fits = Integer.parseInt(small.getMessage().replaceAll(".*at least (\\d+) tokens.*", "$1"));
        assertEquals(fits, Task.NIAH_MULTIKEY.generate(LEX, fits, 0.5, 1).contextLength());
        assertThrows(TaskContextException.class, () -> Task.NIAH_MULTIKEY.generate(LEX, fits - 1, 0.5, 1));
        var depth = assertThrows(IllegalArgumentException.class, () -> Task.PASSKEY.generate(LEX, 500, 1.5, 1));
        assertTrue(depth.getMessage().contains("1.5"), depth.getMessage());
        var name = assertThrows(UnknownTaskException.class, () -> Task.byId("needle"));
        assertTrue(name.getMessage().contains("'needle'") && name.getMessage().contains("passkey, niah-single, "
                + "niah-multikey, niah-multivalue, niah-multiquery, variable-tracking"), name.getMessage());
        assertEquals(Task.VARIABLE_TRACKING, Task.byId("variable-tracking"));
    }
}

package io.clusterkv.runtime.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The token vocabulary of {@code synthetic:retrieval} ({@code RetrievalModel}): every token is a whole
 * word, a digit, or a member of one of three pools (keys, values, variable names), so the long-context
 * tasks can be written as token ids with the same wording as their text versions.
 *
 * <p>Layout: {@code 0 <unk>}, {@code 1 <s>} (BOS), {@code 2 </s>} (EOS, the model's stop token), then
 * {@link #WORDS} in order, the digits {@code 0..9}, then {@link #KEYS} keys {@code k00, k01, ...},
 * {@link #VALUES} values {@code v00, ...} and {@link #VARIABLES} variable names {@code x00, ...}. The
 * model can answer with a digit, a value or a variable name; every other token is context only.
 * Immutable.
 */
public final class RetrievalVocabulary {

    /** The words of the tasks' templates and filler, each one token (punctuation included). */
    public static final List<String> WORDS = List.of(
            // punctuation
            ".", "?", ":", ",", "=",
            // Quest's passkey prompt and the noise haystack of both Quest and RULER
            "there", "is", "an", "important", "info", "hidden", "inside", "a", "lot", "of", "irrelevant", "text",
            "find", "it", "and", "memorize", "them", "i", "will", "quiz", "you", "about", "the", "information",
            "grass", "green", "sky", "blue", "sun", "yellow", "here", "we", "go", "back", "again",
            "pass", "key", "remember", "what",
            // RULER's needle-in-a-haystack prompts
            "some", "special", "magic", "numbers", "are", "within", "following", "make", "sure", "to",
            "afterwards", "one", "two", "three", "four", "for", "mentioned", "in", "provided", "number", "all",
            // RULER's variable tracking
            "track", "chain", "variable", "assignment", "var", "question", "variables", "that", "assigned",
            "value", "above", "answer");

    /** Keys (needle-in-a-haystack keys) in the vocabulary. */
    public static final int KEYS = 48;
    /** Values (the "special magic numbers") in the vocabulary. */
    public static final int VALUES = 48;
    /** Variable names (variable tracking) in the vocabulary. */
    public static final int VARIABLES = 64;

    /** Token id of {@code <unk>}. */
    public static final int UNK = 0;
    /** Token id of {@code <s>}, the beginning of every prompt. */
    public static final int BOS = 1;
    /** Token id of {@code </s>}, what the model predicts when it has nothing to retrieve. */
    public static final int EOS = 2;

    private static final int FIRST_WORD = 3;
    private static final int FIRST_DIGIT = FIRST_WORD + WORDS.size();
    private static final int FIRST_KEY = FIRST_DIGIT + 10;
    private static final int FIRST_VALUE = FIRST_KEY + KEYS;
    private static final int FIRST_VARIABLE = FIRST_VALUE + VALUES;
    /** Tokens in the vocabulary. */
    public static final int SIZE = FIRST_VARIABLE + VARIABLES;

    private static final List<String> NAMES;
    private static final Map<String, Integer> IDS = new HashMap<>();

    static {
        List<String> names = new ArrayList<>(SIZE);
        names.add("<unk>");
        names.add("<s>");
        names.add("</s>");
        names.addAll(WORDS);
        for (int d = 0; d < 10; d++) {
            names.add(Integer.toString(d));
        }
        for (int i = 0; i < KEYS; i++) {
            names.add(String.format("k%02d", i));
        }
        for (int i = 0; i < VALUES; i++) {
            names.add(String.format("v%02d", i));
        }
        for (int i = 0; i < VARIABLES; i++) {
            names.add(String.format("x%02d", i));
        }
        NAMES = Collections.unmodifiableList(names);
        for (int i = 0; i < names.size(); i++) {
            if (IDS.put(names.get(i), i) != null) {
                throw new AssertionError("duplicate token " + names.get(i));
            }
        }
    }

    private RetrievalVocabulary() {
    }

    /**
     * @param word a word of {@link #WORDS}, a digit, a pool member ({@code k07}) or a special token
     * @return its token id
     * @throws IllegalArgumentException if the vocabulary has no such token
     */
    public static int id(String word) {
        Integer id = IDS.get(word);
        if (id == null) {
            throw new IllegalArgumentException("'" + word + "' is not a token of synthetic:retrieval");
        }
        return id;
    }

    /**
     * @param text words separated by single spaces, e.g. {@code "the pass key is"}
     * @return their token ids
     * @throws IllegalArgumentException if a word is not a token, naming it
     */
    public static int[] ids(String text) {
        String[] words = text.strip().split(" +");
        int[] out = new int[words.length];
        for (int i = 0; i < words.length; i++) {
            out[i] = id(words[i]);
        }
        return out;
    }

    /**
     * @param id a token id
     * @return its name ({@code "pass"}, {@code "7"}, {@code "k03"}, {@code "</s>"})
     * @throws IndexOutOfBoundsException if the id is not in {@code [0, SIZE)}
     */
    public static String name(int id) {
        return NAMES.get(id);
    }

    /**
     * @param d a digit, {@code 0..9}
     * @return its token id
     */
    public static int digit(int d) {
        return FIRST_DIGIT + java.util.Objects.checkIndex(d, 10);
    }

    /**
     * @param i a key index in {@code [0, KEYS)}
     * @return its token id
     */
    public static int key(int i) {
        return FIRST_KEY + java.util.Objects.checkIndex(i, KEYS);
    }

    /**
     * @param i a value index in {@code [0, VALUES)}
     * @return its token id
     */
    public static int value(int i) {
        return FIRST_VALUE + java.util.Objects.checkIndex(i, VALUES);
    }

    /**
     * @param i a variable index in {@code [0, VARIABLES)}
     * @return its token id
     */
    public static int variable(int i) {
        return FIRST_VARIABLE + java.util.Objects.checkIndex(i, VARIABLES);
    }

    /**
     * @param id a token id
     * @return whether the model can answer with it: a digit, a value or a variable name
     */
    public static boolean isAnswer(int id) {
        return id >= FIRST_DIGIT && id < SIZE;
    }
}

package io.clusterkv.runtime.tasks;

import io.clusterkv.runtime.model.RetrievalVocabulary;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/** {@link TaskLexicon#retrieval()}: one {@link RetrievalVocabulary} token per word, pool tokens for slots. */
final class RetrievalLexicon implements TaskLexicon {

    static final RetrievalLexicon INSTANCE = new RetrievalLexicon();

    /** Value tokens per needle value ("special magic number"). */
    static final int VALUE_TOKENS = 3;

    private RetrievalLexicon() {
    }

    @Override
    public String description() {
        return "synthetic:retrieval token ids";
    }

    @Override
    public int bos() {
        return RetrievalVocabulary.BOS;
    }

    @Override
    public int[] words(String words) {
        return RetrievalVocabulary.ids(words);
    }

    @Override
    public int[] passkey(int[] digits) {
        int[] out = new int[digits.length];
        for (int i = 0; i < digits.length; i++) {
            out[i] = RetrievalVocabulary.digit(digits[i]);
        }
        return out;
    }

    @Override
    public List<int[]> keys(int count, RandomGenerator random) {
        return singles(Draws.distinct(RetrievalVocabulary.KEYS, count, random, "keys"), RetrievalVocabulary::key);
    }

    @Override
    public List<int[]> values(int count, RandomGenerator random) {
        int[] picks = Draws.distinct(RetrievalVocabulary.VALUES, count * VALUE_TOKENS, random, "value tokens");
        List<int[]> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int[] v = new int[VALUE_TOKENS];
            for (int j = 0; j < VALUE_TOKENS; j++) {
                v[j] = RetrievalVocabulary.value(picks[i * VALUE_TOKENS + j]);
            }
            out.add(v);
        }
        return out;
    }

    @Override
    public List<int[]> variables(int count, RandomGenerator random) {
        return singles(Draws.distinct(RetrievalVocabulary.VARIABLES, count, random, "variables"),
                RetrievalVocabulary::variable);
    }

    @Override
    public List<int[]> chainValues(int count, RandomGenerator random) {
        return singles(Draws.distinct(RetrievalVocabulary.VALUES, count, random, "value tokens"), RetrievalVocabulary::value);
    }

    private static List<int[]> singles(int[] picks, java.util.function.IntUnaryOperator id) {
        List<int[]> out = new ArrayList<>(picks.length);
        for (int p : picks) {
            out.add(new int[] {id.applyAsInt(p)});
        }
        return out;
    }

    @Override
    public String toString() {
        return description();
    }
}

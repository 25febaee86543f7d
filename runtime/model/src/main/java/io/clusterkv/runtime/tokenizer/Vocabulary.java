package io.clusterkv.runtime.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The token table shared by both tokenizer families: texts, types, scores, the special ids. Built and
 * validated by {@link Tokenizers}; immutable.
 */
final class Vocabulary {
    final String[] texts;       // (vocab)
    final TokenType[] types;    // (vocab)
    final float[] scores;       // (vocab), zeros where the source has none
    final Map<String, Integer> idsByText; // text -> id; the last id where texts repeat (as llama.cpp)
    final int bos;              // -1 when none
    final int eos;
    final int eot;
    final int unk;
    final boolean addBos;
    /** Ids of CONTROL, UNKNOWN and USER_DEFINED tokens with non-empty text, longest text first. */
    final int[] specialsLongestFirst;

    Vocabulary(String[] texts, TokenType[] types, float[] scores, int bos, int eos, int eot, int unk, boolean addBos) {
        this.texts = Objects.requireNonNull(texts);
        this.types = Objects.requireNonNull(types);
        this.scores = Objects.requireNonNull(scores);
        if (types.length != texts.length || scores.length != texts.length) {
            throw new IllegalArgumentException("texts, types and scores differ in length");
        }
        this.idsByText = HashMap.newHashMap(texts.length);
        for (int i = 0; i < texts.length; i++) {
            idsByText.put(texts[i], i);
        }
        this.bos = bos;
        this.eos = eos;
        this.eot = eot >= 0 ? eot : guessEot();
        this.unk = unk;
        this.addBos = addBos;
        List<Integer> specials = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            TokenType t = types[i];
            if ((t == TokenType.CONTROL || t == TokenType.UNKNOWN || t == TokenType.USER_DEFINED) && !texts[i].isEmpty()) {
                specials.add(i);
            }
        }
        specials.sort(Comparator.comparingInt((Integer i) -> -texts[i].length()).thenComparingInt(i -> i));
        this.specialsLongestFirst = specials.stream().mapToInt(Integer::intValue).toArray();
    }

    int size() {
        return texts.length;
    }

    private int guessEot() {
        for (String name : new String[] {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>"}) {
            Integer id = idsByText.get(name);
            if (id != null && types[id] == TokenType.CONTROL) {
                return id;
            }
        }
        return -1;
    }

    void checkId(int id) {
        if (id < 0 || id >= texts.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + texts.length + ")");
        }
    }
}

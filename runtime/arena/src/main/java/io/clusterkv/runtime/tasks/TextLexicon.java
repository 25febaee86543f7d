package io.clusterkv.runtime.tasks;

import io.clusterkv.runtime.model.RetrievalVocabulary;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * {@link TaskLexicon#text(Tokenizer)}: the tasks as text. Every segment (a run of template words, one
 * key, one value) is encoded on its own, with a leading space, and the ids concatenated, so a segment's
 * ids are the same wherever it appears. A run of words is written as natural text: words separated by
 * spaces, punctuation ({@code . , ? :}) attached to the word before it, and a run that starts with
 * punctuation has no leading space. A SentencePiece vocabulary that puts a space before the text itself
 * (the "dummy prefix") gets the segment without its own.
 */
final class TextLexicon implements TaskLexicon {

    /** Keys of the text tasks: common English words, as RULER draws keys from a word list. */
    static final List<String> KEY_WORDS = List.of("apple", "river", "candle", "garden", "window", "pencil", "mountain",
            "basket", "rocket", "violin", "harbor", "lantern", "meadow", "pepper", "saddle", "tunnel", "whistle",
            "anchor", "blanket", "cactus", "dolphin", "engine", "feather", "glacier", "hammer", "island", "jacket",
            "kettle", "ladder", "marble", "needle", "orchard", "parrot", "quilt", "ribbon", "silver", "teapot",
            "umbrella", "valley", "wagon", "yogurt", "zebra", "bridge", "castle", "forest", "helmet", "mirror",
            "pillow");

    private static final Set<String> PUNCTUATION = Set.of(".", ",", "?", ":");

    private final Tokenizer tokenizer;
    private final int bos;
    private final boolean dummyPrefix;

    TextLexicon(Tokenizer tokenizer) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.bos = tokenizer.bosId().orElseThrow(() -> new TaskVocabularyException(
                "the tokenizer has no BOS token (tokenizer.ggml.bos_token_id): a task's context starts with one"));
        int[] probe = tokenizer.encode("a", false, false);
        String first = probe.length == 0 ? "" : tokenizer.tokenText(probe[0]);
        this.dummyPrefix = first.startsWith("\u2581") || first.startsWith(" ");
    }

    @Override
    public String description() {
        return "text through the model's tokenizer";
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int[] words(String words) {
        StringBuilder sb = new StringBuilder();
        for (String w : words.strip().split(" +")) {
            RetrievalVocabulary.id(w); // the same words as the token-id tasks; throws naming a stray one
            if (!(PUNCTUATION.contains(w))) {
                sb.append(' ');
            }
            sb.append(w);
        }
        return segment(sb.toString());
    }

    @Override
    public int[] passkey(int[] digits) {
        StringBuilder sb = new StringBuilder(" ");
        for (int d : digits) {
            sb.append((char) ('0' + d));
        }
        return segment(sb.toString());
    }

    @Override
    public List<int[]> keys(int count, RandomGenerator random) {
        List<int[]> out = new ArrayList<>(count);
        for (int i : Draws.distinct(KEY_WORDS.size(), count, random, "keys")) {
            out.add(segment(" " + KEY_WORDS.get(i)));
        }
        return out;
    }

    @Override
    public List<int[]> values(int count, RandomGenerator random) {
        return numbers(count, 1_000_000, 10_000_000, random);
    }

    @Override
    public List<int[]> variables(int count, RandomGenerator random) {
        Set<String> seen = new HashSet<>();
        List<int[]> out = new ArrayList<>(count);
        while (out.size() < count) {
            StringBuilder sb = new StringBuilder(" ");
            for (int i = 0; i < 5; i++) {
                sb.append((char) ('A' + random.nextInt(26)));
            }
            if (seen.add(sb.toString())) {
                out.add(segment(sb.toString()));
            }
        }
        return out;
    }

    @Override
    public List<int[]> chainValues(int count, RandomGenerator random) {
        return numbers(count, 10_000, 100_000, random);
    }

    private List<int[]> numbers(int count, int from, int to, RandomGenerator random) {
        Set<Integer> seen = new HashSet<>();
        List<int[]> out = new ArrayList<>(count);
        while (out.size() < count) {
            int v = random.nextInt(from, to);
            if (seen.add(v)) {
                out.add(segment(" " + v));
            }
        }
        return out;
    }

    /** One segment's ids: its text, less the leading space where the tokenizer adds its own. */
    private int[] segment(String text) {
        String t = dummyPrefix && text.startsWith(" ") ? text.substring(1) : text;
        return tokenizer.encode(t, false, false);
    }

    @Override
    public String toString() {
        return description();
    }
}

package io.clusterkv.runtime.tasks;

import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.RetrievalVocabulary;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import io.clusterkv.runtime.tokenizer.Tokenizers;
import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * How a task's words become token ids. The tasks are written once, as words of
 * {@link RetrievalVocabulary#WORDS} (punctuation included) and slots (keys, values, variables, numbers,
 * the pass key); a lexicon writes both.
 *
 * <ul>
 * <li>{@link #retrieval()}: the token ids of {@code synthetic:retrieval}, one token per word; a key, a
 * variable and a variable-tracking value are one pool token each, a needle's value three value tokens,
 * the pass key five digit tokens.</li>
 * <li>{@link #text(Tokenizer)}: the same sentences as text through a model's tokenizer, each segment (a
 * run of template words, a key, a value) encoded on its own with a leading space and the ids
 * concatenated; punctuation sticks to the word before it. Keys are English words from a built-in list,
 * needle values 7-digit numbers, variables 5 upper-case letters, variable-tracking values and the pass
 * key 5-digit numbers.</li>
 * </ul>
 *
 * <p>Draws are distinct within one call; with {@link #retrieval()} the tokens of the values of one call
 * are distinct too (no value token is shared by two values), which keeps every answer's preceding
 * bigram unique. Implementations are immutable.
 */
public sealed interface TaskLexicon permits RetrievalLexicon, TextLexicon {

    /** @return what writes the tokens, in words, for results ("synthetic:retrieval token ids", ...) */
    String description();

    /** @return the BOS token id, the first token of every context */
    int bos();

    /**
     * @param words template words of {@link RetrievalVocabulary#WORDS}, separated by single spaces
     * @return their token ids
     * @throws IllegalArgumentException if a word is not one of {@link RetrievalVocabulary#WORDS}
     */
    int[] words(String words);

    /**
     * @param digits the pass key's digits, each {@code 0..9}
     * @return its token ids
     */
    int[] passkey(int[] digits);

    /**
     * @param count  keys to draw
     * @param random the instance's stream
     * @return {@code count} distinct keys, each as token ids
     * @throws IllegalArgumentException if the lexicon has fewer keys
     */
    List<int[]> keys(int count, RandomGenerator random);

    /**
     * @param count  needle values to draw
     * @param random the instance's stream
     * @return {@code count} distinct values ("special magic numbers"), each as token ids
     * @throws IllegalArgumentException if the lexicon cannot draw that many
     */
    List<int[]> values(int count, RandomGenerator random);

    /**
     * @param count  variable names to draw
     * @param random the instance's stream
     * @return {@code count} distinct variable names, each as token ids
     * @throws IllegalArgumentException if the lexicon has fewer
     */
    List<int[]> variables(int count, RandomGenerator random);

    /**
     * @param count  values to draw
     * @param random the instance's stream
     * @return {@code count} distinct values assigned at the head of variable-tracking chains, each as
     *         token ids (one value token with {@link #retrieval()})
     * @throws IllegalArgumentException if the lexicon has fewer
     */
    List<int[]> chainValues(int count, RandomGenerator random);

    /** @return {@code synthetic:retrieval}'s word-level token ids ({@link RetrievalVocabulary}) */
    static TaskLexicon retrieval() {
        return RetrievalLexicon.INSTANCE;
    }

    /**
     * @param tokenizer a model's tokenizer
     * @return the tasks as text through it
     * @throws TaskVocabularyException if the tokenizer has no BOS token
     */
    static TaskLexicon text(Tokenizer tokenizer) {
        return new TextLexicon(tokenizer);
    }

    /**
     * The lexicon a model can read: {@link #retrieval()} for {@code synthetic:retrieval} (a model whose
     * source starts so, or any model without a tokenizer whose vocabulary has exactly
     * {@link RetrievalVocabulary#SIZE} tokens, as an exported copy of it), otherwise {@link #text} with
     * the model's tokenizer (a GGUF file's vocabulary).
     *
     * @param model the model
     * @return its lexicon
     * @throws TaskVocabularyException if the model has neither, naming it and its vocabulary size
     */
    static TaskLexicon forModel(LlamaModel model) {
        int vocab = model.config().vocab();
        boolean retrievalShaped = vocab == RetrievalVocabulary.SIZE;
        if (retrievalShaped && String.valueOf(model.source()).startsWith("synthetic:retrieval")) {
            return retrieval();
        }
        Optional<Tokenizer> tokenizer = model.gguf().filter(f -> f.metadata().containsKey("tokenizer.ggml.model"))
                .map(Tokenizers::fromGguf);
        if (tokenizer.isPresent()) {
            return text(tokenizer.get());
        }
        if (retrievalShaped) {
            return retrieval();
        }
        throw new TaskVocabularyException("model " + model.source() + " (vocabulary of " + vocab
                + " tokens, no tokenizer) cannot write the tasks: they need synthetic:retrieval's word-level vocabulary ("
                + RetrievalVocabulary.SIZE + " tokens) or a model with a tokenizer (a GGUF file with tokenizer.ggml.*)");
    }
}

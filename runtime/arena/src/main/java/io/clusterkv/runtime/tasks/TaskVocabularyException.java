package io.clusterkv.runtime.tasks;

/**
 * A model whose vocabulary cannot write the tasks: neither {@code synthetic:retrieval}'s word-level
 * vocabulary nor a tokenizer, or a tokenizer whose ids fall outside the model's vocabulary.
 */
public final class TaskVocabularyException extends TaskException {

    private static final long serialVersionUID = 1L;

    /** @param message what is missing, naming the model */
    public TaskVocabularyException(String message) {
        super(message);
    }
}

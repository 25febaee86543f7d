package io.clusterkv.runtime.chat;

/**
 * A chat template is missing (the model's GGUF has no {@code tokenizer.chat_template}), does not parse,
 * or failed to render (including the template's own {@code raise_exception(...)}, whose message is
 * kept).
 */
public final class ChatTemplateException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * @param message what went wrong, naming the model or template
     */
    public ChatTemplateException(String message) {
        super(message);
    }

    /**
     * @param message what went wrong
     * @param cause   the renderer's error
     */
    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}

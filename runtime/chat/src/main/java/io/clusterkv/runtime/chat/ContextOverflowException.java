package io.clusterkv.runtime.chat;

/**
 * A request's prompt plus its {@code maxTokens} do not fit the model's context.
 */
public final class ContextOverflowException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int promptTokens;
    private final int maxTokens;
    private final int contextLength;

    /**
     * @param promptTokens  tokens of the rendered prompt
     * @param maxTokens     tokens the request asked for
     * @param contextLength the model's context
     */
    public ContextOverflowException(int promptTokens, int maxTokens, int contextLength) {
        super("the prompt's " + promptTokens + " tokens plus max_tokens " + maxTokens + " exceed the model's context of "
                + contextLength + " tokens");
        this.promptTokens = promptTokens;
        this.maxTokens = maxTokens;
        this.contextLength = contextLength;
    }

    /** @return tokens of the rendered prompt */
    public int promptTokens() {
        return promptTokens;
    }

    /** @return tokens the request asked for */
    public int maxTokens() {
        return maxTokens;
    }

    /** @return the model's context */
    public int contextLength() {
        return contextLength;
    }
}

package io.clusterkv.runtime.chat;

/**
 * A {@link ChatRequest} is not valid: an unknown role, no messages, {@code maxTokens < 0}, a temperature
 * or top-p out of range, an empty stop string, an unknown policy or a bad budget. The message names the
 * field and the value.
 */
public final class InvalidChatRequestException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * @param message the field, its value and what was expected
     */
    public InvalidChatRequestException(String message) {
        super(message);
    }

    /**
     * @param message the field, its value and what was expected
     * @param cause   the runtime's error (e.g. an unknown policy)
     */
    public InvalidChatRequestException(String message, Throwable cause) {
        super(message, cause);
    }
}

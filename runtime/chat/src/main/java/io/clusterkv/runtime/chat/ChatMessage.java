package io.clusterkv.runtime.chat;

import java.util.Objects;
import java.util.Set;

/**
 * One message of a conversation, as the chat template sees it.
 *
 * <p>Roles: {@code system}, {@code user} and {@code assistant}. Other roles ({@code tool}, ...) are
 * refused by {@link ChatEngine#submit} with {@link InvalidChatRequestException}: the templates this
 * runtime is checked against do not all render them.
 *
 * @param role    {@code system}, {@code user} or {@code assistant}
 * @param content the text
 */
public record ChatMessage(String role, String content) {

    /** The roles {@link ChatEngine} accepts. */
    public static final Set<String> ROLES = Set.of("system", "user", "assistant");

    /** Checks that neither part is null. */
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    /**
     * @param content the text
     * @return a system message
     */
    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    /**
     * @param content the text
     * @return a user message
     */
    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    /**
     * @param content the text
     * @return an assistant message
     */
    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}

package io.clusterkv.runtime.chat;

import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.model.LlamaModel;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Runs chat requests on a {@link ClusterKvRuntime} for one model: template, tokens, a session (reused when
 * the new prompt extends a cached conversation's tokens, LRU-bounded), sampled tokens, text.
 * Thread-safe; each request decodes in its own session; at most {@code maxConcurrent} at once, further ones
 * wait in a bounded queue, beyond it they are rejected with {@link EngineOverloadedException}.
 */
public final class ChatEngine implements AutoCloseable {

    private ChatEngine() {
    }

    /**
     * What an engine allows.
     *
     * @param maxConcurrent          requests decoding at once, {@code >= 1}
     * @param maxQueued              requests waiting for a slot, {@code >= 0}
     * @param maxCachedConversations idle sessions kept for reuse, {@code >= 0} (0: no reuse)
     * @param defaultPolicy          the policy of requests that name none, or empty for the runtime's
     * @param defaultBudget          the budget of requests that give none, or empty for the runtime's
     */
    public record Options(int maxConcurrent, int maxQueued, int maxCachedConversations, Optional<String> defaultPolicy,
                          OptionalInt defaultBudget) {

        /**
         * Checks the values.
         *
         * @throws IllegalArgumentException if a bound is out of range, naming it
         */
        public Options {
            if (maxConcurrent < 1) {
                throw new IllegalArgumentException("maxConcurrent must be >= 1, was " + maxConcurrent);
            }
            if (maxQueued < 0) {
                throw new IllegalArgumentException("maxQueued must be >= 0, was " + maxQueued);
            }
            if (maxCachedConversations < 0) {
                throw new IllegalArgumentException("maxCachedConversations must be >= 0, was " + maxCachedConversations);
            }
            Objects.requireNonNull(defaultPolicy, "defaultPolicy");
            Objects.requireNonNull(defaultBudget, "defaultBudget");
        }

        /** @return 4 at once, 64 queued, 16 cached conversations, the runtime's policy and budget */
        public static Options defaults() {
            return new Options(4, 64, 16, Optional.empty(), OptionalInt.empty());
        }
    }

    /**
     * A snapshot of an engine's counters.
     *
     * @param requests            requests accepted
     * @param active              requests decoding now
     * @param queued              requests waiting now
     * @param promptTokens        prompt tokens of all requests
     * @param reusedPromptTokens  of those, tokens not prefilled again (already in a cached conversation's KV)
     * @param completionTokens    tokens generated
     * @param cachedConversations idle sessions kept for reuse now
     * @param rejected            requests refused because the queue was full
     */
    public record Stats(long requests, int active, int queued, long promptTokens, long reusedPromptTokens,
                        long completionTokens, int cachedConversations, long rejected) {
    }

    /**
     * @param runtime the runtime whose sessions decode the requests (the engine does not close it)
     * @param model   the model (the engine does not close it)
     * @param options limits and defaults
     * @return the engine
     * @throws ChatTemplateException       never at creation: a model without a template fails its chat requests
     * @throws InvalidChatRequestException if the default policy is unknown
     */
    public static ChatEngine create(ClusterKvRuntime runtime, LlamaModel model, Options options) {
        throw new UnsupportedOperationException("not yet");
    }

    /** @return the model's id: its file name, or its synthetic name */
    public String modelId() {
        throw new UnsupportedOperationException("not yet");
    }

    /** @return the model's context length in tokens */
    public int contextLength() {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Renders and tokenises the request, then queues it; never waits for decoding.
     *
     * @param request  the request
     * @param listener receives the text as it is generated
     * @return the call
     * @throws InvalidChatRequestException if the request is invalid for this engine (unknown policy, ...)
     * @throws ChatTemplateException       if it is a chat and the model has no template, or rendering failed
     * @throws ContextOverflowException    if the prompt plus {@code maxTokens} exceed the context
     * @throws EngineOverloadedException   if the queue is full
     * @throws IllegalStateException       if the engine is closed
     */
    public ChatCall submit(ChatRequest request, ChatListener listener) {
        throw new UnsupportedOperationException("not yet");
    }

    /** @return a snapshot of the counters */
    public Stats stats() {
        throw new UnsupportedOperationException("not yet");
    }

    /** Completes every pending call exceptionally and closes the engine's sessions. Idempotent. */
    @Override
    public void close() {
        throw new UnsupportedOperationException("not yet");
    }
}

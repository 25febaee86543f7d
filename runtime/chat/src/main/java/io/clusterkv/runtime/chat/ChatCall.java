package io.clusterkv.runtime.chat;

import java.util.concurrent.CompletableFuture;

/** A request submitted to a {@link ChatEngine}. */
public interface ChatCall {

    /**
     * @return completes with the result, or exceptionally: {@link ChatTemplateException},
     *         {@link ContextOverflowException}, {@link InvalidChatRequestException}, a runtime error
     *         (e.g. {@code SessionFailedException}), what the listener threw, or
     *         {@link java.util.concurrent.CancellationException}-free: a cancelled call completes
     *         normally with {@link FinishReason#CANCELLED} and the text so far
     */
    CompletableFuture<ChatResult> result();

    /**
     * Stops the request: a queued one never starts, a running one stops after the current token. Its
     * session is closed (not cached); the result completes with {@link FinishReason#CANCELLED}.
     * Idempotent; no effect once the result is complete.
     */
    void cancel();
}

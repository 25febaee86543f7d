package io.clusterkv.runtime.chat;

import java.util.concurrent.CompletableFuture;

/** A request submitted to a {@link ChatEngine}. */
public interface ChatCall {

    /**
     * @return completes with the result (a cancelled call too: {@link FinishReason#CANCELLED} and the text
     *         so far, never a {@link java.util.concurrent.CancellationException}), or exceptionally with a
     *         runtime error (e.g. {@code SessionFailedException}), what the listener threw, or
     *         {@link IllegalStateException} if the engine was closed first. Errors of the request itself
     *         (template, context, validation, overload) are thrown by {@link ChatEngine#submit} instead.
     */
    CompletableFuture<ChatResult> result();

    /**
     * Stops the request: a queued one never starts, a running one stops after the current token. Its
     * session is closed (not cached); the result completes with {@link FinishReason#CANCELLED}.
     * Idempotent; no effect once the result is complete.
     */
    void cancel();
}

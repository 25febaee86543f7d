package io.clusterkv.runtime;

/**
 * A session can no longer decode: its policy failed more often than
 * {@code clusterkv.runtime.max-policy-failures} allows, or the forward pass itself failed. The cause is
 * the failure that ended it. Other sessions and the runtime go on; the session only accepts
 * {@link Session#close()}.
 */
public final class SessionFailedException extends RuntimeException {

    /**
     * @param message what happened, naming the session
     * @param cause   the failure that ended it
     */
    public SessionFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}

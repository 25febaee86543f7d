package io.clusterkv.runtime.chat;

/**
 * {@link ChatEngine#submit} found every decoding slot busy and its queue full; retry later.
 */
public final class EngineOverloadedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * @param message the limits that were reached
     */
    public EngineOverloadedException(String message) {
        super(message);
    }
}

package io.clusterkv.runtime.chat;

/** Why a chat request stopped generating. */
public enum FinishReason {
    /** the model produced an end-of-turn or end-of-sequence token, or a stop string appeared */
    STOP,
    /** {@code maxTokens} were generated, or the context is full */
    LENGTH,
    /** {@link ChatCall#cancel()} was called */
    CANCELLED
}

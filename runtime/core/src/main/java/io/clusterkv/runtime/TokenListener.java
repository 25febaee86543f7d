package io.clusterkv.runtime;

/**
 * Receives the tokens of a {@link Session#generate} as they are sampled. Called on the session's
 * thread: keep it quick and never block in it. If it throws, the generation ends with that exception
 * (the session stays usable).
 */
@FunctionalInterface
public interface TokenListener {

    /**
     * @param token    the sampled token
     * @param position the position it will take when fed back
     */
    void onToken(int token, int position);

    /** @return a listener that ignores every token */
    static TokenListener none() {
        return (token, position) -> { };
    }
}

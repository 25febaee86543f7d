package io.clusterkv.runtime;

/**
 * What a {@link Session#generate} produced.
 *
 * @param tokens       the sampled tokens, in order (a stop token, if one ended the run, is the last)
 * @param stop         why it stopped
 * @param promptTokens tokens prefilled
 * @param prefillNanos time of the prefill
 * @param decodeNanos  time of the decode steps (sampling included)
 */
public record GenerationResult(int[] tokens, StopReason stop, int promptTokens, long prefillNanos, long decodeNanos) {

    /** Why a generation stopped. */
    public enum StopReason {
        /** the requested number of tokens was sampled */
        MAX_TOKENS,
        /** the model produced one of its stop tokens */
        STOP_TOKEN,
        /** the model's context is full */
        CONTEXT_FULL
    }

    /** Copies the tokens. */
    public GenerationResult {
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    /** @return decode steps per second (tokens after the first, which comes from the prefill), or 0 */
    public double decodeTokensPerSecond() {
        int steps = tokens.length - 1;
        return steps <= 0 || decodeNanos <= 0 ? 0 : steps * 1e9 / decodeNanos;
    }
}

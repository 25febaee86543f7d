package io.clusterkv.runtime;

/**
 * The likelihood of a continuation under teacher forcing ({@link Session#score}).
 *
 * @param nll    the negative log-likelihood (natural log) of each continuation token given everything
 *               before it
 * @param argmax the model's most likely token at each continuation position (for agreement checks)
 * @param prefillNanos time of the prompt's prefill
 * @param decodeNanos  time of the continuation's decode steps
 */
public record ScoreResult(double[] nll, int[] argmax, long prefillNanos, long decodeNanos) {

    /** Copies the arrays. */
    public ScoreResult {
        nll = nll.clone();
        argmax = argmax.clone();
    }

    @Override
    public double[] nll() {
        return nll.clone();
    }

    @Override
    public int[] argmax() {
        return argmax.clone();
    }

    /** @return decode steps per second (one per continuation token after the first), or 0 */
    public double decodeTokensPerSecond() {
        int steps = nll.length - 1;
        return steps <= 0 || decodeNanos <= 0 ? 0 : steps * 1e9 / decodeNanos;
    }

    /** @return the mean negative log-likelihood per token */
    public double meanNll() {
        double s = 0;
        for (double v : nll) {
            s += v;
        }
        return nll.length == 0 ? 0 : s / nll.length;
    }

    /** @return {@code exp(meanNll())} */
    public double perplexity() {
        return Math.exp(meanNll());
    }
}

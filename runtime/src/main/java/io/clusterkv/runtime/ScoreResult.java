package io.clusterkv.runtime;

/**
 * The likelihood of a continuation under teacher forcing ({@link Session#score}).
 *
 * @param nll    the negative log-likelihood (natural log) of each continuation token given everything
 *               before it
 * @param argmax the model's most likely token at each continuation position (for agreement checks)
 * @param nanos  time of the whole call
 */
public record ScoreResult(double[] nll, int[] argmax, long nanos) {

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

package io.clusterkv.runtime.metrics;

/**
 * Summary statistics of one metric over many evaluations (steps, heads, layers).
 *
 * @param count  evaluations summarised, {@code >= 0}
 * @param mean   arithmetic mean; {@code NaN} when {@code count == 0}
 * @param min    smallest value; {@code NaN} when {@code count == 0}
 * @param max    largest value; {@code NaN} when {@code count == 0}
 * @param stdDev population standard deviation; {@code NaN} when {@code count == 0}
 */
public record MetricSummary(long count, double mean, double min, double max, double stdDev) {

    /** The summary of no evaluations. */
    public static final MetricSummary EMPTY = new MetricSummary(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);

    /**
     * @throws IllegalArgumentException if {@code count < 0}, or {@code count > 0} and
     *                                  {@code min <= mean <= max}, {@code stdDev >= 0} do not hold
     */
    public MetricSummary {
        if (count < 0) {
            throw new IllegalArgumentException("count must be >= 0, was " + count);
        }
        if (count > 0 && !(min <= max && stdDev >= 0 && mean >= min - 1e-12 * Math.abs(min)
                && mean <= max + 1e-12 * Math.abs(max))) {
            throw new IllegalArgumentException("need min <= mean <= max and stdDev >= 0, was min " + min + ", mean "
                    + mean + ", max " + max + ", stdDev " + stdDev);
        }
    }
}

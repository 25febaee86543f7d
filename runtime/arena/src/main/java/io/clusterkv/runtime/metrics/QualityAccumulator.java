package io.clusterkv.runtime.metrics;

import java.util.Objects;

/**
 * Accumulates {@link SelectionQuality} results into a {@link QualitySummary}: mean, minimum, maximum and
 * standard deviation of every metric, in O(1) memory and without allocating per {@link #add}. Means and
 * variances use Welford's update, so long runs lose no precision. Not thread-safe: use one per thread
 * and {@link #addAll merge}.
 */
public final class QualityAccumulator {

    private final Stat top10 = new Stat();
    private final Stat topBudget = new Stat();
    private final Stat mass = new Stat();
    private final Stat error = new Stat();
    private final Stat attended = new Stat();
    private long count;

    /** Creates an empty accumulator. */
    public QualityAccumulator() {
    }

    /**
     * @param quality one evaluation
     * @return this
     */
    public QualityAccumulator add(SelectionQuality quality) {
        Objects.requireNonNull(quality, "quality");
        top10.add(quality.top10Recall());
        topBudget.add(quality.topBudgetRecall());
        mass.add(quality.attentionMass());
        error.add(quality.outputError());
        attended.add(quality.attended());
        count++;
        return this;
    }

    /**
     * Merges another accumulator's evaluations into this one (Chan et al.'s parallel update).
     *
     * @param other another accumulator, unchanged
     * @return this
     */
    public QualityAccumulator addAll(QualityAccumulator other) {
        Objects.requireNonNull(other, "other");
        top10.merge(other.top10);
        topBudget.merge(other.topBudget);
        mass.merge(other.mass);
        error.merge(other.error);
        attended.merge(other.attended);
        count += other.count;
        return this;
    }

    /** @return evaluations added so far */
    public long count() {
        return count;
    }

    /** @return the summary of the evaluations added so far */
    public QualitySummary summary() {
        return new QualitySummary(count, top10.summary(), topBudget.summary(), mass.summary(), error.summary(),
                attended.summary());
    }

    /** Running count, mean, sum of squared deviations, minimum and maximum of one metric. */
    private static final class Stat {
        private long n;
        private double mean;
        private double m2;
        private double min = Double.POSITIVE_INFINITY;
        private double max = Double.NEGATIVE_INFINITY;

        void add(double x) {
            n++;
            double delta = x - mean;
            mean += delta / n;
            m2 += delta * (x - mean);
            min = Math.min(min, x);
            max = Math.max(max, x);
        }

        void merge(Stat o) {
            if (o.n == 0) {
                return;
            }
            long total = n + o.n;
            double delta = o.mean - mean;
            mean += delta * o.n / total;
            m2 += o.m2 + delta * delta * ((double) n * o.n / total);
            n = total;
            min = Math.min(min, o.min);
            max = Math.max(max, o.max);
        }

        MetricSummary summary() {
            if (n == 0) {
                return MetricSummary.EMPTY;
            }
            double m = Math.min(max, Math.max(min, mean)); // rounding may push the mean a hair outside
            return new MetricSummary(n, m, min, max, Math.sqrt(Math.max(0, m2 / n)));
        }
    }
}

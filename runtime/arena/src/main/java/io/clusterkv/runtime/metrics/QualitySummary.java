package io.clusterkv.runtime.metrics;

import java.util.Objects;

/**
 * Each {@link SelectionQuality} metric summarised over many evaluations, e.g. one policy at one
 * budget over every step and head. Built by {@link QualityAccumulator#summary()}.
 *
 * @param count           evaluations summarised
 * @param top10Recall     of {@link SelectionQuality#top10Recall()}
 * @param topBudgetRecall of {@link SelectionQuality#topBudgetRecall()}
 * @param attentionMass   of {@link SelectionQuality#attentionMass()}
 * @param outputError     of {@link SelectionQuality#outputError()}
 * @param attended        of {@link SelectionQuality#attended()}
 */
public record QualitySummary(long count, MetricSummary top10Recall, MetricSummary topBudgetRecall,
        MetricSummary attentionMass, MetricSummary outputError, MetricSummary attended) {

    /**
     * @throws NullPointerException     if a summary is null
     * @throws IllegalArgumentException if a summary's count differs from {@code count}
     */
    public QualitySummary {
        for (MetricSummary m : new MetricSummary[] {top10Recall, topBudgetRecall, attentionMass, outputError,
                attended}) {
            Objects.requireNonNull(m, "metric summary");
            if (m.count() != count) {
                throw new IllegalArgumentException("every metric must summarise " + count + " evaluations, one has "
                        + m.count());
            }
        }
    }
}

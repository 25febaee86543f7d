package io.clusterkv.runtime.metrics;

/**
 * How well one selection approximates exact attention, for one query head at one step. Computed by
 * {@link SelectionMetrics}; see there for the definitions. Higher is better for the first three, lower
 * for {@link #outputError()}.
 *
 * @param top10Recall     {@code |Top10(q·K) ∩ S| / 10}, or over {@code n} when fewer than 10 positions exist,
 *                        in {@code [0, 1]}
 * @param topBudgetRecall {@code |TopB(q·K) ∩ S| / B} with {@code B = min(budget, n)}, in {@code [0, 1]}
 * @param attentionMass   {@code Σ_(i∈S) softmax_i}, the exact attention weight the selection keeps, in
 *                        {@code [0, 1]}
 * @param outputError     {@code ||o_S - o|| / ||o||}: relative error of the attention output renormalised
 *                        over {@code S}, {@code >= 0}
 * @param attended        distinct positions in {@code S} (explicit positions and window together)
 */
public record SelectionQuality(double top10Recall, double topBudgetRecall, double attentionMass, double outputError,
        int attended) {

    /**
     * @throws IllegalArgumentException if a value is out of its range or NaN, naming it
     */
    public SelectionQuality {
        unit("top10Recall", top10Recall);
        unit("topBudgetRecall", topBudgetRecall);
        unit("attentionMass", attentionMass);
        if (!(outputError >= 0) || Double.isInfinite(outputError)) {
            throw new IllegalArgumentException("outputError must be finite and >= 0, was " + outputError);
        }
        if (attended < 0) {
            throw new IllegalArgumentException("attended must be >= 0, was " + attended);
        }
    }

    private static void unit(String name, double v) {
        if (!(v >= 0 && v <= 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1], was " + v);
        }
    }
}

package io.clusterkv.runtime.compare;

import io.clusterkv.runtime.metrics.QualitySummary;
import java.util.List;
import java.util.Locale;

/**
 * The outcome of a {@link PolicyComparison}: one row per (policy, budget), plus the policies that
 * failed.
 *
 * @param spec     what was run
 * @param rows     in policy order, then budget order
 * @param failures policies that threw, with the message; their rows are absent
 */
public record ComparisonResult(ComparisonSpec spec, List<Row> rows, List<Failure> failures) {

    /**
     * One policy at one budget, averaged over every step, query head and KV head.
     *
     * @param policy             the policy name
     * @param budget             the budget
     * @param quality            selection-quality metrics
     * @param selectMicrosPerHead median over steps of the time of one {@code select} call divided by the
     *                           shard's query heads, in microseconds
     */
    public record Row(String policy, int budget, QualitySummary quality, double selectMicrosPerHead) {
    }

    /**
     * A policy that threw.
     *
     * @param policy  its name
     * @param budget  the budget it was running at
     * @param message what it threw
     */
    public record Failure(String policy, int budget, String message) {
    }

    /** @return a plain-text table, one line per row */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        var w = spec.workload();
        sb.append(String.format(Locale.ROOT, "synthetic workload: context %d + %d steps, head dim %d, %d query heads x %d KV heads, seed %d%n",
                w.promptLength(), w.steps(), w.headDim(), w.queryHeads(), spec.kvHeads(), w.seed()));
        sb.append(String.format(Locale.ROOT, "%-12s %7s %9s %9s %9s %10s %10s %12s%n", "policy", "budget", "top10", "top-B",
                "mass", "out.err", "attended", "select us/h"));
        for (Row r : rows) {
            QualitySummary q = r.quality();
            sb.append(String.format(Locale.ROOT, "%-12s %7d %9.3f %9.3f %9.3f %10.4f %10.0f %12.1f%n", r.policy(), r.budget(),
                    q.top10Recall().mean(), q.topBudgetRecall().mean(), q.attentionMass().mean(), q.outputError().mean(),
                    q.attended().mean(), r.selectMicrosPerHead()));
        }
        for (Failure f : failures) {
            sb.append(String.format(Locale.ROOT, "%-12s %7d FAILED: %s%n", f.policy(), f.budget(), f.message()));
        }
        return sb.toString();
    }
}

package io.clusterkv.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class SelectionMetricsAggregationTest {

    @Test
    void meanMinMaxAndStdDevPerMetric() {
        QualityAccumulator acc = new QualityAccumulator()
                .add(new SelectionQuality(1.0, 0.5, 0.9, 0.1, 10))
                .add(new SelectionQuality(0.5, 0.25, 0.7, 0.3, 20))
                .add(new SelectionQuality(0.0, 0.0, 0.5, 0.5, 30));
        QualitySummary s = acc.summary();
        assertEquals(3, s.count());
        assertEquals(0.5, s.top10Recall().mean(), 1e-15);
        assertEquals(0.0, s.top10Recall().min(), 0.0);
        assertEquals(1.0, s.top10Recall().max(), 0.0);
        assertEquals(Math.sqrt(1.0 / 6), s.top10Recall().stdDev(), 1e-15);
        assertEquals(0.25, s.topBudgetRecall().mean(), 1e-15);
        assertEquals(0.7, s.attentionMass().mean(), 1e-15);
        assertEquals(0.5, s.attentionMass().min(), 0.0);
        assertEquals(0.3, s.outputError().mean(), 1e-15);
        assertEquals(0.5, s.outputError().max(), 0.0);
        assertEquals(20, s.attended().mean(), 1e-12);
    }

    /** A quality of any valid figures. */
    @Provide
    Arbitrary<SelectionQuality> qualities() {
        Arbitrary<Double> unit = Arbitraries.doubles().between(0, 1).ofScale(9);
        return Combinators.combine(unit, unit, unit, Arbitraries.doubles().between(0, 3).ofScale(9),
                Arbitraries.integers().between(0, 99)).as(SelectionQuality::new);
    }

    /** Whatever the qualities and whichever goes to which side, merging the sides equals adding them all. */
    @Property(tries = 200)
    void mergingEqualsAddingInOrder(@ForAll @Size(max = 1000) List<@From("qualities") SelectionQuality> qualities,
            @ForAll @IntRange(min = 1, max = 5) int everyNthLeft) {
        QualityAccumulator all = new QualityAccumulator();
        QualityAccumulator left = new QualityAccumulator();
        QualityAccumulator right = new QualityAccumulator();
        for (int i = 0; i < qualities.size(); i++) {
            SelectionQuality q = qualities.get(i);
            all.add(q);
            (i % everyNthLeft == 0 ? left : right).add(q);
        }
        QualitySummary merged = left.addAll(right).summary();
        QualitySummary direct = all.summary();
        assertEquals(direct.count(), merged.count());
        assertClose(direct.top10Recall(), merged.top10Recall());
        assertClose(direct.outputError(), merged.outputError());
        assertClose(direct.attended(), merged.attended());
    }

    private static void assertClose(MetricSummary a, MetricSummary b) {
        assertEquals(a.count(), b.count());
        assertEquals(a.mean(), b.mean(), 1e-12);
        assertEquals(a.min(), b.min(), 0.0);
        assertEquals(a.max(), b.max(), 0.0);
        assertEquals(a.stdDev(), b.stdDev(), 1e-12);
    }

    @Test
    void emptySummaryIsNaN() {
        QualitySummary s = new QualityAccumulator().summary();
        assertEquals(0, s.count());
        assertEquals(MetricSummary.EMPTY, s.attentionMass());
        assertTrue(Double.isNaN(s.top10Recall().mean()));
        assertEquals(s, new QualityAccumulator().addAll(new QualityAccumulator()).summary());
    }

    @Test
    void recordsRejectImpossibleValues() {
        assertThrows(IllegalArgumentException.class, () -> new SelectionQuality(1.5, 0, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new SelectionQuality(0, Double.NaN, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new SelectionQuality(0, 0, -0.1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new SelectionQuality(0, 0, 0, -1, 0));
        assertThrows(IllegalArgumentException.class, () -> new SelectionQuality(0, 0, 0, 0, -1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SelectionQuality(0, 0, 2, 0, 0));
        assertTrue(e.getMessage().contains("attentionMass") && e.getMessage().contains("2.0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new MetricSummary(-1, 0, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> new MetricSummary(2, 5, 0, 1, 0));
    }
}

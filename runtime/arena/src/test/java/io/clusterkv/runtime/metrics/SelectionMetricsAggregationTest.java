package io.clusterkv.runtime.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
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

    @Test
    void mergingEqualsAddingInOrder() {
        SplittableRandom r = new SplittableRandom(3);
        QualityAccumulator all = new QualityAccumulator();
        QualityAccumulator left = new QualityAccumulator();
        QualityAccumulator right = new QualityAccumulator();
        for (int i = 0; i < 1000; i++) {
            SelectionQuality q = new SelectionQuality(r.nextDouble(), r.nextDouble(), r.nextDouble(), 3 * r.nextDouble(),
                    r.nextInt(100));
            all.add(q);
            (i % 3 == 0 ? left : right).add(q);
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

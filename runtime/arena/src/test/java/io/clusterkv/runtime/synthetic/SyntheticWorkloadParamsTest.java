package io.clusterkv.runtime.synthetic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class SyntheticWorkloadParamsTest {

    private static final WorkloadParams D = WorkloadParams.defaults();

    @Test
    void withersChangeOneField() {
        WorkloadParams p = D.withSeed(7).withPromptLength(100).withSteps(3).withHeadDim(64).withQueryHeads(2)
                .withTopics(5).withMeanSegmentLength(10).withTopicCoherence(0.5).withSalienceSpread(0)
                .withSinks(1).withSinkNorm(1).withSinkLogit(2).withNeedles(2).withNeedleLogit(3)
                .withNeedleProbability(1).withTopicsPerQuery(5).withTopicLogit(-1).withRecentTopicProbability(0)
                .withTargetPersistence(1).withRecencyLogit(0).withRecencyScale(0.5).withNoiseLogit(0);
        assertEquals(new WorkloadParams(7, 100, 3, 64, 2, 5, 10, 0.5, 0, 1, 1, 2, 2, 3, 1, 5, -1, 0, 1, 0, 0.5, 0), p);
    }

    @Test
    void everyFieldIsValidatedWithItsNameAndValue() {
        rejects(p -> p.withPromptLength(0), "promptLength", "0");
        rejects(p -> p.withSteps(-1), "steps", "-1");
        rejects(p -> p.withHeadDim(1), "headDim", "1");
        rejects(p -> p.withQueryHeads(0), "queryHeads", "0");
        rejects(p -> p.withTopics(0), "topics", "0");
        rejects(p -> p.withTopics(1), "topicsPerQuery", "2");
        rejects(p -> p.withTopicsPerQuery(0), "topicsPerQuery", "0");
        rejects(p -> p.withMeanSegmentLength(0.5), "meanSegmentLength", "0.5");
        rejects(p -> p.withMeanSegmentLength(Double.NaN), "meanSegmentLength", "NaN");
        rejects(p -> p.withTopicCoherence(1.0), "topicCoherence", "1.0");
        rejects(p -> p.withTopicCoherence(0.0), "topicCoherence", "0.0");
        rejects(p -> p.withSalienceSpread(-0.1), "salienceSpread", "-0.1");
        rejects(p -> p.withSinks(-1), "sinks", "-1");
        rejects(p -> p.withSinks(5000), "sinks", "5000");
        rejects(p -> p.withSinkNorm(0.5), "sinkNorm", "0.5");
        rejects(p -> p.withSinkLogit(100), "sinkLogit", "100");
        rejects(p -> p.withNeedles(-2), "needles", "-2");
        rejects(p -> p.withNeedles(4093), "needles", "4093");
        rejects(p -> p.withNeedleLogit(Double.POSITIVE_INFINITY), "needleLogit", "Infinity");
        rejects(p -> p.withNeedleProbability(1.5), "needleProbability", "1.5");
        rejects(p -> p.withTopicLogit(-61), "topicLogit", "-61");
        rejects(p -> p.withRecentTopicProbability(-0.5), "recentTopicProbability", "-0.5");
        rejects(p -> p.withTargetPersistence(2), "targetPersistence", "2");
        rejects(p -> p.withRecencyLogit(-1), "recencyLogit", "-1");
        rejects(p -> p.withRecencyScale(0), "recencyScale", "0");
        rejects(p -> p.withNoiseLogit(-0.1), "noiseLogit", "-0.1");
        rejects(p -> p.withHeadDim(1 << 20).withPromptLength(1 << 12), "headDim", "1048576");
    }

    @Test
    void boundaryValuesAreAccepted() {
        WorkloadParams p = D.withPromptLength(12).withSinks(4).withNeedles(8).withSteps(0).withHeadDim(2)
                .withTopics(2).withTopicsPerQuery(2).withMeanSegmentLength(1);
        assertEquals(12, p.length());
        assertEquals(0, D.withSinks(0).withNeedles(0).sinks());
    }

    private static void rejects(UnaryOperator<WorkloadParams> change, String field, String value) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> change.apply(D));
        assertTrue(e.getMessage().contains(field) && e.getMessage().contains(value),
                "message should name " + field + " and " + value + ": " + e.getMessage());
    }
}

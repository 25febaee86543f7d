package io.clusterkv.runtime.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.clusterkv.spi.Queries;
import io.clusterkv.spi.ShardGeometry;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link SelectionScope}: the geometry a policy is made with, and the query it selects for. */
class SelectionScopeTest {

    @Test
    void aGroupSharedSelectionIsMadeForOneQueryHead() {
        ShardGeometry g = new ShardGeometry(3, 1, 4, 64);
        assertSame(g, SelectionScope.HEAD.policyGeometry(g));
        assertEquals(new ShardGeometry(3, 1, 1, 64), SelectionScope.GROUP.policyGeometry(g));
        assertEquals(4, SelectionScope.HEAD.selectionHeads(4));
        assertEquals(1, SelectionScope.GROUP.selectionHeads(4));
    }

    @Test
    void theGroupSelectsForTheMeanOfItsQueriesWhoseScoresAreTheMeanScores() {
        int heads = 4;
        int dim = 64;
        Random r = new Random(3);
        float[] q = new float[heads * dim];
        float[] k = new float[dim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < dim; i++) {
            k[i] = (float) r.nextGaussian();
        }
        Queries group = Queries.wrap(q, heads, dim);
        assertSame(group, new SelectionScope.PolicyQueries(SelectionScope.HEAD, dim).of(group));
        SelectionScope.PolicyQueries shared = new SelectionScope.PolicyQueries(SelectionScope.GROUP, dim);
        Queries mean = shared.of(group);
        assertEquals(1, mean.heads());
        double meanScore = 0;
        for (int h = 0; h < heads; h++) {
            for (int c = 0; c < dim; c++) {
                meanScore += (double) q[h * dim + c] * k[c] / heads;
            }
        }
        assertEquals(meanScore, mean.dot(0, k, 0), 1e-4);
        for (int c = 0; c < dim; c++) {
            double expected = 0;
            for (int h = 0; h < heads; h++) {
                expected += q[h * dim + c];
            }
            assertEquals(expected / heads, mean.get(0, c), 1e-6, "channel " + c);
        }
        // reused: a second call overwrites the first's mean
        float[] zeros = new float[heads * dim];
        assertEquals(0f, shared.of(Queries.wrap(zeros, heads, dim)).get(0, 5));
        assertThrows(IllegalArgumentException.class, () -> shared.of(Queries.wrap(new float[4 * 32], 4, 32)));
    }
}

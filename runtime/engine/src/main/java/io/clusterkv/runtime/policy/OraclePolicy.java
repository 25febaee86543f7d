package io.clusterkv.runtime.policy;

import io.clusterkv.spi.HeadSelection;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.Selection;

/**
 * {@code oracle}: for each query head, the exact top-{@code budget} positions by {@code q · k}. It
 * scores every key at every step, so it saves no memory traffic; it is the upper bound of top-B recall
 * that real policies are measured against. Ties go to the lower position. Selected positions are
 * returned in ascending order, outside any unit.
 */
public final class OraclePolicy implements RecallPolicy {

    /** Registers {@code oracle}. */
    public static final class Provider implements RecallPolicyProvider {
        @Override
        public String name() {
            return "oracle";
        }

        @Override
        public String description() {
            return "Exact top-B positions by q.k per query head (upper bound; scores every key)";
        }

        @Override
        public RecallPolicy create(PolicyContext context) {
            return new OraclePolicy();
        }
    }

    private float[] scores = new float[0]; // (contextSize) q · k of one head
    private int[] order = new int[0];      // (contextSize) positions, partially ordered by score

    @Override
    public void select(Queries queries, KeyView keys, int budget, Selection out) {
        int n = keys.size();
        if (scores.length < n) {
            int cap = Math.max(n, scores.length * 2);
            scores = new float[cap];
            order = new int[cap];
        }
        for (int h = 0; h < out.heads(); h++) {
            HeadSelection s = out.head(h);
            if (n <= budget) {
                s.addPages(0, StreamingPolicy.PAGE, 0, n);
                continue;
            }
            for (int p = 0; p < n; p++) {
                scores[p] = queries.dot(h, keys, p);
                order[p] = p;
            }
            TopK.select(scores, order, n, budget);
            TopK.sortAscending(order, budget);
            for (int i = 0; i < budget; i++) {
                s.add(order[i]);
            }
        }
    }
}

package io.clusterkv.spi;

/**
 * The example of {@link PageScoringPolicy}'s javadoc, pages ranked by their best key: the class is
 * shown there ({@link JavadocExamplesTest} keeps the two identical) and
 * {@link MaxKeyPagePolicyConformanceTest} runs the kit over it.
 */
// @start region="max-key-page-policy"
final class MaxKeyPagePolicy extends PageScoringPolicy {

    MaxKeyPagePolicy(int pageSize, int sink, int recent) {
        super(pageSize, sink, recent);
    }

    @Override
    protected float score(Queries queries, int head, KeyView keys, int page, int from, int to) {
        float best = Float.NEGATIVE_INFINITY;
        for (int p = from; p < to; p++) {
            best = Math.max(best, queries.dot(head, keys, p));
        }
        return best;
    }
}
// @end


package io.clusterkv.spi;

/**
 * The example of {@link RecallPolicy}'s javadoc, the newest {@code budget} positions: its
 * {@code select} is shown there ({@link JavadocExamplesTest} keeps the two identical) and
 * {@link RecentPolicyConformanceTest} runs the kit over it.
 */
public final class RecentPolicy implements RecallPolicy {

    /** Registers {@code recent}. */
    public static final class Provider implements RecallPolicyProvider {
        @Override public String name() { return "recent"; }
        @Override public String description() { return "The newest budget positions"; }
        @Override public RecallPolicy create(PolicyContext context) { return new RecentPolicy(); }
    }

    @Override
    // @start region="recent-policy"
    public void select(Queries queries, KeyView keys, int budget, Selection out) {
        int n = keys.size();
        int from = Math.max(0, n - budget);
        for (int h = 0; h < out.heads(); h++) {
            out.head(h).addPages(0, 16, from, n); // one unit per page of 16 positions
        }
    }
    // @end
}

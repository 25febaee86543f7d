package io.clusterkv.spi;

/** The trivial policy of the SPI's javadoc, used to test the SPI and its kit: the newest {@code budget} positions. */
public final class RecentPolicy implements RecallPolicy {

    /** Registers {@code recent}. */
    public static final class Provider implements RecallPolicyProvider {
        @Override public String name() { return "recent"; }
        @Override public String description() { return "The newest budget positions"; }
        @Override public RecallPolicy create(PolicyContext context) { return new RecentPolicy(); }
    }

    @Override
    public void select(Queries queries, KeyView keys, int budget, Selection out) {
        int n = keys.size();
        for (int h = 0; h < out.heads(); h++) {
            out.head(h).addPages(0, 16, Math.max(0, n - budget), n);
        }
    }

    @Override
    public int[] alwaysAttended(int contextSize, int budget) {
        return contextSize == 0 ? new int[0] : new int[] {contextSize - 1};
    }
}

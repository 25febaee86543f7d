package io.clusterkv.spi;

/**
 * One step's selection for all query heads of a shard: a {@link HeadSelection} per head.
 *
 * <p>The runtime owns one instance per shard and {@link #reset resets} it before each
 * {@link RecallPolicy#select}; the policy fills each head. Nothing is allocated per step once the
 * largest budget has been seen.
 */
public final class Selection {

    private final HeadSelection[] heads;
    private int budget;
    private int contextSize;

    /**
     * @param queryHeads query heads of the shard, {@code >= 1}
     * @param capacity   the budget to size buffers for; larger budgets grow them
     * @throws IllegalArgumentException if an argument is out of range
     */
    public Selection(int queryHeads, int capacity) {
        if (queryHeads < 1) {
            throw new IllegalArgumentException("queryHeads must be >= 1, was " + queryHeads);
        }
        if (capacity < 1) {
            throw new IllegalArgumentException("budget must be >= 1 position per query head, was " + capacity);
        }
        heads = new HeadSelection[queryHeads];
        for (int h = 0; h < queryHeads; h++) {
            heads[h] = new HeadSelection(h, capacity);
        }
    }

    /**
     * Empties every head and sets the step's limits.
     *
     * @param budget      explicit positions each head may select, {@code >= 1}
     * @param contextSize positions written, {@code >= 0}
     * @throws IllegalArgumentException if {@code budget < 1} or {@code contextSize < 0}, naming the value
     */
    public void reset(int budget, int contextSize) {
        if (budget < 1) {
            throw new IllegalArgumentException("budget must be >= 1 position per query head, was " + budget);
        }
        if (contextSize < 0) {
            throw new IllegalArgumentException("context size must be >= 0, was " + contextSize);
        }
        this.budget = budget;
        this.contextSize = contextSize;
        for (HeadSelection h : heads) {
            h.reset(budget, contextSize);
        }
    }

    /** @return query heads */
    public int heads() {
        return heads.length;
    }

    /**
     * @param head a query head in {@code [0, heads())}
     * @return that head's selection
     */
    public HeadSelection head(int head) {
        return heads[java.util.Objects.checkIndex(head, heads.length)];
    }

    /** @return the step's budget */
    public int budget() {
        return budget;
    }

    /** @return the step's context size */
    public int contextSize() {
        return contextSize;
    }

    /** Selects everything for every head, as exact attention does. */
    public void attendAll() {
        for (HeadSelection h : heads) {
            h.attendFrom(0);
        }
    }
}

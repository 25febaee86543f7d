package io.clusterkv.spi.internal;

import io.clusterkv.spi.Selection;
import java.util.Objects;

/**
 * The runtime's side of one step's selection for the query heads of a shard: it creates one per
 * shard, {@link #reset resets} it before each {@link io.clusterkv.spi.RecallPolicy#select select},
 * hands it to the policy as a {@link Selection}, and reads each {@link #head(int) head} afterwards.
 * Nothing is allocated per step once the largest budget has been seen.
 */
public final class SelectionBuffer implements Selection {

    private final HeadSelectionBuffer[] heads;
    private int budget;
    private int contextSize;

    /**
     * @param queryHeads query heads of the shard, {@code >= 1}
     * @param capacity   the budget to size buffers for; larger budgets grow them
     * @throws IllegalArgumentException if an argument is out of range
     */
    public SelectionBuffer(int queryHeads, int capacity) {
        if (queryHeads < 1) {
            throw new IllegalArgumentException("queryHeads must be >= 1, was " + queryHeads);
        }
        if (capacity < 1) {
            throw new IllegalArgumentException("budget must be >= 1 position per query head, was " + capacity);
        }
        heads = new HeadSelectionBuffer[queryHeads];
        for (int h = 0; h < queryHeads; h++) {
            heads[h] = new HeadSelectionBuffer(h, capacity);
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
        for (HeadSelectionBuffer h : heads) {
            h.reset(budget, contextSize);
        }
    }

    @Override
    public int heads() {
        return heads.length;
    }

    @Override
    public HeadSelectionBuffer head(int head) {
        return heads[Objects.checkIndex(head, heads.length)];
    }

    @Override
    public int budget() {
        return budget;
    }

    @Override
    public int contextSize() {
        return contextSize;
    }

    @Override
    public void attendAll() {
        for (HeadSelectionBuffer h : heads) {
            h.attendFrom(0);
        }
    }
}

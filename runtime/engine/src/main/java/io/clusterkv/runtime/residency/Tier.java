package io.clusterkv.runtime.residency;

import java.util.List;

/**
 * What a {@link ResidencyRule} implements: the map from units to resident entries, and which entries
 * leave when blocks run short. Entries handed to a shard are pinned; the shard unpins them at the
 * end of its step. Every method is safe to call from any thread; a shard calls the per-step ones from
 * its own.
 */
sealed interface Tier permits CaffeineTier, LruTier, Tier.None {

    /**
     * @param config the cache's configuration
     * @param pool   its blocks
     * @return the tier for the configuration's rule
     */
    static Tier create(ResidencyConfig config, BlockPool pool) {
        return switch (config.rule()) {
            case NONE -> new None();
            case CAFFEINE -> new CaffeineTier(pool);
            case LRU -> new LruTier(pool, 0);
            case LAST_R -> new LruTier(pool, config.lastSteps());
        };
    }

    /**
     * Looks units up, marking each found as used now, and pins what it finds.
     *
     * @param out receives, for each unit, its pinned entry or null
     */
    void lookup(ShardResidency shard, long[] unitIds, int[] versions, int count, ResidentUnit[] out);

    /**
     * Makes a unit resident with room for {@code blocks} blocks (rows not yet copied: {@code rows} is
     * 0), evicting others if needed.
     *
     * @return the new entry, pinned, or null if it cannot be resident now
     */
    ResidentUnit insert(ShardResidency shard, long unitId, int version, int blocks);

    /**
     * Grows a pinned, resident entry to {@code blocks} blocks, evicting others if needed.
     *
     * @return whether it grew; if not it keeps its blocks
     */
    boolean grow(ResidentUnit unit, int blocks);

    /** Drops a pin taken by {@link #lookup} or {@link #insert}; frees the entry if it was retired meanwhile. */
    void unpin(ResidentUnit unit);

    /** Called by a shard after each step, its entries unpinned ({@link ResidencyRule#LAST_R} evicts here). */
    void endStep(ShardResidency shard);

    /** Removes every entry of the given shards, which are already marked closed; no eviction is counted. */
    void drop(List<ShardResidency> closedShards);

    /** @return whether the unit of an open shard is resident (any prefix), without marking it used */
    boolean contains(ShardResidency shard, UnitKey key);

    /** Retires every entry; the pool is closed by the cache. */
    void close();

    /**
     * {@link ResidencyRule#NONE}: nothing is ever resident, so a shard that goes through the cache anyway
     * reads every row from the host store (the runtime does not: it attends in place).
     */
    final class None implements Tier {
        @Override
        public void lookup(ShardResidency shard, long[] unitIds, int[] versions, int count, ResidentUnit[] out) {
            java.util.Arrays.fill(out, 0, count, null);
        }

        @Override
        public ResidentUnit insert(ShardResidency shard, long unitId, int version, int blocks) {
            return null;
        }

        @Override
        public boolean grow(ResidentUnit unit, int blocks) {
            return false;
        }

        @Override
        public void unpin(ResidentUnit unit) {
        }

        @Override
        public void endStep(ShardResidency shard) {
        }

        @Override
        public void drop(List<ShardResidency> closedShards) {
        }

        @Override
        public boolean contains(ShardResidency shard, UnitKey key) {
            return false;
        }

        @Override
        public void close() {
        }
    }
}

package io.clusterkv.runtime.residency;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The {@link ResidencyRule#CAFFEINE CAFFEINE} rule: a Caffeine cache from {@link UnitKey} to entry,
 * weighed in block bytes, bounded by the capacity.
 *
 * <p>Design notes. An entry weighs the blocks it is planned to hold ({@code plannedBlocks *
 * blockBytes}); the weight is set before the entry is put (or re-put for an extension), so Caffeine
 * evicts to make room first and the blocks are taken from the pool after. Maintenance, and with it
 * eviction, runs on the calling thread ({@code executor(Runnable::run)}), so the eviction listener has
 * freed the victims' blocks when {@code put} returns; if another thread was draining at that moment,
 * {@code cleanUp()} waits for it and the allocation is tried once more. Caffeine may also refuse the
 * new entry (W-TinyLFU admission): it is then evicted at once and the unit is served from the host.
 * Blocks of an evicted entry that a step still pins are freed at its unpin, so the pool, not Caffeine,
 * is what keeps the bytes in use within the capacity; Caffeine decides which units stay.
 *
 * <p>Caffeine needs a key object per lookup: each {@link #lookup} and {@link #insert} allocates one
 * {@link UnitKey}, and Caffeine allocates a node per insert (the LRU and LAST_R rules allocate
 * neither).
 */
final class CaffeineTier implements Tier {

    private final BlockPool pool;
    private final Cache<UnitKey, ResidentUnit> cache;
    private final Map<UnitKey, ResidentUnit> map;

    CaffeineTier(BlockPool pool) {
        this.pool = pool;
        long blockBytes = pool.blockBytes();
        this.cache = Caffeine.newBuilder()
                .maximumWeight(pool.totalBlocks() * blockBytes)
                .weigher((UnitKey key, ResidentUnit unit) -> (int) Math.min(Integer.MAX_VALUE,
                        unit.plannedBlocks * blockBytes))
                .executor(Runnable::run)
                .evictionListener(this::onEviction)
                .build();
        this.map = cache.asMap();
    }

    private void onEviction(UnitKey key, ResidentUnit unit, RemovalCause cause) {
        if (unit != null) {
            unit.shard.counters.evictions.increment();
            retire(unit);
        }
    }

    private void retire(ResidentUnit unit) {
        if (unit.retire()) {
            pool.releaseAll(unit);
        }
    }

    private static UnitKey key(ShardResidency shard, long unitId, int version) {
        return new UnitKey(shard.sessionId, shard.layer, shard.kvHead, unitId, version);
    }

    @Override
    public void lookup(ShardResidency shard, long[] unitIds, int[] versions, int count, ResidentUnit[] out) {
        for (int i = 0; i < count; i++) {
            ResidentUnit u = cache.getIfPresent(key(shard, unitIds[i], versions[i]));
            out[i] = u != null && u.tryPin() ? u : null;
        }
    }

    @Override
    public ResidentUnit insert(ShardResidency shard, long unitId, int version, int blocks) {
        if (blocks > pool.totalBlocks() || shard.closed) {
            return null;
        }
        UnitKey key = key(shard, unitId, version);
        ResidentUnit u = new ResidentUnit(blocks);
        u.reset(shard, unitId, version, key);
        u.plannedBlocks = blocks;
        ResidentUnit previous = map.put(key, u);
        if (previous != null) { // only the owning shard inserts its keys, after a lookup missed: not expected
            retire(previous);
        }
        if (u.isRetired() || !allocate(u, blocks)) { // refused at once, or blocks held by pinned units
            map.remove(key, u);
            u.retire();
            unpin(u);
            return null;
        }
        if (shard.closed) { // dropped while inserting: usable for this step, freed at its unpin
            map.remove(key, u);
            u.retire();
        }
        return u;
    }

    private boolean allocate(ResidentUnit u, int count) {
        if (pool.allocateTo(u, count)) {
            return true;
        }
        cache.cleanUp(); // evictions owed to this put may be pending on another thread's drain
        return !u.isRetired() && pool.allocateTo(u, count);
    }

    @Override
    public boolean grow(ResidentUnit unit, int blocks) {
        int need = blocks - unit.blockCount;
        if (need <= 0) {
            return true;
        }
        if (unit.isRetired()) {
            return false;
        }
        unit.plannedBlocks = blocks;
        if (!map.replace(unit.key, unit, unit) || unit.isRetired()) { // re-weighed; may have evicted it
            return false;
        }
        if (allocate(unit, need)) {
            return true;
        }
        unit.plannedBlocks = unit.blockCount;
        map.replace(unit.key, unit, unit);
        return false;
    }

    @Override
    public void unpin(ResidentUnit unit) {
        if (unit.unpin()) {
            pool.releaseAll(unit);
        }
    }

    @Override
    public void endStep(ShardResidency shard) {
        // Caffeine decides on its own
    }

    @Override
    public void drop(List<ShardResidency> closedShards) {
        for (Map.Entry<UnitKey, ResidentUnit> e : map.entrySet()) {
            ResidentUnit u = e.getValue();
            if (u.shard.closed && map.remove(e.getKey(), u)) {
                retire(u);
            }
        }
    }

    @Override
    public boolean contains(ShardResidency shard, UnitKey key) {
        return cache.policy().getIfPresentQuietly(key) != null;
    }

    @Override
    public void close() {
        List<ResidentUnit> units = new ArrayList<>(map.values());
        cache.invalidateAll();
        units.forEach(this::retire);
        cache.cleanUp();
    }
}

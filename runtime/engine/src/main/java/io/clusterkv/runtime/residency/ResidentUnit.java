package io.clusterkv.runtime.residency;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One entry of the device tier: a unit's resident prefix, in blocks of a {@link BlockPool}.
 *
 * <p>Design notes. Only the owning shard's thread reads or writes the rows and the block list, and
 * only while it holds a pin; other threads touch an entry only to retire it (evict or drop) and, if
 * it is unpinned, free its blocks. The pin count and a retired bit share one int, changed atomically,
 * so exactly one thread frees the blocks: the one that retires an unpinned entry, or the one that
 * unpins the last pin of a retired entry. A retired entry cannot be pinned again; a step that holds a
 * pin keeps reading its blocks safely until it unpins. The links are the {@link LruTier}'s, guarded by
 * its lock.
 */
final class ResidentUnit {

    private static final VarHandle STATE;
    static final int RETIRED = 1 << 31;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(ResidentUnit.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    ShardResidency shard;
    long unitId;
    int version;
    UnitKey key;           // CAFFEINE's map key; null under the other rules

    int[] blocks;          // (blockCount) block ids, in row order
    int blockCount;
    int rows;              // rows of the unit's list resident, from the first
    int plannedBlocks;     // CAFFEINE: the blocks this entry weighs

    @SuppressWarnings("unused") // through STATE
    private volatile int state; // RETIRED bit | pin count

    // LruTier bookkeeping, under its lock
    ResidentUnit bucketNext;   // hash chain; the free list when pooled
    ResidentUnit older;        // global recency list
    ResidentUnit newer;
    ResidentUnit shardOlder;   // the shard's recency list
    ResidentUnit shardNewer;
    long lastStep;             // the shard's step that last selected it

    ResidentUnit(int blockCapacity) {
        this.blocks = new int[Math.max(1, blockCapacity)];
    }

    /** Sets the identity of a fresh or recycled entry, pinned once, before it is published. */
    void reset(ShardResidency shard, long unitId, int version, UnitKey key) {
        this.shard = shard;
        this.unitId = unitId;
        this.version = version;
        this.key = key;
        this.blockCount = 0;
        this.rows = 0;
        this.plannedBlocks = 0;
        STATE.setRelease(this, 1);
    }

    /** Makes room for {@code count} block ids. */
    void ensureBlockCapacity(int count) {
        if (blocks.length < count) {
            blocks = java.util.Arrays.copyOf(blocks, Math.max(count, 2 * blocks.length));
        }
    }

    /** @return whether a pin was taken; false once retired */
    boolean tryPin() {
        for (;;) {
            int s = (int) STATE.getVolatile(this);
            if (s < 0) {
                return false;
            }
            if (STATE.compareAndSet(this, s, s + 1)) {
                return true;
            }
        }
    }

    /** @return whether this dropped the last pin of a retired entry: the caller frees it */
    boolean unpin() {
        return (int) STATE.getAndAdd(this, -1) - 1 == RETIRED;
    }

    /** @return whether this retired an unpinned entry: the caller frees it */
    boolean retire() {
        return (int) STATE.getAndBitwiseOr(this, RETIRED) == 0;
    }

    boolean isRetired() {
        return (int) STATE.getVolatile(this) < 0;
    }

    boolean isPinned() {
        return ((int) STATE.getVolatile(this) & ~RETIRED) != 0;
    }

    long residentBytes(int blockBytes) {
        return (long) blockCount * blockBytes;
    }
}

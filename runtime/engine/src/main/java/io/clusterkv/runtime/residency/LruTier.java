package io.clusterkv.runtime.residency;

import io.clusterkv.spi.Seeds;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The {@link ResidencyRule#LRU LRU} and {@link ResidencyRule#LAST_R LAST_R} rules: one hash table and
 * two recency lists under one lock.
 *
 * <p>Design notes. Entries are found by (shard, unit id, version) in a chained hash table whose
 * chains run through the entries themselves, so a lookup allocates no key and nothing is boxed. Every
 * entry sits on a global recency list and on its shard's; a lookup that finds it moves it to the
 * newest end of both and stamps it with the shard's step, so the shard's list is ordered by the step
 * that last selected each entry. When blocks run short the walk starts at the oldest end of the
 * global list and evicts every entry not pinned by a step in progress until enough blocks are free:
 * exact LRU over the unpinned entries (the pinned ones are in use, hence as recent as can be). With
 * {@code lastSteps = R > 0}, the end of a shard's step also evicts, from the oldest end of its own
 * list, the entries it last selected {@code R} or more steps ago. Freed entries go to a free list and
 * are reused with their block arrays: once warm, neither hits nor misses allocate. A shard takes the
 * lock once for all its lookups of a step and once per miss; rows are copied outside the lock, under
 * the entry's pin.
 */
final class LruTier implements Tier {

    private final BlockPool pool;
    private final int lastSteps; // 0 for LRU
    private final ReentrantLock lock = new ReentrantLock();

    private ResidentUnit[] buckets = new ResidentUnit[64];
    private int size;
    private ResidentUnit oldest;
    private ResidentUnit newest;
    private ResidentUnit spare; // freed entries, chained through bucketNext
    private boolean closed;

    LruTier(BlockPool pool, int lastSteps) {
        this.pool = pool;
        this.lastSteps = lastSteps;
    }

    @Override
    public void lookup(ShardResidency shard, long[] unitIds, int[] versions, int count, ResidentUnit[] out) {
        lock.lock();
        try {
            for (int i = 0; i < count; i++) {
                ResidentUnit u = closed ? null : find(shard, unitIds[i], versions[i]);
                if (u != null) {
                    touch(u);
                    u.tryPin(); // never retired while in the table
                }
                out[i] = u;
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public ResidentUnit insert(ShardResidency shard, long unitId, int version, int blocks) {
        lock.lock();
        try {
            if (closed || shard.closed || !makeRoom(blocks)) {
                return null;
            }
            ResidentUnit u = spare;
            if (u != null) {
                spare = u.bucketNext;
            } else {
                u = new ResidentUnit(blocks);
            }
            u.reset(shard, unitId, version, null);
            pool.allocateTo(u, blocks); // room was made under the lock, and only this tier allocates
            link(u);
            return u;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean grow(ResidentUnit unit, int blocks) {
        lock.lock();
        try {
            int need = blocks - unit.blockCount;
            if (need <= 0) {
                return true;
            }
            return !closed && !unit.isRetired() && makeRoom(need) && pool.allocateTo(unit, need);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void unpin(ResidentUnit unit) {
        if (unit.unpin()) {
            lock.lock();
            try {
                free(unit);
            } finally {
                lock.unlock();
            }
        }
    }

    @Override
    public void endStep(ShardResidency shard) {
        if (lastSteps == 0) {
            return;
        }
        lock.lock();
        try {
            long limit = shard.step - lastSteps;
            ResidentUnit u = shard.lruOldest;
            while (u != null && u.lastStep <= limit) {
                ResidentUnit next = u.shardNewer;
                if (!u.isPinned()) {
                    evict(u, true);
                }
                u = next;
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void drop(List<ShardResidency> closedShards) {
        lock.lock();
        try {
            for (ShardResidency shard : closedShards) {
                while (shard.lruOldest != null) {
                    evict(shard.lruOldest, false);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean contains(ShardResidency shard, UnitKey key) {
        lock.lock();
        try {
            return find(shard, key.unitId(), key.version()) != null;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            while (oldest != null) {
                evict(oldest, false);
            }
            spare = null;
        } finally {
            lock.unlock();
        }
    }

    // ---- under the lock ----

    /** Evicts unpinned entries, oldest first, until {@code blocks} blocks are free. */
    private boolean makeRoom(int blocks) {
        if (blocks > pool.totalBlocks()) {
            return false;
        }
        ResidentUnit u = oldest;
        while (u != null && pool.freeBlocks() < blocks) {
            ResidentUnit next = u.newer;
            if (!u.isPinned()) {
                evict(u, true);
            }
            u = next;
        }
        return pool.freeBlocks() >= blocks;
    }

    /** Takes an entry out of the table and the lists, retires it, frees it if unpinned. */
    private void evict(ResidentUnit u, boolean counted) {
        unlink(u);
        if (counted) {
            u.shard.counters.evictions.increment();
        }
        if (u.retire()) {
            free(u);
        }
    }

    private void free(ResidentUnit u) {
        pool.releaseAll(u);
        u.shard = null;
        u.bucketNext = closed ? null : spare;
        if (!closed) {
            spare = u;
        }
    }

    private static int hash(ShardResidency shard, long unitId, int version) {
        return (int) Seeds.derive(unitId, (long) shard.serial << 32 | (version & 0xFFFFFFFFL));
    }

    private ResidentUnit find(ShardResidency shard, long unitId, int version) {
        ResidentUnit u = buckets[hash(shard, unitId, version) & (buckets.length - 1)];
        while (u != null && (u.shard != shard || u.unitId != unitId || u.version != version)) {
            u = u.bucketNext;
        }
        return u;
    }

    private void link(ResidentUnit u) {
        if (size >= buckets.length - (buckets.length >>> 2)) {
            rehash(buckets.length * 2);
        }
        int b = hash(u.shard, u.unitId, u.version) & (buckets.length - 1);
        u.bucketNext = buckets[b];
        buckets[b] = u;
        size++;
        u.older = newest;
        u.newer = null;
        if (newest != null) {
            newest.newer = u;
        } else {
            oldest = u;
        }
        newest = u;
        ShardResidency s = u.shard;
        u.lastStep = s.step;
        u.shardOlder = s.lruNewest;
        u.shardNewer = null;
        if (s.lruNewest != null) {
            s.lruNewest.shardNewer = u;
        } else {
            s.lruOldest = u;
        }
        s.lruNewest = u;
    }

    private void unlink(ResidentUnit u) {
        int b = hash(u.shard, u.unitId, u.version) & (buckets.length - 1);
        if (buckets[b] == u) {
            buckets[b] = u.bucketNext;
        } else {
            ResidentUnit p = buckets[b];
            while (p.bucketNext != u) {
                p = p.bucketNext;
            }
            p.bucketNext = u.bucketNext;
        }
        u.bucketNext = null;
        size--;
        unlinkRecency(u);
        ShardResidency s = u.shard;
        if (u.shardOlder != null) {
            u.shardOlder.shardNewer = u.shardNewer;
        } else {
            s.lruOldest = u.shardNewer;
        }
        if (u.shardNewer != null) {
            u.shardNewer.shardOlder = u.shardOlder;
        } else {
            s.lruNewest = u.shardOlder;
        }
        u.shardOlder = null;
        u.shardNewer = null;
    }

    private void unlinkRecency(ResidentUnit u) {
        if (u.older != null) {
            u.older.newer = u.newer;
        } else {
            oldest = u.newer;
        }
        if (u.newer != null) {
            u.newer.older = u.older;
        } else {
            newest = u.older;
        }
        u.older = null;
        u.newer = null;
    }

    /** Moves an entry to the newest end of both lists and stamps it with its shard's step. */
    private void touch(ResidentUnit u) {
        ShardResidency s = u.shard;
        u.lastStep = s.step;
        if (newest != u) {
            unlinkRecency(u);
            u.older = newest;
            newest.newer = u;
            newest = u;
        }
        if (s.lruNewest != u) {
            if (u.shardOlder != null) {
                u.shardOlder.shardNewer = u.shardNewer;
            } else {
                s.lruOldest = u.shardNewer;
            }
            u.shardNewer.shardOlder = u.shardOlder;
            u.shardOlder = s.lruNewest;
            u.shardNewer = null;
            s.lruNewest.shardNewer = u;
            s.lruNewest = u;
        }
    }

    private void rehash(int length) {
        ResidentUnit[] old = buckets;
        buckets = new ResidentUnit[length];
        for (ResidentUnit head : old) {
            for (ResidentUnit u = head; u != null; ) {
                ResidentUnit next = u.bucketNext;
                int b = hash(u.shard, u.unitId, u.version) & (length - 1);
                u.bucketNext = buckets[b];
                buckets[b] = u;
                u = next;
            }
        }
    }
}

package io.clusterkv.runtime.residency;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The device tier's memory on the CPU backend: fixed-size blocks carved from large off-heap slabs,
 * handed out from a free list.
 *
 * <p>Design notes. The capacity is a number of blocks; {@link #allocate} hands out at most that many
 * at a time and fails (all or nothing) rather than exceed it, so the bytes in use never exceed the
 * capacity, whatever the rule or the threads do. Slabs of up to 4 MiB are allocated from one shared
 * arena the first time their blocks are needed and kept until {@link #close}, which frees them all at
 * once: memory grows to the high-water mark of blocks in use, never beyond the capacity, and no
 * arena is opened or closed per unit (closing a shared arena is a handshake with every thread).
 * Freed blocks go back on a stack and are reused first. One lock guards the free list; the slab table
 * is fixed in size, and a block's slab was published before the block was handed out under the lock,
 * so the thread that allocated a block reads its segment without locking. Reading a block after
 * {@link #close} throws {@link IllegalStateException} (the arena's scope is gone); it cannot crash.
 */
final class BlockPool implements AutoCloseable {

    private static final long SLAB_BYTES = 4L << 20;

    private final int blockBytes;
    private final int totalBlocks;
    private final int slabShift;       // log2(blocks per slab)
    private final int slabMask;        // blocks per slab - 1
    private final MemorySegment[] slabs; // (slabs) allocated lazily
    private final Arena arena = Arena.ofShared();

    private int slabCount;
    private int[] free = new int[0];   // stack of free blocks in allocated slabs
    private int freeTop;
    private int inUse;
    private boolean closed;

    /**
     * @param totalBlocks blocks the capacity holds, {@code >= 1}
     * @param blockBytes  bytes of a block, a power of two
     */
    BlockPool(int totalBlocks, int blockBytes) {
        this.blockBytes = blockBytes;
        this.totalBlocks = totalBlocks;
        int perSlab = (int) Math.max(1, SLAB_BYTES / blockBytes);
        this.slabShift = Integer.numberOfTrailingZeros(perSlab);
        this.slabMask = perSlab - 1;
        this.slabs = new MemorySegment[Math.ceilDiv(totalBlocks, perSlab)];
    }

    int blockBytes() {
        return blockBytes;
    }

    int totalBlocks() {
        return totalBlocks;
    }

    synchronized int freeBlocks() {
        return totalBlocks - inUse;
    }

    synchronized int blocksInUse() {
        return inUse;
    }

    /**
     * Takes {@code count} blocks, or none.
     *
     * @param dst receives the block ids at {@code [off, off + count)}
     * @return whether the blocks were taken
     * @throws IllegalStateException if the pool is closed
     */
    synchronized boolean allocate(int[] dst, int off, int count) {
        if (closed) {
            throw new IllegalStateException("the residency cache is closed");
        }
        if (totalBlocks - inUse < count) {
            return false;
        }
        while (freeTop < count) {
            addSlab();
        }
        for (int i = 0; i < count; i++) {
            dst[off + i] = free[--freeTop];
        }
        inUse += count;
        return true;
    }

    /** Returns {@code count} blocks; nothing after {@link #close}. */
    synchronized void release(int[] src, int off, int count) {
        if (closed) {
            return;
        }
        if (free.length < freeTop + count) {
            free = Arrays.copyOf(free, Math.max(freeTop + count, slabCount << slabShift));
        }
        System.arraycopy(src, off, free, freeTop, count);
        freeTop += count;
        inUse -= count;
    }

    /**
     * Adds {@code count} blocks to a unit's block list and to its layer's resident bytes.
     *
     * @return whether the blocks were taken (none if not)
     */
    boolean allocateTo(ResidentUnit unit, int count) {
        unit.ensureBlockCapacity(unit.blockCount + count);
        if (!allocate(unit.blocks, unit.blockCount, count)) {
            return false;
        }
        unit.blockCount += count;
        unit.shard.counters.residentBytes.add((long) count * blockBytes);
        return true;
    }

    /** Returns all of a unit's blocks and takes them off its layer's resident bytes. */
    void releaseAll(ResidentUnit unit) {
        int count = unit.blockCount;
        unit.blockCount = 0;
        unit.rows = 0;
        if (count > 0) {
            release(unit.blocks, 0, count);
            unit.shard.counters.residentBytes.add(-(long) count * blockBytes);
        }
    }

    private void addSlab() {
        int first = slabCount << slabShift;
        int blocks = Math.min(slabMask + 1, totalBlocks - first);
        slabs[slabCount] = arena.allocate((long) blocks * blockBytes, 64);
        slabCount++;
        if (free.length < freeTop + blocks) {
            free = Arrays.copyOf(free, Math.max(freeTop + blocks, slabCount << slabShift));
        }
        for (int b = first + blocks - 1; b >= first; b--) { // lowest block on top
            free[freeTop++] = b;
        }
    }

    /** @return the slab holding a block the caller allocated */
    MemorySegment slab(int block) {
        return slabs[block >>> slabShift];
    }

    /** @return byte offset of a block in its slab */
    long offset(int block) {
        return (long) (block & slabMask) * blockBytes;
    }

    /** Frees every slab. Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }
}

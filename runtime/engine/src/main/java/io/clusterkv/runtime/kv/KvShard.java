package io.clusterkv.runtime.kv;

import io.clusterkv.spi.KeyView;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * The host KV store of one shard, one (layer, kvHead) pair: every key and value the session has
 * written, by position.
 *
 * <p>Design notes. Storage is off-heap, in chunks of {@code chunkPositions} rows (a power of two) for
 * keys and for values, each chunk one 64-byte-aligned segment of {@code chunkPositions * headDim}
 * channels in {@link KvFormat F32 or F16}; it grows a chunk at a time and never moves a row, so a
 * position is a stable id for the life of the shard. Appends come from one thread (the shard's
 * owner). Rows below {@link #size()} never change, so a {@link #snapshot() snapshot} (which captures
 * the size and the chunk table) may be read from any thread that received it through a
 * happens-before edge (an executor hand-off, an actor message). Closing the shard frees every chunk;
 * reading a closed shard throws {@link IllegalStateException}. An optional gauge, shared by the shards
 * of an owner (a runtime), follows the bytes they hold: each chunk adds its bytes when allocated, and
 * closing takes them all off (leak checks).
 */
public final class KvShard implements AutoCloseable {

    /** Default rows per chunk. */
    public static final int DEFAULT_CHUNK_POSITIONS = 1024;

    private final int headDim;
    private final KvFormat format;
    private final int chunkShift;
    private final int chunkMask;
    private final long rowBytes;
    private final Arena arena;
    private final LongAdder gauge;                              // bytes held, with other shards'; or null

    private MemorySegment[] keyChunks = new MemorySegment[4];   // each (chunkPositions, headDim)
    private MemorySegment[] valueChunks = new MemorySegment[4]; // each (chunkPositions, headDim)
    private int chunks;
    private volatile int size;

    /**
     * @param headDim        channels per key and value, {@code >= 1}
     * @param format         storage format
     * @param chunkPositions rows per chunk, a power of two {@code >= 1}
     * @throws IllegalArgumentException if an argument is out of range, naming it
     */
    public KvShard(int headDim, KvFormat format, int chunkPositions) {
        this(headDim, format, chunkPositions, null);
    }

    /**
     * @param headDim        channels per key and value, {@code >= 1}
     * @param format         storage format
     * @param chunkPositions rows per chunk, a power of two {@code >= 1}
     * @param gauge          receives the bytes this shard allocates, and minus them when it closes; or
     *                       {@code null}
     * @throws IllegalArgumentException if an argument is out of range, naming it
     */
    public KvShard(int headDim, KvFormat format, int chunkPositions, LongAdder gauge) {
        if (headDim < 1) {
            throw new IllegalArgumentException("headDim must be >= 1, was " + headDim);
        }
        if (chunkPositions < 1 || Integer.bitCount(chunkPositions) != 1) {
            throw new IllegalArgumentException("chunkPositions must be a power of two, was " + chunkPositions);
        }
        this.headDim = headDim;
        this.format = Objects.requireNonNull(format, "format");
        this.chunkShift = Integer.numberOfTrailingZeros(chunkPositions);
        this.chunkMask = chunkPositions - 1;
        this.rowBytes = (long) headDim * format.bytes();
        this.arena = Arena.ofShared();
        this.gauge = gauge;
    }

    /**
     * @param headDim channels per key and value
     * @param format  storage format
     */
    public KvShard(int headDim, KvFormat format) {
        this(headDim, format, DEFAULT_CHUNK_POSITIONS);
    }

    /** @return channels per row */
    public int headDim() {
        return headDim;
    }

    /** @return storage format */
    public KvFormat format() {
        return format;
    }

    /** @return positions written */
    public int size() {
        return size;
    }

    /** @return rows per chunk */
    public int chunkPositions() {
        return chunkMask + 1;
    }

    /** @return bytes of one stored row */
    public long rowBytes() {
        return rowBytes;
    }

    /** @return bytes held off-heap, keys and values */
    public long reservedBytes() {
        return 2L * chunks * chunkPositions() * rowBytes;
    }

    /**
     * Appends one key and value at position {@link #size()}.
     *
     * @param key      holds the key at {@code keyOff}
     * @param keyOff   offset of the key
     * @param value    holds the value at {@code valueOff}
     * @param valueOff offset of the value
     * @return the new position
     * @throws IndexOutOfBoundsException if an array is too short for {@code headDim} channels
     */
    public int append(float[] key, int keyOff, float[] value, int valueOff) {
        Objects.checkFromIndexSize(keyOff, headDim, key.length);
        Objects.checkFromIndexSize(valueOff, headDim, value.length);
        int p = size;
        int chunk = p >>> chunkShift;
        if (chunk == chunks) {
            grow();
        }
        long off = (long) (p & chunkMask) * rowBytes;
        write(keyChunks[chunk], off, key, keyOff);
        write(valueChunks[chunk], off, value, valueOff);
        size = p + 1; // volatile write publishes the row
        return p;
    }

    /**
     * Appends {@code count} rows, e.g. a prompt after prefill.
     *
     * @param keys   {@code (count, headDim)} row-major
     * @param values {@code (count, headDim)} row-major
     * @param count  rows
     * @throws IndexOutOfBoundsException if an array is too short
     */
    public void appendAll(float[] keys, float[] values, int count) {
        Objects.checkFromIndexSize(0, count * headDim, keys.length);
        Objects.checkFromIndexSize(0, count * headDim, values.length);
        for (int i = 0; i < count; i++) {
            append(keys, i * headDim, values, i * headDim);
        }
    }

    private void write(MemorySegment seg, long off, float[] src, int srcOff) {
        if (format == KvFormat.F32) {
            MemorySegment.copy(src, srcOff, seg, RowMath.floatLayout(), off, headDim);
        } else {
            for (int c = 0; c < headDim; c++) {
                RowMath.set(seg, off, format, c, src[srcOff + c]);
            }
        }
    }

    private void grow() {
        if (chunks == keyChunks.length) {
            // replace, never mutate, the tables: snapshots keep the arrays they captured
            keyChunks = Arrays.copyOf(keyChunks, chunks * 2);
            valueChunks = Arrays.copyOf(valueChunks, chunks * 2);
        }
        long bytes = (long) chunkPositions() * rowBytes;
        keyChunks[chunks] = arena.allocate(bytes, 64);
        valueChunks[chunks] = arena.allocate(bytes, 64);
        chunks++;
        if (gauge != null) {
            gauge.add(2 * bytes);
        }
    }

    /** @return the live key view, which grows with the shard; read it from the owner's thread */
    public KeyView keys() {
        return new View(this, -1, null, null);
    }

    /** @return an immutable view of the positions written so far, keys and values, readable from any thread */
    public View snapshot() {
        return new View(this, size, keyChunks, valueChunks);
    }

    /** Frees all storage. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
            if (gauge != null) {
                gauge.add(-reservedBytes());
            }
        }
    }

    /**
     * A view of a shard's rows: live (its size follows the shard) or a snapshot (size and chunk table
     * fixed when taken). Exposes the chunk segments to the attention kernels.
     */
    public static final class View implements KeyView {
        private final KvShard shard;
        private final int fixedSize;                 // -1 when live
        private final MemorySegment[] keyChunks;     // null when live
        private final MemorySegment[] valueChunks;   // null when live

        View(KvShard shard, int fixedSize, MemorySegment[] keyChunks, MemorySegment[] valueChunks) {
            this.shard = shard;
            this.fixedSize = fixedSize;
            this.keyChunks = keyChunks;
            this.valueChunks = valueChunks;
        }

        @Override
        public int size() {
            return fixedSize < 0 ? shard.size : fixedSize;
        }

        @Override
        public int headDim() {
            return shard.headDim;
        }

        /** @return storage format */
        public KvFormat format() {
            return shard.format;
        }

        /** @return rows per chunk, a power of two */
        public int chunkPositions() {
            return shard.chunkMask + 1;
        }

        /**
         * @param chunk a chunk index, {@code position >>> log2(chunkPositions())}
         * @return the key segment of that chunk
         */
        public MemorySegment keyChunk(int chunk) {
            return (keyChunks == null ? shard.keyChunks : keyChunks)[chunk];
        }

        /**
         * @param chunk a chunk index
         * @return the value segment of that chunk
         */
        public MemorySegment valueChunk(int chunk) {
            return (valueChunks == null ? shard.valueChunks : valueChunks)[chunk];
        }

        /**
         * @param position a position
         * @return the key segment holding it
         */
        public MemorySegment keySegmentOf(int position) {
            return keyChunk(position >>> shard.chunkShift);
        }

        /**
         * @param position a position
         * @return the value segment holding it
         */
        public MemorySegment valueSegmentOf(int position) {
            return valueChunk(position >>> shard.chunkShift);
        }

        /**
         * @param position a position
         * @return byte offset of its row inside its chunk segment
         */
        public long rowOffset(int position) {
            return (long) (position & shard.chunkMask) * shard.rowBytes;
        }

        private void check(int position) {
            Objects.checkIndex(position, size());
        }

        @Override
        public float get(int position, int channel) {
            check(position);
            Objects.checkIndex(channel, shard.headDim);
            return RowMath.get(keySegmentOf(position), rowOffset(position), shard.format, channel);
        }

        /**
         * @param position a position
         * @param channel  a channel
         * @return one channel of the value at that position
         */
        public float value(int position, int channel) {
            check(position);
            Objects.checkIndex(channel, shard.headDim);
            return RowMath.get(valueSegmentOf(position), rowOffset(position), shard.format, channel);
        }

        @Override
        public void copyKeys(int from, int to, float[] dst, int offset) {
            Objects.checkFromToIndex(from, to, size());
            Objects.checkFromIndexSize(offset, (to - from) * shard.headDim, dst.length);
            for (int p = from; p < to; p++) {
                RowMath.read(keySegmentOf(p), rowOffset(p), shard.format, dst, offset + (p - from) * shard.headDim,
                        shard.headDim);
            }
        }

        /**
         * Copies values of {@code [from, to)}, row after row.
         *
         * @param from   first position
         * @param to     last position, exclusive
         * @param dst    destination
         * @param offset where the first row goes
         */
        public void copyValues(int from, int to, float[] dst, int offset) {
            Objects.checkFromToIndex(from, to, size());
            Objects.checkFromIndexSize(offset, (to - from) * shard.headDim, dst.length);
            for (int p = from; p < to; p++) {
                RowMath.read(valueSegmentOf(p), rowOffset(p), shard.format, dst, offset + (p - from) * shard.headDim,
                        shard.headDim);
            }
        }

        @Override
        public float dot(int position, float[] vector, int offset) {
            check(position);
            Objects.checkFromIndexSize(offset, shard.headDim, vector.length);
            return RowMath.dot(keySegmentOf(position), rowOffset(position), shard.format, vector, offset, shard.headDim);
        }

        @Override
        public View snapshot() {
            return fixedSize < 0 ? shard.snapshot() : this;
        }
    }
}

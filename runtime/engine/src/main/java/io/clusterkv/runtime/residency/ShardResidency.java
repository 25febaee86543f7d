package io.clusterkv.runtime.residency;

import io.clusterkv.runtime.attention.Attention;
import io.clusterkv.runtime.attention.PiecewiseAttention;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.Seeds;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * One shard's front end to the {@link ResidencyCache}: each step it makes the units the shard's query
 * heads selected resident and computes their attention, reading unit rows from the device tier and
 * everything else from the host store. Opened by {@link ResidencyCache#openShard}; confined to the
 * shard's thread (an actor's), one {@link #attend} at a time.
 *
 * <p>Design notes. {@link #attend} validates everything first, then works in four passes:
 * <ol>
 * <li>collects the step's distinct units ({@code (unit id, version)} over all query heads; with
 * grouped-query attention the heads of a group often share units) with, for each, the longest prefix
 * any head selected;</li>
 * <li>looks them all up at once: found entries are pinned, so the step's own misses cannot evict
 * them;</li>
 * <li>for each unit whose resident prefix is short or absent, takes blocks (the rule evicts as
 * needed) and copies the missing rows from the host store, run by run; a unit that gets no blocks is
 * served from the host store (a bypass);</li>
 * <li>for each query head, one {@link PiecewiseAttention} pass over its units' resident rows, the rows
 * not resident (bypassed, or beyond a prefix that could not be extended), its
 * {@link HeadSelectionBuffer#NO_UNIT} positions and its recent window, the last three from the host
 * store.</li>
 * </ol>
 * Then every pin is dropped and the rule is told the step ended. The output therefore equals
 * {@link Attention#selected(KvShard.View, Queries, HeadSelectionBuffer, float, float[],
 * io.clusterkv.runtime.attention.AttentionScratch) Attention.selected} for every head up to float
 * rounding, whatever was resident, provided the policy keeps the unit contract (a (unit id, version)
 * always names the same ordered positions).
 *
 * <p>Memory: the rows of a unit are stored in its blocks in the unit's order, keys then values within
 * each block, in the shard's {@link KvFormat}. Steady state allocates nothing on the heap: the step's
 * tables grow to the largest selection seen and are kept (with the {@link ResidencyRule#CAFFEINE
 * CAFFEINE} rule, Caffeine needs a key object per lookup; see {@link ResidencyRule}).
 */
public final class ShardResidency implements AutoCloseable {

    final long sessionId;
    final int layer;
    final int kvHead;
    final int serial;              // unique within the cache: the LRU table's shard identity
    final LayerCounters counters;
    volatile boolean closed;
    long step;                     // steps attended; read by the LRU tier under its lock
    ResidentUnit lruOldest;        // this shard's recency list, guarded by the LRU tier's lock
    ResidentUnit lruNewest;

    private final ResidencyCache cache;
    private final Tier tier;
    private final BlockPool pool;
    private final ShardGeometry geometry;
    private final KvFormat format;
    private final int headDim;
    private final long rowBytes;
    private final int rowsPerBlock;
    private final long valuesOffset;   // bytes from a block's first key row to its first value row

    private final PiecewiseAttention pass;
    private int distinct;                                  // units of the step
    private long[] unitIds = new long[16];                 // (units)
    private int[] versions = new int[16];                  // (units)
    private int[] need = new int[16];                      // (units) longest prefix selected
    private int[] sourceHead = new int[16];                // (units) a head that selected that prefix
    private int[] sourceStart = new int[16];               // (units) index of its first position there
    private ResidentUnit[] entries = new ResidentUnit[16]; // (units) pinned entry, or null
    private int[] resident = new int[16];                  // (units) rows of the prefix resident
    private int[] index = new int[32];                     // open addressing over units: slot + 1, 0 empty
    private int[] slotOf = new int[16];                    // (heads' units) slot, -1 for NO_UNIT or empty
    private int[] lengths = new int[64];                   // (units, heads) prefix of each unit each head selected
    private long hits;
    private long misses;
    private long extensions;
    private long bypasses;
    private long bytesMoved;

    ShardResidency(ResidencyCache cache, Tier tier, BlockPool pool, long sessionId, ShardGeometry geometry,
                   KvFormat format, LayerCounters counters, int serial, float softcap) {
        this.pass = new PiecewiseAttention(softcap);
        this.cache = cache;
        this.tier = tier;
        this.pool = pool;
        this.sessionId = sessionId;
        this.geometry = geometry;
        this.layer = geometry.layer();
        this.kvHead = geometry.kvHead();
        this.format = format;
        this.counters = counters;
        this.serial = serial;
        this.headDim = geometry.headDim();
        this.rowBytes = (long) headDim * format.bytes();
        this.rowsPerBlock = (int) (pool.blockBytes() / (2 * rowBytes));
        this.valuesOffset = rowsPerBlock * rowBytes;
    }

    /** @return the session this shard belongs to */
    public long sessionId() {
        return sessionId;
    }

    /** @return the shard's place and shape */
    public ShardGeometry geometry() {
        return geometry;
    }

    /** @return the format of its rows, host and device tier alike */
    public KvFormat format() {
        return format;
    }

    /** @return rows of one unit a block holds */
    public int rowsPerBlock() {
        return rowsPerBlock;
    }

    /** @return steps attended so far */
    public long steps() {
        return step;
    }

    /**
     * Attends one step: makes the selected units resident and writes every query head's attention
     * output over its selection, as {@code Attention.selected} would for each
     * {@link SelectionBuffer#head(int) head} (see the class notes). Counts the step's hits, misses and
     * bytes moved in the layer's {@link ResidencyStats}.
     *
     * @param kv        the shard's host store, holding at least every head's context
     * @param queries   the group's queries {@code (heads, headDim)}
     * @param selection one {@link HeadSelectionBuffer} per query head, as the policy filled it, or one the
     *                  whole group shares ({@link io.clusterkv.runtime.policy.SelectionScope#GROUP})
     * @param scale     multiplies every score, e.g. {@code 1 / sqrt(headDim)}; finite
     * @param out       receives {@code (heads, headDim)}
     * @throws IllegalArgumentException  if the view's head dim or format, the queries' head dim, the
     *                                   number of heads, the output's length or the scale does not fit
     *                                   the shard, or a head's context is larger than the view; the
     *                                   message names the values
     * @throws IndexOutOfBoundsException if an explicit position is outside its head's context, naming it
     * @throws IllegalStateException     if this shard or the cache is closed
     */
    public void attend(KvShard.View kv, Queries queries, SelectionBuffer selection, float scale, float[] out) {
        if (closed) {
            throw new IllegalStateException("the residency of session " + sessionId + ", layer " + layer
                    + ", kvHead " + kvHead + " is closed");
        }
        check(kv, queries, selection, scale, out);
        prepare(kv, selection);
        boolean shared = selection.heads() != queries.heads();
        try {
            if (!shared && selection.heads() > 1 && selection.heads() <= Attention.MAX_GROUPED_HEADS) {
                attendGroup(kv, queries, selection, scale, out);
                return;
            }
            int base = 0;
            for (int h = 0; h < selection.heads(); h++) {
                HeadSelectionBuffer head = selection.head(h);
                attendHead(kv, queries, head, shared, base, scale, out);
                base += head.unitCount();
            }
        } finally {
            release();
        }
    }

    /**
     * Passes 1 to 3 of a step on a validated selection: the step's units found or made resident, and
     * pinned until {@link #release}.
     */
    void prepare(KvShard.View kv, SelectionBuffer selection) {
        step++;
        collect(selection);
        boolean prepared = false;
        try {
            tier.lookup(this, unitIds, versions, distinct, entries);
            for (int s = 0; s < distinct; s++) {
                makeResident(kv, selection, s);
            }
            prepared = true;
        } finally {
            if (!prepared) {
                release();
            }
        }
    }

    /** Ends a step: drops its pins, adds its counts to the layer's, tells the rule. */
    void release() {
        for (int s = 0; s < distinct; s++) {
            if (entries[s] != null) {
                tier.unpin(entries[s]);
                entries[s] = null;
            }
        }
        distinct = 0;
        flush();
        tier.endStep(this);
    }

    private void check(KvShard.View kv, Queries queries, SelectionBuffer selection, float scale, float[] out) {
        Objects.requireNonNull(kv, "kv");
        Objects.requireNonNull(queries, "queries");
        Objects.requireNonNull(selection, "selection");
        Objects.requireNonNull(out, "out");
        if (kv.headDim() != headDim || kv.format() != format) {
            throw new IllegalArgumentException("the view holds rows of head dim " + kv.headDim() + " in "
                    + kv.format() + " but the shard's residency was opened for head dim " + headDim + " in " + format);
        }
        if (queries.headDim() != headDim) {
            throw new IllegalArgumentException("the queries have head dim " + queries.headDim()
                    + " but the shard has head dim " + headDim);
        }
        if (selection.heads() != queries.heads() && selection.heads() != 1) {
            throw new IllegalArgumentException("the selection has " + selection.heads() + " query heads but the queries "
                    + queries.heads() + " (a selection the group shares has one)");
        }
        long outNeed = (long) queries.heads() * headDim;
        if (out.length < outNeed) {
            throw new IllegalArgumentException("the output holds " + out.length + " floats but " + queries.heads()
                    + " heads of head dim " + headDim + " need " + outNeed);
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("the scale must be finite, was " + scale);
        }
        int size = kv.size();
        for (int h = 0; h < selection.heads(); h++) {
            HeadSelectionBuffer head = selection.head(h);
            int context = head.contextSize();
            if (context > size) {
                throw new IllegalArgumentException("the selection's context of " + context
                        + " positions is larger than the view's " + size + " positions");
            }
            int[] positions = head.positionBuffer();
            for (int i = 0; i < head.size(); i++) {
                int p = positions[i];
                if (p < 0 || p >= context) {
                    throw new IndexOutOfBoundsException("position " + p + " (index " + i + ") of query head " + h
                            + " is outside the context of " + context + " positions");
                }
            }
        }
    }

    /** Pass 1: the step's distinct units, the longest prefix of each, and each head unit's slot. */
    private void collect(SelectionBuffer selection) {
        int total = 0;
        for (int h = 0; h < selection.heads(); h++) {
            total += selection.head(h).unitCount();
        }
        if (slotOf.length < total) {
            int cap = Math.max(total, 2 * slotOf.length);
            slotOf = new int[cap];
            unitIds = new long[cap];
            versions = new int[cap];
            need = new int[cap];
            sourceHead = new int[cap];
            sourceStart = new int[cap];
            entries = new ResidentUnit[cap];
            resident = new int[cap];
        }
        int buckets = Integer.highestOneBit(Math.max(16, total) * 2 - 1) * 2; // power of two >= 2 * total
        if (index.length < buckets) {
            index = new int[buckets];
        } else {
            Arrays.fill(index, 0);
        }
        distinct = 0;
        int k = 0;
        for (int h = 0; h < selection.heads(); h++) {
            HeadSelectionBuffer head = selection.head(h);
            for (int u = 0; u < head.unitCount(); u++) {
                long id = head.unitId(u);
                int start = head.unitStart(u);
                int length = head.unitEnd(u) - start;
                if (id == HeadSelectionBuffer.NO_UNIT || length == 0) {
                    slotOf[k++] = -1;
                    continue;
                }
                int s = slot(id, head.unitVersion(u));
                if (length > need[s]) {
                    need[s] = length;
                    sourceHead[s] = h;
                    sourceStart[s] = start;
                }
                slotOf[k++] = s;
            }
        }
    }

    private int slot(long id, int version) {
        int mask = index.length - 1;
        int i = (int) Seeds.derive(id, version) & mask;
        for (;;) {
            int v = index[i];
            if (v == 0) {
                int s = distinct++;
                unitIds[s] = id;
                versions[s] = version;
                need[s] = 0;
                resident[s] = 0;
                index[i] = s + 1;
                return s;
            }
            if (unitIds[v - 1] == id && versions[v - 1] == version) {
                return v - 1;
            }
            i = (i + 1) & mask;
        }
    }

    /** Pass 3 for one unit: hit, or copy what is missing, or leave it to the host store. */
    private void makeResident(KvShard.View kv, SelectionBuffer selection, int s) {
        int n = need[s];
        ResidentUnit e = entries[s];
        if (e != null && e.rows >= n) {
            hits++;
            resident[s] = n;
            return;
        }
        misses++;
        int blocks = Math.ceilDiv(n, rowsPerBlock);
        int[] positions = selection.head(sourceHead[s]).positionBuffer();
        int start = sourceStart[s];
        if (e == null) {
            e = tier.insert(this, unitIds[s], versions[s], blocks);
            entries[s] = e;
            if (e == null) {
                bypasses++;
                return;
            }
            copyRows(kv, e, positions, start, 0, n);
        } else {
            extensions++;
            resident[s] = e.rows;
            if (blocks > e.blockCount && !tier.grow(e, blocks)) {
                bypasses++;
                return;
            }
            copyRows(kv, e, positions, start, e.rows, n);
        }
        e.rows = n;
        resident[s] = n;
    }

    /** Copies rows {@code [from, to)} of a unit (positions {@code positions[start + i]}) into its blocks, run by run. */
    private void copyRows(KvShard.View kv, ResidentUnit e, int[] positions, int start, int from, int to) {
        int chunkMask = kv.chunkPositions() - 1;
        int i = from;
        while (i < to) {
            int p = positions[start + i];
            int b = i / rowsPerBlock;
            int within = i - b * rowsPerBlock;
            int max = Math.min(Math.min(to - i, rowsPerBlock - within), chunkMask + 1 - (p & chunkMask));
            int run = 1;
            while (run < max && positions[start + i + run] == p + run) {
                run++;
            }
            int block = e.blocks[b];
            MemorySegment slab = pool.slab(block);
            long dst = pool.offset(block) + within * rowBytes;
            long src = kv.rowOffset(p);
            MemorySegment.copy(kv.keySegmentOf(p), src, slab, dst, run * rowBytes);
            MemorySegment.copy(kv.valueSegmentOf(p), src, slab, dst + valuesOffset, run * rowBytes);
            i += run;
        }
        bytesMoved += 2L * (to - from) * rowBytes;
    }

    /** Pass 4 for one head, or for every query head when the group shares the selection. */
    private void attendHead(KvShard.View kv, Queries queries, HeadSelectionBuffer head, boolean shared, int base,
                            float scale, float[] out) {
        if (shared) {
            pass.beginGroup(queries, scale);
        } else {
            pass.begin(queries, head.head(), scale);
        }
        int context = head.contextSize();
        int[] positions = head.positionBuffer();
        for (int u = 0; u < head.unitCount(); u++) {
            int start = head.unitStart(u);
            int end = head.unitEnd(u);
            int s = slotOf[base + u];
            int fromHost = start;
            if (s >= 0) {
                int rows = Math.min(end - start, resident[s]);
                if (rows > 0) {
                    absorbResident(entries[s], rows);
                }
                fromHost = start + rows;
            }
            if (fromHost < end) {
                pass.absorbPositions(kv, positions, fromHost, end, context);
            }
        }
        if (head.windowStart() != HeadSelectionBuffer.NO_WINDOW) {
            pass.absorbRange(kv, head.windowStart(), context);
        }
        pass.finish(out);
    }

    /**
     * Pass 4 for every query head at once: each unit of the step is read once (its resident rows from
     * the copy, the rest from the host store), attended by the heads whose selected prefix covers each
     * row; then each head's {@link HeadSelectionBuffer#NO_UNIT} positions, and the windows, the rows every
     * window covers read once for all heads.
     */
    private void attendGroup(KvShard.View kv, Queries queries, SelectionBuffer selection, float scale, float[] out) {
        int heads = selection.heads();
        int context = selection.contextSize();
        if (lengths.length < distinct * heads) {
            lengths = new int[Math.max(distinct * heads, 2 * lengths.length)];
        }
        Arrays.fill(lengths, 0, distinct * heads, 0);
        pass.beginGroup(queries, scale);
        int k = 0;
        for (int h = 0; h < heads; h++) {
            HeadSelectionBuffer head = selection.head(h);
            for (int u = 0; u < head.unitCount(); u++) {
                int s = slotOf[k++];
                int start = head.unitStart(u);
                int end = head.unitEnd(u);
                if (s >= 0) {
                    lengths[s * heads + h] = end - start;
                } else if (end > start) { // positions outside units: this head's alone
                    pass.mask(1 << h);
                    pass.absorbPositions(kv, head.positionBuffer(), start, end, context);
                }
            }
        }
        for (int s = 0; s < distinct; s++) {
            int[] positions = selection.head(sourceHead[s]).positionBuffer();
            int first = sourceStart[s];
            int done = 0;
            while (done < need[s]) {
                int heads0 = 0; // the heads whose prefix covers row `done`, and the row where that changes
                int next = need[s];
                for (int h = 0; h < heads; h++) {
                    int length = lengths[s * heads + h];
                    if (length > done) {
                        heads0 |= 1 << h;
                        next = Math.min(next, length);
                    }
                }
                pass.mask(heads0);
                int residentEnd = Math.min(next, resident[s]);
                if (residentEnd > done) {
                    absorbResident(entries[s], done, residentEnd);
                }
                int hostFrom = Math.max(done, resident[s]);
                if (hostFrom < next) {
                    pass.absorbPositions(kv, positions, first + hostFrom, first + next, context);
                }
                done = next;
            }
        }
        pass.absorbWindows(kv, selection);
        pass.finish(out);
    }

    /** Absorbs rows {@code [from, to)} of a resident unit's copy. */
    private void absorbResident(ResidentUnit e, int from, int to) {
        int i = from;
        while (i < to) {
            int b = i / rowsPerBlock;
            int within = i - b * rowsPerBlock;
            int n = Math.min(rowsPerBlock - within, to - i);
            int block = e.blocks[b];
            MemorySegment slab = pool.slab(block);
            long off = pool.offset(block) + within * rowBytes;
            pass.absorbRows(slab, off, slab, off + valuesOffset, format, n);
            i += n;
        }
    }

    private void absorbResident(ResidentUnit e, int rows) {
        for (int b = 0, done = 0; done < rows; b++) {
            int block = e.blocks[b];
            MemorySegment slab = pool.slab(block);
            long off = pool.offset(block);
            int n = Math.min(rowsPerBlock, rows - done);
            pass.absorbRows(slab, off, slab, off + valuesOffset, format, n);
            done += n;
        }
    }

    private void flush() {
        if (hits != 0) {
            counters.hits.add(hits);
        }
        if (misses != 0) {
            counters.misses.add(misses);
        }
        if (extensions != 0) {
            counters.extensions.add(extensions);
        }
        if (bypasses != 0) {
            counters.bypasses.add(bypasses);
        }
        if (bytesMoved != 0) {
            counters.bytesMoved.add(bytesMoved);
        }
        hits = misses = extensions = bypasses = bytesMoved = 0;
    }

    /**
     * Drops this shard's units from the device tier (their blocks are freed, no eviction counted) and
     * closes it; its counters stay with the session until {@link ResidencyCache#closeSession}. The same
     * shard may then be opened again. Idempotent.
     */
    @Override
    public void close() {
        cache.closeShard(this);
    }

    @Override
    public String toString() {
        return "ShardResidency[session=" + sessionId + ", layer=" + layer + ", kvHead=" + kvHead + ", " + format
                + ", steps=" + step + (closed ? ", closed]" : "]");
    }
}

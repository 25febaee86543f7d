package io.clusterkv.runtime.residency;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.spi.ShardGeometry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The device tier: a runtime-wide cache of residency units (ClusterKV clusters, Quest pages), keyed
 * by {@link UnitKey} (session, layer, kvHead, unit id, unit version), weighed in bytes and bounded by
 * a capacity in bytes. On the CPU backend a resident unit is a contiguous copy of its keys and values
 * in off-heap blocks, in the shard's {@link KvFormat}; attention reads the copy instead of gathering
 * from the host store. Each step a shard asks for the units it selected: a hit costs nothing, a miss
 * copies from the host store, and a copy shorter than the prefix now selected is extended.
 *
 * <p>Usage, from the code that owns the shards (one {@link ShardResidency} per (layer, kvHead) of a
 * session, driven by that shard's actor):
 *
 * <pre>{@code
 * ResidencyCache cache = ResidencyCache.create(ResidencyConfig.of(256L << 20, ResidencyRule.CAFFEINE));
 *
 * // at session start, per shard
 * ShardResidency residency = cache.openShard(sessionId, geometry, KvFormat.F16);
 * SelectionBuffer selection = new SelectionBuffer(geometry.queryHeads(), budget);
 * float[] out = new float[geometry.queryHeads() * geometry.headDim()];
 *
 * // each step, on the shard's thread (kvShard: the shard's KvShard, the host store)
 * KvShard.View kv = kvShard.snapshot();
 * selection.reset(budget, kv.size());
 * policy.select(queries, kv, budget, selection);
 * residency.attend(kv, queries, selection, 1f / (float) Math.sqrt(geometry.headDim()), out);
 *
 * // at session end
 * ResidencyStats stats = cache.closeSession(sessionId); // frees its units, returns its counters
 * stats.hitRate(); stats.bytesMoved();
 * }</pre>
 *
 * <p>Design notes.
 * <ul>
 * <li><b>Memory.</b> Blocks of {@link ResidencyConfig#blockBytes()} from slabs of one shared arena,
 * allocated as needed and freed together by {@link #close}; the capacity is a number of blocks and
 * the allocator hands out no more, so {@link #residentBytes()} never exceeds {@link #capacityBytes()},
 * whatever the rule or the threads do. A unit weighs its blocks.</li>
 * <li><b>Rules.</b> {@link ResidencyRule} picks which units stay: Caffeine (weigher, maximum weight,
 * eviction on the caller's thread), an exact LRU, or the paper's "units selected in the last R
 * steps". The first is backed by Caffeine, the other two by one hash table and recency lists under a
 * lock.</li>
 * <li><b>Threads.</b> Shards call concurrently from their own threads. A step pins the entries it
 * reads; an entry evicted (by another shard's miss) or dropped while pinned keeps its blocks until the
 * step unpins it, so no block is freed or reused while a shard reads it. Memory is only released
 * when the cache closes, and reads after that fail with {@link IllegalStateException}, never a
 * crash.</li>
 * <li><b>Over capacity.</b> If the units of a step (or of concurrent steps) do not fit, the units
 * that get no blocks are attended from the host store, counted as misses and
 * {@linkplain ResidencyStats#bypasses() bypasses}; results are the same.</li>
 * <li><b>Counters.</b> Per session and layer ({@link #stats(long, int)}), kept until the session is
 * closed; see {@link ResidencyStats} for the definitions.</li>
 * </ul>
 */
public final class ResidencyCache implements AutoCloseable {

    private record ShardId(long sessionId, int layer, int kvHead) {
    }

    private final ResidencyConfig config;
    private final BlockPool pool;
    private final Tier tier;
    private final Map<ShardId, ShardResidency> open = new ConcurrentHashMap<>();
    private final Map<Long, Map<Integer, LayerCounters>> sessions = new ConcurrentHashMap<>();
    private final AtomicInteger serials = new AtomicInteger();
    private volatile boolean closed;

    private ResidencyCache(ResidencyConfig config) {
        this.config = config;
        this.pool = new BlockPool(config.blocks(), config.blockBytes());
        this.tier = Tier.create(config, pool);
    }

    /**
     * Creates an empty cache; memory is taken as units become resident.
     *
     * @param config capacity, rule and block size
     * @return the cache
     */
    public static ResidencyCache create(ResidencyConfig config) {
        return new ResidencyCache(Objects.requireNonNull(config, "config"));
    }

    /** @return the configuration */
    public ResidencyConfig config() {
        return config;
    }

    /** @return bytes the device tier may hold: the capacity rounded down to whole blocks */
    public long capacityBytes() {
        return (long) pool.totalBlocks() * pool.blockBytes();
    }

    /** @return bytes of blocks held now, by every session, {@code <= capacityBytes()} */
    public long residentBytes() {
        return (long) pool.blocksInUse() * pool.blockBytes();
    }

    /**
     * Opens the front end of one shard (one (layer, kvHead) of a session).
     *
     * @param sessionId the session
     * @param geometry  the shard's place and shape
     * @param format    the format of its host rows, kept in the device tier as well
     * @return the shard's residency, to be used from the shard's thread
     * @throws IllegalArgumentException if one row of keys and values of the shard does not fit a block,
     *                                  naming the sizes
     * @throws IllegalStateException    if that shard is already open, or the cache is closed
     */
    public ShardResidency openShard(long sessionId, ShardGeometry geometry, KvFormat format) {
        return openShard(sessionId, geometry, format, 0);
    }

    /**
     * Opens the front end of one shard of a model with attention logit soft-capping (Gemma 2): its attention
     * replaces each scaled score {@code s} by {@code softcap · tanh(s / softcap)} before the softmax.
     *
     * @param sessionId the session
     * @param geometry  the shard's place and shape
     * @param format    the format of its host rows, kept in the device tier as well
     * @param softcap   the cap, finite and {@code > 0}, or 0 for none
     * @return the shard's residency, to be used from the shard's thread
     * @throws IllegalArgumentException as {@link #openShard(long, ShardGeometry, KvFormat)} does, or if the cap is
     *                                  negative or not finite
     * @throws IllegalStateException    if that shard is already open, or the cache is closed
     */
    public ShardResidency openShard(long sessionId, ShardGeometry geometry, KvFormat format, float softcap) {
        Objects.requireNonNull(geometry, "geometry");
        if (!(softcap >= 0) || !Float.isFinite(softcap)) {
            throw new IllegalArgumentException("the soft-cap must be 0 or finite and > 0, was " + softcap);
        }
        Objects.requireNonNull(format, "format");
        long pairBytes = 2L * geometry.headDim() * format.bytes();
        if (pairBytes > config.blockBytes()) {
            throw new IllegalArgumentException("a row of keys and values of head dim " + geometry.headDim() + " in "
                    + format + " takes " + pairBytes + " bytes, more than a block of " + config.blockBytes()
                    + " bytes; raise the block size");
        }
        checkOpen();
        LayerCounters counters = sessions.computeIfAbsent(sessionId, id -> new ConcurrentHashMap<>())
                .computeIfAbsent(geometry.layer(), layer -> new LayerCounters());
        ShardResidency shard = new ShardResidency(this, tier, pool, sessionId, geometry, format, counters,
                serials.incrementAndGet(), softcap);
        ShardId id = new ShardId(sessionId, geometry.layer(), geometry.kvHead());
        if (open.putIfAbsent(id, shard) != null) {
            throw new IllegalStateException("the residency of session " + sessionId + ", layer " + geometry.layer()
                    + ", kvHead " + geometry.kvHead() + " is already open");
        }
        if (closed) { // closed meanwhile
            closeShard(shard);
            checkOpen();
        }
        return shard;
    }

    void closeShard(ShardResidency shard) {
        if (shard.closed) {
            return;
        }
        shard.closed = true;
        tier.drop(List.of(shard));
        open.remove(new ShardId(shard.sessionId, shard.layer, shard.kvHead), shard);
    }

    /**
     * Closes every open shard of a session, frees its units (units a step in progress still reads are
     * freed when it ends) and forgets its counters.
     *
     * @param sessionId the session
     * @return its counters as they were at the end, {@link ResidencyStats#EMPTY} if it had none
     */
    public ResidencyStats closeSession(long sessionId) {
        List<ShardResidency> shards = new ArrayList<>();
        for (ShardResidency shard : open.values()) {
            if (shard.sessionId == sessionId && !shard.closed) {
                shard.closed = true;
                shards.add(shard);
            }
        }
        if (!shards.isEmpty()) {
            tier.drop(shards);
            for (ShardResidency shard : shards) {
                open.remove(new ShardId(shard.sessionId, shard.layer, shard.kvHead), shard);
            }
        }
        Map<Integer, LayerCounters> layers = sessions.remove(sessionId);
        return layers == null ? ResidencyStats.EMPTY : merge(layers.values());
    }

    /** @return the counters of every session not yet closed */
    public ResidencyStats stats() {
        ResidencyStats total = ResidencyStats.EMPTY;
        for (Map<Integer, LayerCounters> layers : sessions.values()) {
            total = total.merge(merge(layers.values()));
        }
        return total;
    }

    /**
     * @param sessionId a session
     * @return its counters over all layers, {@link ResidencyStats#EMPTY} if unknown
     */
    public ResidencyStats stats(long sessionId) {
        Map<Integer, LayerCounters> layers = sessions.get(sessionId);
        return layers == null ? ResidencyStats.EMPTY : merge(layers.values());
    }

    /**
     * @param sessionId a session
     * @param layer     a layer
     * @return the counters of that layer (all its KV heads), {@link ResidencyStats#EMPTY} if unknown
     */
    public ResidencyStats stats(long sessionId, int layer) {
        Map<Integer, LayerCounters> layers = sessions.get(sessionId);
        LayerCounters counters = layers == null ? null : layers.get(layer);
        return counters == null ? ResidencyStats.EMPTY : counters.snapshot();
    }

    private static ResidencyStats merge(Iterable<LayerCounters> layers) {
        ResidencyStats total = ResidencyStats.EMPTY;
        for (LayerCounters c : layers) {
            total = total.merge(c.snapshot());
        }
        return total;
    }

    /**
     * Whether a unit is resident, any prefix of it, without counting as a use. For tests and tools.
     *
     * @param key the unit
     * @return whether its shard is open and the unit is resident
     */
    public boolean contains(UnitKey key) {
        ShardResidency shard = open.get(new ShardId(key.sessionId(), key.layer(), key.kvHead()));
        return shard != null && tier.contains(shard, key);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the residency cache is closed");
        }
    }

    /**
     * Closes every shard and frees all memory of the device tier. Call it once no shard is attending:
     * a step still reading then fails with {@link IllegalStateException}. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (ShardResidency shard : open.values()) {
            shard.closed = true;
        }
        open.clear();
        tier.close();
        pool.close();
    }

    @Override
    public String toString() {
        return "ResidencyCache[" + config.rule() + ", " + residentBytes() + " of " + capacityBytes() + " bytes, "
                + open.size() + " shards open]";
    }
}

package io.clusterkv.runtime.residency;

/**
 * Counters of the device tier for a set of shards (a layer of a session, a session, the runtime),
 * as of a moment.
 *
 * <p>Definitions. A <em>request</em> is one distinct (unit id, version) that a shard's step selects
 * (units of all its query heads together;
 * {@link io.clusterkv.spi.internal.HeadSelectionBuffer#NO_UNIT NO_UNIT}
 * positions are not units and are not counted), for the longest prefix of the unit any of its query
 * heads selected. It is a <em>hit</em> if the resident copy already holds that prefix (nothing is
 * copied), else a <em>miss</em>. Of the misses, an <em>extension</em> found a shorter resident prefix
 * and copied only the rows after it; a <em>bypass</em> could not be made resident, wholly or in part,
 * because the blocks it needed were held by units in use (or refused by the rule): its rows not
 * resident were attended straight from the host store. <em>Bytes moved</em> counts the rows copied
 * into the device tier, keys and values: {@code rows * 2 * headDim * format.bytes()}; a miss of a
 * whole, absent unit of {@code n} rows moves {@code n} rows, an extension from {@code r} to {@code n}
 * moves {@code n - r}. Host rows read by attention (NO_UNIT positions, the recent window, bypassed
 * rows) are not moved bytes. <em>Evictions</em> counts units the rule removed (for space, or for
 * {@link ResidencyRule#LAST_R age}); dropping a closed shard's units is not an eviction.
 * <em>Resident bytes</em> is a gauge: the blocks held at the moment, {@code blocks * blockBytes}.
 *
 * @param hits          requests served from resident rows alone
 * @param misses        the other requests
 * @param extensions    misses that extended a shorter resident prefix
 * @param bypasses      misses attended (in part) from the host store
 * @param bytesMoved    bytes copied from the host store into the device tier
 * @param evictions     units evicted by the rule
 * @param residentBytes bytes of blocks held now
 */
public record ResidencyStats(long hits, long misses, long extensions, long bypasses, long bytesMoved,
                             long evictions, long residentBytes) {

    /** No requests, nothing resident. */
    public static final ResidencyStats EMPTY = new ResidencyStats(0, 0, 0, 0, 0, 0, 0);

    /** @return requests counted, {@code hits + misses} */
    public long requests() {
        return hits + misses;
    }

    /** @return {@code hits / (hits + misses)}, or 0 when nothing was requested */
    public double hitRate() {
        long requests = requests();
        return requests == 0 ? 0.0 : (double) hits / requests;
    }

    /**
     * @param other counters of a disjoint set of shards
     * @return the counters of both sets, every field summed
     */
    public ResidencyStats merge(ResidencyStats other) {
        return new ResidencyStats(hits + other.hits, misses + other.misses, extensions + other.extensions,
                bypasses + other.bypasses, bytesMoved + other.bytesMoved, evictions + other.evictions,
                residentBytes + other.residentBytes);
    }
}

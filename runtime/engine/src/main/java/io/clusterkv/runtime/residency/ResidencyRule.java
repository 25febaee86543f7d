package io.clusterkv.runtime.residency;

/**
 * Whether there is a device tier and, if so, which units it keeps when it is full. The three rules of
 * a tier bound the bytes held by the {@linkplain ResidencyConfig#capacityBytes() capacity}; they
 * differ in which units go first.
 */
public enum ResidencyRule {

    /**
     * No device tier: attention reads the selected rows from the host store in place. On the CPU
     * backend the tier is host memory too, so a copy only adds traffic (the copy's writes, then its
     * reads) and bookkeeping per unit; reading in place is the default there
     * ({@code docs/BENCHMARKS.md} has the measurement). The capacity is not used.
     */
    NONE,

    /**
     * Caffeine's W-TinyLFU (Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache
     * Admission Policy", ACM ToS 2017): a small LRU window in front of a segmented LRU main region,
     * with admission to the main region by a frequency sketch. Not LRU: a new unit may be refused in
     * favour of a frequently recalled one (the unit is then attended from the host store, a
     * {@linkplain ResidencyStats#bypasses() bypass}). Caffeine's map needs a key object:
     * each lookup allocates a small {@link UnitKey}, and each miss an entry and Caffeine's node.
     */
    CAFFEINE,

    /**
     * Exact least-recently-used over the units not in use by a step in progress. Allocates nothing per
     * step once warm: lookups compare fields in place and evicted entries are recycled. The default.
     */
    LRU,

    /**
     * The rule of the ClusterKV paper (Liu et al., arXiv 2412.03213): keep the units a shard
     * selected in its last {@linkplain ResidencyConfig#lastSteps() R} steps (default 1, only the
     * current step), evict the others at the end of each of its steps. When the units of the last R
     * steps of all shards do not fit, the least recently selected go first, as in {@link #LRU}.
     */
    LAST_R
}

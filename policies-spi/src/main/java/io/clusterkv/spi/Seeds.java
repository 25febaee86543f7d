package io.clusterkv.spi;

/**
 * The seeds of a run: the one place that says which seed a shard's policy gets, and the one 64-bit
 * mix (SplitMix64's) that the runtime, the arena and policies derive further seeds and hashes with.
 *
 * <p>A/B comparisons depend on this being one function: the arena's replay and its drive mode (a
 * session of the runtime) must hand the policy of a shard the same seed for the same run seed, or a
 * randomised policy (ClusterKV's initial centroids) competes with different luck in each.
 *
 * <pre>{@code
 * long shard = Seeds.forShard(runSeed, layer, kvHead);   // what PolicyContext#seed() carries
 * long third = Seeds.derive(shard, 2);                    // independent seeds for a policy's own streams
 * }</pre>
 *
 * <p>SplitMix64: Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014;
 * the finaliser is Stafford's variant 13, as in {@link java.util.SplittableRandom}.
 */
public final class Seeds {

    /** SplitMix64's increment: the odd integer closest to 2^64 / φ. */
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

    private Seeds() {
    }

    /**
     * The seed of one shard's policy: {@code runSeed * 31 + layer * 65536 + kvHead}. Distinct shards of
     * one run get distinct seeds while {@code kvHead < 65536}. Not mixed: a policy that needs
     * well-spread bits mixes it ({@link #derive}). The arena's published figures were made with this
     * formula, so it does not change.
     *
     * @param runSeed the seed of the run or session ({@code clusterkv.runtime.seed}, the arena's seed)
     * @param layer   the shard's layer, {@code >= 0}
     * @param kvHead  the shard's KV head, {@code >= 0}
     * @return the seed for {@link PolicyContext#seed()}
     * @throws IllegalArgumentException if layer or kvHead is negative
     */
    public static long forShard(long runSeed, int layer, int kvHead) {
        if (layer < 0 || kvHead < 0) {
            throw new IllegalArgumentException("layer and kvHead must be >= 0, were " + layer + " and " + kvHead);
        }
        return runSeed * 31 + layer * 65_536L + kvHead;
    }

    /**
     * SplitMix64's finaliser: a bijection of 64-bit values whose every output bit depends on every
     * input bit. Use it to spread a seed or hash a key.
     *
     * @param z any value
     * @return its mix
     */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /**
     * The {@code index}-th seed derived from {@code seed}: output {@code index} (from 0) of SplitMix64
     * started at {@code seed}, that is {@code mix(seed + (index + 1) * 0x9E3779B97F4A7C15L)}, the same
     * as the {@code (index + 1)}-th {@code nextLong()} of {@code new SplittableRandom(seed)}. Different
     * indices give independent-looking seeds, e.g. one per task or per stream of a generator.
     *
     * @param seed  the seed derived from
     * @param index which derived seed; any value
     * @return the derived seed
     */
    public static long derive(long seed, long index) {
        return mix(seed + (index + 1) * GOLDEN_GAMMA);
    }
}

package io.clusterkv.spi;

import java.util.Objects;

/**
 * Everything a provider is given to create the policy of one shard.
 *
 * @param geometry the shard's place and shape
 * @param budget   the session's budget: positions each query head may attend per step, not counting
 *                 a policy's recent window (see {@link HeadSelection#attendFrom}). A policy may tune
 *                 its index to it (e.g. the cluster size); {@link RecallPolicy#select} receives the
 *                 budget of each step, which a comparison harness may vary. {@code >= 1}
 * @param config   the policy's own configuration section, defaults already filled in
 * @param seed     seed for any randomness; the same seed and inputs must give the same selections.
 *                 The runtime and the arena derive it from the run's seed, the layer and the kvHead
 *                 with {@link Seeds#forShard}; a policy that needs more seeds derives them with
 *                 {@link Seeds#derive}.
 */
public record PolicyContext(ShardGeometry geometry, int budget, PolicyConfig config, long seed) {

    /**
     * Validates the context.
     *
     * @throws IllegalArgumentException if {@code budget < 1}, naming the value
     * @throws NullPointerException     if geometry or config is null
     */
    public PolicyContext {
        Objects.requireNonNull(geometry, "geometry");
        Objects.requireNonNull(config, "config");
        if (budget < 1) {
            throw new IllegalArgumentException("budget must be >= 1 position per query head, was " + budget);
        }
    }
}

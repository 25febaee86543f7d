package io.clusterkv.runtime.residency;

/**
 * Names one resident unit in the runtime-wide {@link ResidencyCache}: a unit (a ClusterKV cluster,
 * a Quest page) of one shard of one session, at one version. A (unit id, version) pair names one
 * fixed, ordered list of positions (see {@link io.clusterkv.spi.HeadSelection}), so a key names
 * one list of rows whatever prefix of it is resident.
 *
 * <p>The {@link ResidencyRule#CAFFEINE CAFFEINE} rule keys its map by this record, one instance per
 * lookup; the {@link ResidencyRule#LRU LRU} and {@link ResidencyRule#LAST_R LAST_R} rules compare
 * the fields in place and allocate no key. Tests and tools use it with {@link ResidencyCache#contains}.
 *
 * @param sessionId the session
 * @param layer     the layer, {@code >= 0}
 * @param kvHead    the KV head within the layer, {@code >= 0}
 * @param unitId    the unit's id, {@code >= 0}
 *                  ({@link io.clusterkv.spi.internal.HeadSelectionBuffer#NO_UNIT} is never resident)
 * @param version   the unit's version
 */
public record UnitKey(long sessionId, int layer, int kvHead, long unitId, int version) {

    /**
     * Validates the key.
     *
     * @throws IllegalArgumentException if the layer, the KV head or the unit id is negative, naming it
     */
    public UnitKey {
        if (layer < 0) {
            throw new IllegalArgumentException("layer must be >= 0, was " + layer);
        }
        if (kvHead < 0) {
            throw new IllegalArgumentException("kvHead must be >= 0, was " + kvHead);
        }
        if (unitId < 0) {
            throw new IllegalArgumentException("unit id must be >= 0, was " + unitId);
        }
    }
}

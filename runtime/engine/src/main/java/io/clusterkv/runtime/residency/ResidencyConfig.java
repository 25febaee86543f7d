package io.clusterkv.runtime.residency;

import java.util.Objects;

/**
 * Configuration of a {@link ResidencyCache}: how many bytes the device tier may hold, which
 * {@link ResidencyRule rule} decides what stays, and the grain of its memory.
 *
 * <p>Memory is handed out in blocks of {@code blockBytes}; a block holds the keys and then the values
 * of {@code blockBytes / (2 * rowBytes)} rows of one unit, where {@code rowBytes = headDim *
 * format.bytes()}. A unit of {@code n} rows therefore weighs {@code ceil(n / rowsPerBlock) *
 * blockBytes} bytes, and the capacity bounds the blocks in use. The default block of 8 KiB holds 16
 * rows of head dim 128 in F16 (a Quest page exactly), 8 in F32; smaller blocks waste less on short
 * units, larger ones give the attention kernels longer runs.
 *
 * <p>This record is the {@code clusterkv.residency} section of the runtime's configuration, and its
 * validation is the only one: an out-of-range value fails with a {@link ResidencyConfigException} naming
 * the key it stands for.
 *
 * @param capacityBytes {@code clusterkv.residency.capacity}: bytes the device tier may hold,
 *                      {@code >= blockBytes}; at most {@code Integer.MAX_VALUE} blocks
 * @param rule          {@code clusterkv.residency.policy}: which units stay
 * @param lastSteps     {@code clusterkv.residency.last-r}: R of {@link ResidencyRule#LAST_R}, {@code >= 1};
 *                      ignored by the other rules
 * @param blockBytes    {@code clusterkv.residency.block-bytes}: bytes of one block, a power of two in
 *                      {@code [64, 2^30]}
 */
public record ResidencyConfig(long capacityBytes, ResidencyRule rule, int lastSteps, int blockBytes) {

    /** Key of {@link #capacityBytes()}. */
    public static final String CAPACITY_KEY = "clusterkv.residency.capacity";

    /** Key of {@link #rule()}. */
    public static final String RULE_KEY = "clusterkv.residency.policy";

    /** Key of {@link #lastSteps()}. */
    public static final String LAST_STEPS_KEY = "clusterkv.residency.last-r";

    /** Key of {@link #blockBytes()}. */
    public static final String BLOCK_BYTES_KEY = "clusterkv.residency.block-bytes";

    /** The keys of {@code clusterkv.residency}, without the section. */
    public static final java.util.List<String> KEYS = java.util.List.of("capacity", "policy", "last-r", "block-bytes");

    /** Default {@link #blockBytes()}: 8 KiB. */
    public static final int DEFAULT_BLOCK_BYTES = 8192;

    /** Default {@link #lastSteps()}: 1, the paper's setting (the units of the current step). */
    public static final int DEFAULT_LAST_STEPS = 1;

    /**
     * Validates the configuration.
     *
     * @throws ResidencyConfigException if a value is out of range, naming its key, the value and what
     *                                  was expected
     * @throws NullPointerException     if the rule is null
     */
    public ResidencyConfig {
        Objects.requireNonNull(rule, "rule");
        if (blockBytes < 64 || blockBytes > (1 << 30) || Integer.bitCount(blockBytes) != 1) {
            throw new ResidencyConfigException(BLOCK_BYTES_KEY, Integer.toString(blockBytes),
                    "a power of two from 64 bytes to 1GiB");
        }
        if (capacityBytes < blockBytes) {
            throw new ResidencyConfigException(CAPACITY_KEY, Long.toString(capacityBytes),
                    "at least one block of " + BLOCK_BYTES_KEY + " = " + blockBytes
                            + " bytes (the smallest residency unit)");
        }
        if (capacityBytes / blockBytes > Integer.MAX_VALUE) {
            throw new ResidencyConfigException(CAPACITY_KEY, Long.toString(capacityBytes), "at most "
                    + Integer.MAX_VALUE + " blocks of " + blockBytes + " bytes (or larger blocks)");
        }
        if (lastSteps < 1) {
            throw new ResidencyConfigException(LAST_STEPS_KEY, Integer.toString(lastSteps), "an integer >= 1");
        }
    }

    /**
     * @param capacityBytes bytes the device tier may hold
     * @param rule          which units stay
     * @return the configuration with the default R and block size
     * @throws IllegalArgumentException as the constructor does
     */
    public static ResidencyConfig of(long capacityBytes, ResidencyRule rule) {
        return new ResidencyConfig(capacityBytes, rule, DEFAULT_LAST_STEPS, DEFAULT_BLOCK_BYTES);
    }

    /**
     * @param r R of {@link ResidencyRule#LAST_R}
     * @return this configuration with another R
     * @throws IllegalArgumentException if {@code r < 1}
     */
    public ResidencyConfig withLastSteps(int r) {
        return new ResidencyConfig(capacityBytes, rule, r, blockBytes);
    }

    /**
     * @param bytes bytes of one block
     * @return this configuration with another block size
     * @throws IllegalArgumentException if the size is not valid, or the capacity holds no block of it
     */
    public ResidencyConfig withBlockBytes(int bytes) {
        return new ResidencyConfig(capacityBytes, rule, lastSteps, bytes);
    }

    /** @return blocks the capacity holds */
    public int blocks() {
        return (int) (capacityBytes / blockBytes);
    }
}

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
 * @param capacityBytes bytes the device tier may hold, {@code >= blockBytes}; at most
 *                      {@code Integer.MAX_VALUE} blocks
 * @param rule          which units stay
 * @param lastSteps     R of {@link ResidencyRule#LAST_R}, {@code >= 1}; ignored by the other rules
 * @param blockBytes    bytes of one block, a power of two in {@code [64, 2^30]}
 */
public record ResidencyConfig(long capacityBytes, ResidencyRule rule, int lastSteps, int blockBytes) {

    /** Default {@link #blockBytes()}: 8 KiB. */
    public static final int DEFAULT_BLOCK_BYTES = 8192;

    /** Default {@link #lastSteps()}: 1, the paper's setting (the units of the current step). */
    public static final int DEFAULT_LAST_STEPS = 1;

    /**
     * Validates the configuration.
     *
     * @throws IllegalArgumentException if a value is out of range; the message names it, its value and
     *                                  what was expected
     * @throws NullPointerException     if the rule is null
     */
    public ResidencyConfig {
        Objects.requireNonNull(rule, "rule");
        if (blockBytes < 64 || blockBytes > (1 << 30) || Integer.bitCount(blockBytes) != 1) {
            throw new IllegalArgumentException("block bytes must be a power of two in [64, 2^30], was " + blockBytes);
        }
        if (capacityBytes <= 0) {
            throw new IllegalArgumentException("residency capacity must be > 0 bytes, was " + capacityBytes);
        }
        if (capacityBytes < blockBytes) {
            throw new IllegalArgumentException("residency capacity of " + capacityBytes
                    + " bytes is smaller than one block of " + blockBytes + " bytes");
        }
        if (capacityBytes / blockBytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("residency capacity of " + capacityBytes + " bytes is more than "
                    + Integer.MAX_VALUE + " blocks of " + blockBytes + " bytes; use larger blocks");
        }
        if (lastSteps < 1) {
            throw new IllegalArgumentException("last steps (R) must be >= 1, was " + lastSteps);
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

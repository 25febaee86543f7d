package io.clusterkv.runtime.arena;

/**
 * What a {@link DriveMode} run reports for one policy at one budget over the decode steps of a
 * {@link DriveRequest} (definitions in {@link DriveMode}).
 *
 * @param perplexity       {@code exp} of the mean negative log-likelihood of the continuation, {@code >= 1}
 * @param greedyAgreement  fraction of steps whose argmax equals the exact model's, in {@code [0, 1]}
 * @param tokensPerSecond  decode steps per second of wall clock, prefill excluded, {@code > 0}
 * @param bytesMoved       KV bytes copied into the device tier (residency misses), {@code >= 0}
 * @param residencyHitRate unit requests served by the device tier / unit requests, in {@code [0, 1]}; NaN
 *                         when nothing was requested (exact attention at every step: {@code full}, or a
 *                         budget covering the context)
 */
public record DriveFigures(double perplexity, double greedyAgreement, double tokensPerSecond, long bytesMoved,
        double residencyHitRate) {

    /**
     * @throws IllegalArgumentException if a figure is out of its range or NaN, naming it
     */
    public DriveFigures {
        if (!(perplexity >= 1 - 1e-9) || Double.isInfinite(perplexity)) {
            throw new IllegalArgumentException("perplexity must be finite and >= 1, was " + perplexity);
        }
        if (!(greedyAgreement >= 0 && greedyAgreement <= 1)) {
            throw new IllegalArgumentException("greedyAgreement must be in [0, 1], was " + greedyAgreement);
        }
        if (!(tokensPerSecond > 0) || Double.isInfinite(tokensPerSecond)) {
            throw new IllegalArgumentException("tokensPerSecond must be finite and > 0, was " + tokensPerSecond);
        }
        if (bytesMoved < 0) {
            throw new IllegalArgumentException("bytesMoved must be >= 0, was " + bytesMoved);
        }
        if (!Double.isNaN(residencyHitRate) && !(residencyHitRate >= 0 && residencyHitRate <= 1)) {
            throw new IllegalArgumentException("residencyHitRate must be in [0, 1], was " + residencyHitRate);
        }
    }
}

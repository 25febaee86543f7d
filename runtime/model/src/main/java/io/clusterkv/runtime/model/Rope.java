package io.clusterkv.runtime.model;

import java.util.Objects;

/**
 * Rotary position embedding for one model: the inverse frequency of each channel pair, and the
 * rotation of query and key heads by the angles of a position.
 *
 * <p>Pair {@code i} of a head (channels {@code 2i, 2i+1} or {@code i, i+headDim/2}, see
 * {@link RopeLayout}) turns by {@code position * invFreq_i}, where
 * {@code invFreq_i = scaling(theta^(-2i/headDim)) / freqFactor_i} (the factors are GGUF's optional
 * {@code rope_freqs.weight}, otherwise 1). Angles are computed in double precision, once per position
 * ({@link #angles}), then applied to every head of Q and K ({@link #rotate}). Immutable; thread-safe.
 */
public final class Rope {

    private final int headDim;
    private final RopeLayout layout;
    private final double[] invFreq; // (headDim / 2)

    /**
     * @param headDim     channels per head, even
     * @param layout      pair layout
     * @param theta       base frequency
     * @param scaling     frequency scaling
     * @param freqFactors {@code (headDim / 2)} divisors of each frequency, or {@code null}
     * @throws IllegalArgumentException if {@code headDim} is odd or the factors have the wrong length
     *                                  or are not positive
     */
    public Rope(int headDim, RopeLayout layout, double theta, RopeScaling scaling, float[] freqFactors) {
        if (headDim < 2 || headDim % 2 != 0) {
            throw new IllegalArgumentException("headDim must be even and >= 2, was " + headDim);
        }
        if (freqFactors != null && freqFactors.length != headDim / 2) {
            throw new IllegalArgumentException("RoPE frequency factors: expected " + headDim / 2 + ", got "
                    + freqFactors.length);
        }
        this.headDim = headDim;
        this.layout = Objects.requireNonNull(layout, "layout");
        this.invFreq = new double[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) {
            double f = scaling.scale(Math.pow(theta, -2.0 * i / headDim));
            if (freqFactors != null) {
                if (!(freqFactors[i] > 0) || !Float.isFinite(freqFactors[i])) {
                    throw new IllegalArgumentException("RoPE frequency factor " + i + " must be > 0, was " + freqFactors[i]);
                }
                f /= freqFactors[i];
            }
            invFreq[i] = f;
        }
    }

    /**
     * @param config a model configuration
     * @param freqFactors its optional frequency factors, or {@code null}
     * @return the RoPE of that model
     */
    public static Rope of(ModelConfig config, float[] freqFactors) {
        return new Rope(config.headDim(), config.ropeLayout(), config.ropeTheta(), config.ropeScaling(), freqFactors);
    }

    /** @return channels per head */
    public int headDim() {
        return headDim;
    }

    /** @return pair layout */
    public RopeLayout layout() {
        return layout;
    }

    /**
     * @param pair a pair index in {@code [0, headDim / 2)}
     * @return its inverse frequency, radians per position
     */
    public double inverseFrequency(int pair) {
        return invFreq[pair];
    }

    /**
     * Fills the cosines and sines of one position's angles.
     *
     * @param position the position
     * @param cos      receives {@code (headDim / 2)} cosines
     * @param sin      receives {@code (headDim / 2)} sines
     */
    public void angles(int position, float[] cos, float[] sin) {
        for (int i = 0; i < invFreq.length; i++) {
            double a = position * invFreq[i];
            cos[i] = (float) Math.cos(a);
            sin[i] = (float) Math.sin(a);
        }
    }

    /**
     * Rotates {@code heads} consecutive heads in place.
     *
     * @param x     holds {@code (heads, headDim)} at {@code off}
     * @param off   offset of the first head
     * @param heads heads
     * @param cos   {@code (headDim / 2)} from {@link #angles}
     * @param sin   {@code (headDim / 2)} from {@link #angles}
     */
    public void rotate(float[] x, int off, int heads, float[] cos, float[] sin) {
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < half; i++) {
                int a = layout == RopeLayout.ADJACENT_PAIRS ? base + 2 * i : base + i;
                int b = layout == RopeLayout.ADJACENT_PAIRS ? a + 1 : a + half;
                float x0 = x[a];
                float x1 = x[b];
                x[a] = x0 * cos[i] - x1 * sin[i];
                x[b] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }
}

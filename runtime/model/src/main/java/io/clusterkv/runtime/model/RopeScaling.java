package io.clusterkv.runtime.model;

/**
 * How RoPE frequencies are stretched for contexts longer than the model was trained on.
 *
 * <ul>
 * <li>{@link None}: {@code invFreq_i = theta^(-2i / headDim)}.</li>
 * <li>{@link Linear}: every frequency divided by {@code factor} (position interpolation).</li>
 * <li>{@link Llama3}: Llama 3.1's rule: wavelengths shorter than {@code originalContext / highFreqFactor}
 * kept, longer than {@code originalContext / lowFreqFactor} divided by {@code factor}, and a smooth
 * blend in between.</li>
 * </ul>
 */
public sealed interface RopeScaling {

    /**
     * @param invFreq an unscaled inverse frequency, radians per position
     * @return the scaled one
     */
    double scale(double invFreq);

    /** No scaling. */
    record None() implements RopeScaling {
        /** The instance. */
        public static final None INSTANCE = new None();

        @Override
        public double scale(double invFreq) {
            return invFreq;
        }
    }

    /**
     * Linear position interpolation.
     *
     * @param factor divides every frequency, {@code >= 1}
     */
    record Linear(double factor) implements RopeScaling {
        /** @throws IllegalArgumentException if {@code factor} is not finite and {@code >= 1} */
        public Linear {
            if (!(factor >= 1) || !Double.isFinite(factor)) {
                throw new IllegalArgumentException("linear RoPE scaling factor must be finite and >= 1, was " + factor);
            }
        }

        @Override
        public double scale(double invFreq) {
            return invFreq / factor;
        }
    }

    /**
     * Llama 3.1 frequency scaling (Hugging Face {@code rope_type = "llama3"}).
     *
     * @param factor          divides low frequencies, {@code >= 1} (Llama 3.1: 8, Llama 3.2: 32)
     * @param lowFreqFactor   {@code > 0} (1)
     * @param highFreqFactor  {@code > lowFreqFactor} (4)
     * @param originalContext training context, positions (8192)
     */
    record Llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalContext)
            implements RopeScaling {
        /** @throws IllegalArgumentException if a parameter is out of range, naming it */
        public Llama3 {
            if (!(factor >= 1) || !Double.isFinite(factor)) {
                throw new IllegalArgumentException("llama3 RoPE scaling factor must be finite and >= 1, was " + factor);
            }
            if (!(lowFreqFactor > 0) || !Double.isFinite(lowFreqFactor)) {
                throw new IllegalArgumentException("llama3 RoPE low_freq_factor must be > 0, was " + lowFreqFactor);
            }
            if (!(highFreqFactor > lowFreqFactor) || !Double.isFinite(highFreqFactor)) {
                throw new IllegalArgumentException("llama3 RoPE high_freq_factor must be > low_freq_factor ("
                        + lowFreqFactor + "), was " + highFreqFactor);
            }
            if (originalContext < 1) {
                throw new IllegalArgumentException("llama3 RoPE original context must be >= 1, was " + originalContext);
            }
        }

        @Override
        public double scale(double invFreq) {
            double wavelen = 2 * Math.PI / invFreq;
            double lowFreqWavelen = originalContext / lowFreqFactor;
            double highFreqWavelen = originalContext / highFreqFactor;
            if (wavelen < highFreqWavelen) {
                return invFreq;
            }
            if (wavelen > lowFreqWavelen) {
                return invFreq / factor;
            }
            double smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            return (1 - smooth) * invFreq / factor + smooth * invFreq;
        }
    }
}

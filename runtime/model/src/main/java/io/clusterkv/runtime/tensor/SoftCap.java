package io.clusterkv.runtime.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Logit soft-capping (Gemma 2): {@code v -> cap · tanh(v / cap)}, computed as llama.cpp computes it (a scale by
 * {@code 1 / cap}, tanh, a scale by {@code cap}), with the Vector API's tanh, which is within the few ulps
 * {@link Math#tanh} promises. The attention kernels cap scores with it, the forward pass the classifier's logits.
 */
public final class SoftCap {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private SoftCap() {
    }

    /**
     * Caps {@code v[from .. from + n)} in place.
     *
     * @param v    the values
     * @param from the first
     * @param n    how many
     * @param cap  the cap, {@code > 0}
     * @throws IndexOutOfBoundsException if the range is not within {@code v}
     */
    public static void apply(float[] v, int from, int n, float cap) {
        java.util.Objects.checkFromIndexSize(from, n, v.length);
        float inv = 1f / cap;
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += F.length()) {
            FloatVector.fromArray(F, v, from + i).mul(inv).lanewise(VectorOperators.TANH).mul(cap)
                    .intoArray(v, from + i);
        }
        for (; i < n; i++) {
            v[from + i] = cap * (float) Math.tanh(v[from + i] * inv);
        }
    }
}

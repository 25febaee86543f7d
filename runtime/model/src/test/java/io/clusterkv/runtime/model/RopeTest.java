package io.clusterkv.runtime.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** RoPE in both layouts against naive formulations, and Llama 3 scaling against its formula. */
class RopeTest {

    static final int HEAD_DIM = 16;
    static final int HEADS = 3;

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextDouble(-2, 2);
        }
        return v;
    }

    /** Query or key rows of all heads, values in [-2, 2]. */
    @Provide
    Arbitrary<float[]> rows() {
        return Arbitraries.floats().between(-2, 2).ofScale(6).array(float[].class).ofSize(HEADS * HEAD_DIM);
    }

    static float[] apply(Rope rope, float[] x, int position) {
        float[] cos = new float[HEAD_DIM / 2];
        float[] sin = new float[HEAD_DIM / 2];
        float[] y = x.clone();
        rope.angles(position, cos, sin);
        rope.rotate(y, 0, HEADS, cos, sin);
        return y;
    }

    @Property(tries = 200)
    void adjacentPairsRotateChannels2iAnd2iPlus1AsComplexNumbers(@ForAll("rows") float[] x,
            @ForAll @IntRange(max = 4095) int pos) {
        double theta = 10000;
        Rope rope = new Rope(HEAD_DIM, RopeLayout.ADJACENT_PAIRS, theta, RopeScaling.None.INSTANCE, null);
        float[] y = apply(rope, x, pos);
        for (int h = 0; h < HEADS; h++) {
            for (int i = 0; i < HEAD_DIM / 2; i++) {
                // (re + i·im) · e^{i·pos·θ^(-2i/d)}
                double a = pos * Math.pow(theta, -2.0 * i / HEAD_DIM);
                double re = x[h * HEAD_DIM + 2 * i];
                double im = x[h * HEAD_DIM + 2 * i + 1];
                assertEquals(re * Math.cos(a) - im * Math.sin(a), y[h * HEAD_DIM + 2 * i], 1e-5);
                assertEquals(re * Math.sin(a) + im * Math.cos(a), y[h * HEAD_DIM + 2 * i + 1], 1e-5);
            }
        }
    }

    @Property(tries = 200)
    void halvesMatchHuggingFaceRotateHalf(@ForAll("rows") float[] x, @ForAll @IntRange(max = 4095) int pos) {
        double theta = 1e6;
        int half = HEAD_DIM / 2;
        Rope rope = new Rope(HEAD_DIM, RopeLayout.HALVES, theta, RopeScaling.None.INSTANCE, null);
        float[] y = apply(rope, x, pos);
        for (int h = 0; h < HEADS; h++) {
            // q * cat(cos, cos) + rotate_half(q) * cat(sin, sin); rotate_half(q) = cat(-q2, q1)
            for (int j = 0; j < HEAD_DIM; j++) {
                int i = j % half;
                double a = pos * Math.pow(theta, -2.0 * i / HEAD_DIM);
                double rot = j < half ? -x[h * HEAD_DIM + j + half] : x[h * HEAD_DIM + j - half];
                assertEquals(x[h * HEAD_DIM + j] * Math.cos(a) + rot * Math.sin(a), y[h * HEAD_DIM + j], 1e-5);
            }
        }
    }

    @Property(tries = 100)
    void halvesEqualAdjacentPairsOnTheConverterPermutation(@ForAll("rows") float[] hf,
            @ForAll @IntRange(max = 4095) int pos) {
        // llama.cpp's convert permutes HF rows so that channel 2i <- i and 2i+1 <- i + d/2
        Rope pairs = new Rope(HEAD_DIM, RopeLayout.ADJACENT_PAIRS, 10000, RopeScaling.None.INSTANCE, null);
        Rope halves = new Rope(HEAD_DIM, RopeLayout.HALVES, 10000, RopeScaling.None.INSTANCE, null);
        float[] permuted = new float[hf.length];
        for (int h = 0; h < HEADS; h++) {
            for (int i = 0; i < HEAD_DIM / 2; i++) {
                permuted[h * HEAD_DIM + 2 * i] = hf[h * HEAD_DIM + i];
                permuted[h * HEAD_DIM + 2 * i + 1] = hf[h * HEAD_DIM + i + HEAD_DIM / 2];
            }
        }
        float[] a = apply(halves, hf, pos);
        float[] b = apply(pairs, permuted, pos);
        for (int h = 0; h < HEADS; h++) {
            for (int i = 0; i < HEAD_DIM / 2; i++) {
                assertEquals(a[h * HEAD_DIM + i], b[h * HEAD_DIM + 2 * i], 1e-6);
                assertEquals(a[h * HEAD_DIM + i + HEAD_DIM / 2], b[h * HEAD_DIM + 2 * i + 1], 1e-6);
            }
        }
    }

    /** Hugging Face's _compute_llama3_parameters, transcribed. */
    static double llama3(double invFreq, double factor, double low, double high, int original) {
        double lowFreqWavelen = original / low;
        double highFreqWavelen = original / high;
        double wavelen = 2 * Math.PI / invFreq;
        double scaled = wavelen > lowFreqWavelen ? invFreq / factor : invFreq;
        double smooth = (original / wavelen - low) / (high - low);
        double smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
        boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
        return medium ? smoothed : scaled;
    }

    @Test
    void llama3ScalingFollowsTheReferenceFormula() {
        int d = 64;
        double theta = 500000;
        RopeScaling.Llama3 s = new RopeScaling.Llama3(32, 1, 4, 8192);
        Rope rope = new Rope(d, RopeLayout.ADJACENT_PAIRS, theta, s, null);
        int kept = 0;
        int divided = 0;
        int blended = 0;
        for (int i = 0; i < d / 2; i++) {
            double base = Math.pow(theta, -2.0 * i / d);
            double expected = llama3(base, 32, 1, 4, 8192);
            assertEquals(expected, rope.inverseFrequency(i), 1e-12 * base, "pair " + i);
            if (expected == base) {
                kept++;
            } else if (Math.abs(expected - base / 32) < 1e-15) {
                divided++;
            } else {
                blended++;
            }
        }
        // all three regimes are exercised with these parameters
        assertEquals(true, kept > 0 && divided > 0 && blended > 0, kept + " kept, " + divided + " divided, " + blended + " blended");
        assertEquals(Math.pow(theta, 0) , rope.inverseFrequency(0), 0, "the highest frequency is kept");
    }

    @Test
    void frequencyFactorsDivideTheFrequenciesAndLinearScalingDividesAll() {
        float[] ff = new float[HEAD_DIM / 2];
        for (int i = 0; i < ff.length; i++) {
            ff[i] = 1 + i;
        }
        Rope plain = new Rope(HEAD_DIM, RopeLayout.ADJACENT_PAIRS, 10000, RopeScaling.None.INSTANCE, null);
        Rope factored = new Rope(HEAD_DIM, RopeLayout.ADJACENT_PAIRS, 10000, RopeScaling.None.INSTANCE, ff);
        Rope linear = new Rope(HEAD_DIM, RopeLayout.ADJACENT_PAIRS, 10000, new RopeScaling.Linear(4), null);
        for (int i = 0; i < ff.length; i++) {
            assertEquals(plain.inverseFrequency(i) / ff[i], factored.inverseFrequency(i), 1e-15);
            assertEquals(plain.inverseFrequency(i) / 4, linear.inverseFrequency(i), 1e-15);
        }
    }

    @Test
    void positionZeroIsTheIdentity() {
        Rope rope = new Rope(HEAD_DIM, RopeLayout.HALVES, 10000, RopeScaling.None.INSTANCE, null);
        float[] x = random(HEADS * HEAD_DIM, 4);
        org.junit.jupiter.api.Assertions.assertArrayEquals(x, apply(rope, x, 0));
    }

    @Test
    void invalidParametersAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> new Rope(15, RopeLayout.HALVES, 10000, RopeScaling.None.INSTANCE, null));
        assertThrows(IllegalArgumentException.class,
                () -> new Rope(16, RopeLayout.HALVES, 10000, RopeScaling.None.INSTANCE, new float[7]));
        assertThrows(IllegalArgumentException.class, () -> new RopeScaling.Llama3(8, 4, 1, 8192));
        assertThrows(IllegalArgumentException.class, () -> new RopeScaling.Linear(0.5));
    }
}

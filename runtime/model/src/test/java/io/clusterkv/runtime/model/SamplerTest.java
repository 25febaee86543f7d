package io.clusterkv.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class SamplerTest {

    static float[] logits(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            l[i] = (float) r.nextGaussian() * 3;
        }
        return l;
    }

    static int[] draw(Sampler s, int count, int n) {
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            out[i] = s.sample(logits(i, n));
        }
        return out;
    }

    /** Logits of 1 to 1000 tokens, two decimals between -12 and 12: ties are common. */
    @Provide
    Arbitrary<float[]> vocabLogits() {
        return Arbitraries.floats().between(-12, 12).array(float[].class).ofMinSize(1).ofMaxSize(1000);
    }

    @Property(tries = 200)
    void greedyIsArgmaxWithTheLowestIdOnTies(@ForAll("vocabLogits") float[] l) {
        int best = 0;
        for (int i = 0; i < l.length; i++) {
            if (l[i] > l[best]) {
                best = i;
            }
        }
        assertEquals(best, Sampler.greedy().sample(l));
        assertEquals(best, Sampler.of(0, 0, 1, 9).sample(l), "temperature 0 is greedy");
    }

    @Test
    void greedyTakesTheLowestIdOfATie() {
        assertEquals(1, Sampler.greedy().sample(new float[] {0, 5, 5, 1}));
    }

    @Property(tries = 200)
    void topK1IsGreedy(@ForAll("vocabLogits") float[] l) {
        assertEquals(Sampler.argmax(l), Sampler.of(1.5, 1, 0.9, 123).sample(l));
    }

    @Test
    void seededSamplersAreReproducible() {
        for (Sampler[] pair : new Sampler[][] {
                {Sampler.of(1, 0, 1, 5), Sampler.of(1, 0, 1, 5)},
                {Sampler.of(0.8, 40, 1, 5), Sampler.of(0.8, 40, 1, 5)},
                {Sampler.of(0.8, 0, 0.9, 5), Sampler.of(0.8, 0, 0.9, 5)},
                {Sampler.of(1.2, 50, 0.95, 5), Sampler.of(1.2, 50, 0.95, 5)}}) {
            assertArrayEquals(draw(pair[0], 100, 2000), draw(pair[1], 100, 2000));
        }
        // and the seed matters
        assertTrue(!java.util.Arrays.equals(draw(Sampler.of(1, 0, 1, 5), 100, 2000),
                draw(Sampler.of(1, 0, 1, 6), 100, 2000)));
    }

    @Test
    void topKKeepsOnlyTheKMostLikely() {
        Sampler s = Sampler.of(5, 3, 1, 11); // hot: without top-k, far tokens would come up
        float[] l = logits(42, 200);
        Integer[] order = new Integer[l.length];
        for (int i = 0; i < l.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> Float.compare(l[b], l[a]));
        java.util.Set<Integer> top3 = java.util.Set.of(order[0], order[1], order[2]);
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int i = 0; i < 500; i++) {
            int t = s.sample(l);
            assertTrue(top3.contains(t), t + " is not among the top 3 " + top3);
            seen.add(t);
        }
        assertEquals(top3, seen);
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        // probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1
        float[] l = {(float) Math.log(0.05), (float) Math.log(0.5), (float) Math.log(0.15), (float) Math.log(0.3)};
        Sampler s = Sampler.of(1, 0, 0.75, 3); // 0.5 + 0.3 reach 0.75: tokens 1 and 3 only
        int[] counts = new int[4];
        for (int i = 0; i < 4000; i++) {
            counts[s.sample(l)]++;
        }
        assertEquals(0, counts[0]);
        assertEquals(0, counts[2]);
        assertEquals(0.5 / 0.8, counts[1] / 4000.0, 0.03);
    }

    @Test
    void plainTemperatureSamplingFollowsTheSoftmax() {
        float[] l = {0, (float) Math.log(3)}; // 1 : 3
        Sampler s = Sampler.of(1, 0, 1, 8);
        int ones = 0;
        for (int i = 0; i < 4000; i++) {
            ones += s.sample(l);
        }
        assertEquals(0.75, ones / 4000.0, 0.03);
    }

    @Test
    void invalidParametersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Sampler.of(-0.1, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Sampler.of(Double.NaN, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Sampler.of(Double.POSITIVE_INFINITY, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Sampler.of(1, -1, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Sampler.of(1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> Sampler.of(1, 0, 1.01, 0));
        assertThrows(IllegalArgumentException.class, () -> Sampler.greedy().sample(new float[0]));
    }
}

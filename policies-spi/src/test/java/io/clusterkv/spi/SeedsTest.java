package io.clusterkv.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link Seeds} against independent references: the JDK's SplitMix64 and the arena's shard formula. */
class SeedsTest {

    @Test
    void deriveIsSplitMix64AsTheJdkImplementsIt() {
        for (long seed : new long[] {0, 1, 42, -7, Long.MIN_VALUE, 0x0123_4567_89AB_CDEFL}) {
            SplittableRandom reference = new SplittableRandom(seed);
            for (int i = 0; i < 100; i++) {
                assertEquals(reference.nextLong(), Seeds.derive(seed, i), "seed " + seed + ", index " + i);
            }
        }
    }

    @Test
    void mixIsTheFinaliserOfSplitMix64() {
        // new SplittableRandom(s).nextLong() mixes s + gamma, so mix(x) is that of s = x - gamma
        long gamma = 0x9E3779B97F4A7C15L;
        for (long x : new long[] {0, 1, -1, 1L << 63, 123_456_789L}) {
            assertEquals(new SplittableRandom(x - gamma).nextLong(), Seeds.mix(x));
        }
        assertEquals(0L, Seeds.mix(0), "a bijection that fixes zero");
    }

    /** Regression: replay and drive once derived shard seeds two ways; this is the arena's formula. */
    @Test
    void shardSeedKeepsTheArenasFormula() {
        assertEquals(42L * 31 + 3 * 65_536L + 5, Seeds.forShard(42, 3, 5));
        assertEquals(-7L * 31, Seeds.forShard(-7, 0, 0));
        assertEquals(Long.MAX_VALUE * 31 + 65_535L * 65_536L + 65_535, Seeds.forShard(Long.MAX_VALUE, 65_535, 65_535));
        Set<Long> seen = new HashSet<>();
        for (int layer = 0; layer < 128; layer++) {
            for (int kvHead = 0; kvHead < 64; kvHead++) {
                assertTrue(seen.add(Seeds.forShard(42, layer, kvHead)), "distinct shards, distinct seeds");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Seeds.forShard(1, -1, 0));
        assertThrows(IllegalArgumentException.class, () -> Seeds.forShard(1, 0, -1));
    }
}

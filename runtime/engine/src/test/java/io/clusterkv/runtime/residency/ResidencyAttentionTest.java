package io.clusterkv.runtime.residency;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Attention through {@link ShardResidency} equals {@code Attention.selected} for every query head and
 * a double-precision reference, whatever is resident: every rule, F32 and F16, head dims that fill
 * the kernels' vectors and ones staged with padding, windows, {@code NO_UNIT} positions, units truncated to
 * prefixes and extended later, versions bumped, and capacities from ample to a handful of blocks
 * (where units are bypassed or only partly resident).
 */
class ResidencyAttentionTest {

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (ResidencyRule rule : ResidencyRule.values()) {
            if (rule == ResidencyRule.NONE) {
                continue; // no tier: noResidencyRuleServesEverythingFromTheHost
            }
            for (KvFormat format : KvFormat.values()) {
                for (int dim : new int[] {64, 40}) {
                    for (long capacity : new long[] {1L << 20, 8 * 2048}) {
                        b.add(Arguments.of(rule, format, dim, capacity));
                    }
                }
            }
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1} dim={2} capacity={3}")
    @MethodSource("cases")
    void attentionMatchesSelectedAndReference(ResidencyRule rule, KvFormat format, int dim, long capacity) {
        int heads = 4;
        UnitWorkload w = new UnitWorkload(700, 500, dim, format, heads, 40, 24, 17 + dim);
        ResidencyConfig config = new ResidencyConfig(capacity, rule, 2, 2048);
        try (ResidencyCache cache = ResidencyCache.create(config)) {
            ShardResidency shard = cache.openShard(1, new ShardGeometry(3, 1, heads, dim), format);
            SelectionBuffer selection = new SelectionBuffer(heads, 64);
            float[] out = new float[heads * dim];
            for (int step = 0; step < 24; step++) {
                int context = 500 + step * 8;
                KvShard.View kv = w.shard.snapshot();
                Queries q = w.queries();
                w.maybeReversion(0.2);
                w.fill(selection, context, 0.25);
                shard.attend(kv, q, selection, w.scale(), out);
                w.check(kv, q, selection, out, rule + " step " + step);
                assertTrue(cache.residentBytes() <= cache.capacityBytes());
            }
            ResidencyStats stats = cache.stats(1, 3);
            assertTrue(stats.hits() > 0, "hits: " + stats);
            assertTrue(stats.extensions() > 0, "extensions: " + stats);
            if (capacity < 1L << 20) {
                assertTrue(stats.evictions() > 0 || stats.bypasses() > 0, "pressure: " + stats);
            }
        } finally {
            w.shard.close();
        }
    }

    @Test
    void noResidencyRuleServesEverythingFromTheHost() {
        int heads = 4;
        int dim = 64;
        UnitWorkload w = new UnitWorkload(700, 500, dim, KvFormat.F16, heads, 40, 24, 5);
        try (ResidencyCache cache = ResidencyCache.create(ResidencyConfig.of(1L << 20, ResidencyRule.NONE))) {
            ShardResidency shard = cache.openShard(1, new ShardGeometry(3, 1, heads, dim), KvFormat.F16);
            SelectionBuffer selection = new SelectionBuffer(heads, 64);
            float[] out = new float[heads * dim];
            for (int step = 0; step < 6; step++) {
                KvShard.View kv = w.shard.snapshot();
                Queries q = w.queries();
                w.fill(selection, 500 + step, 0.25);
                shard.attend(kv, q, selection, w.scale(), out);
                w.check(kv, q, selection, out, "step " + step);
                assertEquals(0, cache.residentBytes());
            }
            ResidencyStats stats = cache.stats(1, 3);
            assertEquals(0, stats.hits());
            assertEquals(0, stats.bytesMoved());
            assertEquals(stats.misses(), stats.bypasses(), stats.toString());
        } finally {
            w.shard.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(ResidencyRule.class)
    void aSelectionTheGroupSharesIsAttendedByEveryHead(ResidencyRule rule) {
        int heads = 4;
        int dim = 64;
        UnitWorkload w = new UnitWorkload(700, 500, dim, KvFormat.F16, 1, 40, 24, 9);
        try (ResidencyCache cache = ResidencyCache.create(ResidencyConfig.of(1L << 20, rule))) {
            ShardResidency shard = cache.openShard(1, new ShardGeometry(3, 1, heads, dim), KvFormat.F16);
            SelectionBuffer selection = new SelectionBuffer(1, 64);
            float[] out = new float[heads * dim];
            float[] expected = new float[heads * dim];
            io.clusterkv.runtime.attention.AttentionScratch scratch = new io.clusterkv.runtime.attention.AttentionScratch();
            java.util.Random r = new java.util.Random(10);
            for (int step = 0; step < 8; step++) {
                KvShard.View kv = w.shard.snapshot();
                float[] qs = new float[heads * dim];
                for (int i = 0; i < qs.length; i++) {
                    qs[i] = (float) r.nextGaussian();
                }
                Queries q = Queries.wrap(qs, heads, dim);
                w.fill(selection, 500 + step, 0.3);
                shard.attend(kv, q, selection, w.scale(), out);
                io.clusterkv.runtime.attention.Attention.shared(kv, q, selection.head(0), w.scale(), expected, scratch);
                for (int i = 0; i < out.length; i++) {
                    assertEquals(expected[i], out[i], 1e-5, rule + " step " + step + " index " + i);
                }
            }
        } finally {
            w.shard.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = ResidencyRule.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void aUnitTruncatedThenExtendedIsServedFromItsCopy(ResidencyRule rule) {
        int dim = 64;
        UnitWorkload w = new UnitWorkload(300, 300, dim, KvFormat.F16, 1, 4, 40, 5);
        int[] unit = w.units[1];
        try (ResidencyCache cache = ResidencyCache.create(new ResidencyConfig(1L << 20, rule, 4, 2048))) {
            ShardResidency shard = cache.openShard(9, new ShardGeometry(0, 0, 1, dim), KvFormat.F16);
            SelectionBuffer selection = new SelectionBuffer(1, 64);
            float[] out = new float[dim];
            int[] prefixes = {3, unit.length, 5, unit.length};
            for (int step = 0; step < prefixes.length; step++) {
                selection.reset(300, 300);
                selection.head(0).beginUnit(1, 0);
                for (int i = 0; i < prefixes[step]; i++) {
                    selection.head(0).add(unit[i]);
                }
                selection.head(0).endUnit();
                Queries q = w.queries();
                shard.attend(w.shard.snapshot(), q, selection, w.scale(), out);
                w.check(w.shard.snapshot(), q, selection, out, "step " + step);
            }
            long rowPair = 2L * dim * KvFormat.F16.bytes();
            // 3 rows, then the other unit.length - 3 (an extension), then two hits
            assertEquals(new ResidencyStats(2, 2, 1, 0, unit.length * rowPair, 0,
                    (long) Math.ceilDiv(unit.length, shard.rowsPerBlock()) * 2048), cache.stats(9));
        } finally {
            w.shard.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = ResidencyRule.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void nothingSelectedWritesZerosAndAWindowAloneNeedsNoUnits(ResidencyRule rule) {
        int dim = 32;
        UnitWorkload w = new UnitWorkload(100, 50, dim, KvFormat.F32, 2, 3, 10, 8);
        try (ResidencyCache cache = ResidencyCache.create(ResidencyConfig.of(1 << 16, rule))) {
            ShardResidency shard = cache.openShard(2, new ShardGeometry(0, 0, 2, dim), KvFormat.F32);
            SelectionBuffer selection = new SelectionBuffer(2, 8);
            float[] out = new float[2 * dim];
            java.util.Arrays.fill(out, 7f);
            selection.reset(8, 100);
            shard.attend(w.shard.snapshot(), w.queries(), selection, w.scale(), out);
            assertArrayEquals(new float[2 * dim], out);

            selection.reset(8, 100);
            selection.attendAll();
            Queries q = w.queries();
            shard.attend(w.shard.snapshot(), q, selection, w.scale(), out);
            w.check(w.shard.snapshot(), q, selection, out, "window only");
            assertEquals(0, cache.stats(2).requests());
        } finally {
            w.shard.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = ResidencyRule.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void badInputIsRejectedBeforeAnythingIsWritten(ResidencyRule rule) {
        int dim = 32;
        UnitWorkload w = new UnitWorkload(100, 80, dim, KvFormat.F32, 2, 3, 10, 8);
        try (ResidencyCache cache = ResidencyCache.create(ResidencyConfig.of(1 << 16, rule))) {
            ShardResidency shard = cache.openShard(2, new ShardGeometry(0, 0, 2, dim), KvFormat.F32);
            SelectionBuffer selection = new SelectionBuffer(2, 8);
            w.fill(selection, 100, 0.5);
            float[] out = new float[2 * dim];
            KvShard.View kv = w.shard.snapshot();
            Queries q = w.queries();

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> shard.attend(kv, q, selection, Float.NaN, out));
            assertTrue(e.getMessage().contains("NaN"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> shard.attend(kv, q, selection, 1f, new float[dim]));
            assertTrue(e.getMessage().contains(String.valueOf(dim)), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> shard.attend(kv, Queries.wrap(new float[3 * dim], 3, dim), selection, 1f, out));
            assertTrue(e.getMessage().contains("3"), e.getMessage());
            try (KvShard other = new KvShard(dim, KvFormat.F16)) {
                e = assertThrows(IllegalArgumentException.class,
                        () -> shard.attend(other.snapshot(), q, selection, 1f, out));
                assertTrue(e.getMessage().contains("F16"), e.getMessage());
            }
            SelectionBuffer tooLong = new SelectionBuffer(2, 8);
            tooLong.reset(8, 100);
            try (KvShard small = new KvShard(dim, KvFormat.F32)) {
                small.appendAll(new float[50 * dim], new float[50 * dim], 50);
                e = assertThrows(IllegalArgumentException.class,
                        () -> shard.attend(small.snapshot(), q, tooLong, 1f, out));
                assertTrue(e.getMessage().contains("100"), e.getMessage());
            }
            assertArrayEquals(new float[2 * dim], out, "nothing written");
            assertEquals(0, cache.stats(2).requests());
            assertEquals(0, cache.residentBytes());
        } finally {
            w.shard.close();
        }
    }
}

package io.clusterkv.runtime.residency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.UniqueElements;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What the device tier counts and keeps: bytes moved, hits and misses; the capacity bound after every
 * step under every rule; exact LRU and exact last-R against models; closing sessions and shards;
 * validation; and no heap allocation per step once warm (LRU, LAST_R).
 *
 * <p>Most tests use units of exactly one block: head dim 64 in F32 is 256 bytes a row, 512 a row
 * pair, so a block of 4096 bytes holds 8 rows, and the workload's units here are 8 positions each.
 */
class ResidencyAccountingTest {

    static final int DIM = 64;
    static final int BLOCK = 4096;
    static final int ROWS = 8; // per unit, per block
    static final long UNIT_BYTES = 2L * ROWS * DIM * 4; // moved per whole unit

    private UnitWorkload w;

    @BeforeEach
    @BeforeProperty
    void workload() {
        w = new UnitWorkload(400, 400, DIM, KvFormat.F32, 2, 30, ROWS, true, 3);
        for (int[] unit : w.units) {
            assertEquals(ROWS, unit.length, "fixture: a unit per block");
        }
    }

    @AfterEach
    @AfterProperty
    void close() {
        w.shard.close();
    }

    /** The units, each of exactly 8 rows. */
    private int[] wholeUnits() {
        return java.util.stream.IntStream.range(0, w.units.length).toArray();
    }

    private void step(ShardResidency shard, SelectionBuffer selection, int... units) {
        w.fillUnits(selection, 400, units);
        Queries q = w.queries();
        float[] out = new float[w.heads * DIM];
        shard.attend(w.shard.snapshot(), q, selection, w.scale(), out);
        w.check(w.shard.snapshot(), q, selection, out, "step");
    }

    private UnitKey key(int unit) {
        return new UnitKey(1, 0, 0, unit, w.versions[unit]);
    }

    @ParameterizedTest
    @EnumSource(value = ResidencyRule.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void bytesMovedAreMissesTimesUnitBytesAndRepeatsHit(ResidencyRule rule) {
        int[] u = wholeUnits();
        try (ResidencyCache cache = ResidencyCache.create(new ResidencyConfig(1 << 20, rule, 3, BLOCK))) {
            ShardResidency shard = cache.openShard(1, new ShardGeometry(0, 0, 2, DIM), KvFormat.F32);
            assertEquals(ROWS, shard.rowsPerBlock());
            SelectionBuffer selection = new SelectionBuffer(2, 64);
            step(shard, selection, u[0], u[1], u[2], u[3], u[4]); // both heads: 5 distinct units
            assertEquals(new ResidencyStats(0, 5, 0, 0, 5 * UNIT_BYTES, 0, 5L * BLOCK), cache.stats(1));
            step(shard, selection, u[0], u[1], u[2], u[3], u[4]);
            assertEquals(new ResidencyStats(5, 5, 0, 0, 5 * UNIT_BYTES, 0, 5L * BLOCK), cache.stats(1));
            step(shard, selection, u[3], u[4], u[5], u[6], u[7]);
            ResidencyStats s = cache.stats(1);
            assertEquals(7, s.hits());
            assertEquals(8, s.misses());
            assertEquals(s.misses() * UNIT_BYTES, s.bytesMoved());
            assertEquals(7.0 / 15, s.hitRate(), 1e-12);
            assertEquals(cache.residentBytes(), s.residentBytes());
            assertEquals(s, cache.stats(1, 0));
            assertEquals(ResidencyStats.EMPTY, cache.stats(1, 1));
            assertEquals(s, cache.stats());
        }
    }

    @ParameterizedTest
    @EnumSource(value = ResidencyRule.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void residentBytesNeverExceedTheCapacity(ResidencyRule rule) {
        UnitWorkload big = new UnitWorkload(900, 700, DIM, KvFormat.F16, 4, 60, 30, 21);
        try (ResidencyCache cache = ResidencyCache.create(new ResidencyConfig(10 * 2048 + 100, rule, 2, 2048))) {
            assertEquals(10 * 2048, cache.capacityBytes());
            ShardResidency a = cache.openShard(5, new ShardGeometry(0, 0, 4, DIM), KvFormat.F16);
            ShardResidency b = cache.openShard(5, new ShardGeometry(1, 0, 4, DIM), KvFormat.F16);
            SelectionBuffer selection = new SelectionBuffer(4, 64);
            float[] out = new float[4 * DIM];
            for (int step = 0; step < 40; step++) {
                for (ShardResidency shard : List.of(a, b)) {
                    big.maybeReversion(0.3);
                    big.fill(selection, 700 + step, 0.15);
                    Queries q = big.queries();
                    shard.attend(big.shard.snapshot(), q, selection, big.scale(), out);
                    big.check(big.shard.snapshot(), q, selection, out, rule + " step " + step);
                    assertTrue(cache.residentBytes() <= cache.capacityBytes(),
                            cache.residentBytes() + " > " + cache.capacityBytes());
                    assertEquals(cache.residentBytes(), cache.stats(5).residentBytes());
                }
            }
            ResidencyStats s = cache.stats(5);
            assertTrue(s.evictions() + s.bypasses() > 0, s.toString());
            assertEquals(s, cache.stats(5, 0).merge(cache.stats(5, 1)));
        } finally {
            big.shard.close();
        }
    }

    /**
     * Steps of 1 to 3 distinct units out of 7, in the order the step lists them; a failure shrinks to
     * the shortest sequence of steps.
     */
    @Property(tries = 50)
    void lruEvictsExactlyTheLeastRecentlyUsed(@ForAll @Size(min = 1, max = 200)
            List<@Size(min = 1, max = 3) @UniqueElements List<@IntRange(max = 6) Integer>> steps) {
        int[] u = wholeUnits();
        int capacity = 4;
        try (ResidencyCache cache = ResidencyCache.create(new ResidencyConfig(capacity * BLOCK, ResidencyRule.LRU, 1,
                BLOCK))) {
            ShardResidency shard = cache.openShard(1, new ShardGeometry(0, 0, 2, DIM), KvFormat.F32);
            SelectionBuffer selection = new SelectionBuffer(2, 64);
            LinkedHashMap<Integer, Boolean> model = new LinkedHashMap<>(16, 0.75f, true);
            long evictions = 0;
            for (int step = 0; step < steps.size(); step++) {
                Set<Integer> units = new LinkedHashSet<>();
                for (int i : steps.get(step)) {
                    units.add(u[i]);
                }
                step(shard, selection, units.stream().mapToInt(Integer::intValue).toArray());
                for (int x : units) { // lookups first, in order
                    model.get(x);
                }
                for (int x : units) { // then the misses, each evicting the oldest unit not in this step
                    if (!model.containsKey(x)) {
                        if (model.size() == capacity) {
                            Integer victim = model.keySet().stream().filter(k -> !units.contains(k)).findFirst()
                                    .orElseThrow();
                            model.remove(victim);
                            evictions++;
                        }
                        model.put(x, true);
                    }
                }
                for (int x = 0; x < w.units.length; x++) {
                    assertEquals(model.containsKey(x), cache.contains(key(x)), "step " + step + ", unit " + x);
                }
            }
            assertEquals(evictions, cache.stats(1).evictions());
        }
    }

    /** Steps of 1 to 4 distinct units out of 10; a failure shrinks to the shortest sequence of steps. */
    @Property(tries = 50)
    void lastRKeepsExactlyTheUnitsOfTheLastRSteps(@ForAll @IntRange(min = 1, max = 3) int r,
            @ForAll @Size(min = 1, max = 60) List<@Size(min = 1, max = 4) Set<@IntRange(max = 9) Integer>> steps) {
        int[] u = wholeUnits();
        try (ResidencyCache cache = ResidencyCache.create(new ResidencyConfig(1 << 20, ResidencyRule.LAST_R, r,
                BLOCK))) {
            ShardResidency shard = cache.openShard(1, new ShardGeometry(0, 0, 2, DIM), KvFormat.F32);
            SelectionBuffer selection = new SelectionBuffer(2, 64);
            Deque<Set<Integer>> last = new ArrayDeque<>();
            for (int step = 0; step < steps.size(); step++) {
                Set<Integer> units = new HashSet<>();
                for (int i : steps.get(step)) {
                    units.add(u[i]);
                }
                step(shard, selection, units.stream().mapToInt(Integer::intValue).toArray());
                last.addLast(units);
                if (last.size() > r) {
                    last.removeFirst();
                }
                Set<Integer> expected = new HashSet<>();
                last.forEach(expected::addAll);
                for (int x = 0; x < w.units.length; x++) {
                    assertEquals(expected.contains(x), cache.contains(key(x)), "R=" + r + " step " + step + " unit " + x);
                }
                assertEquals(expected.size() * (long) BLOCK, cache.residentBytes());
            }
        }
    }

    @Test
    void lastRUnderPressureFallsBackToLeastRecentlySelected() {
        int[] u = wholeUnits();
        try (ResidencyCache cache = ResidencyCache.create(new ResidencyConfig(3 * BLOCK, ResidencyRule.LAST_R, 4,
                BLOCK))) {
            ShardResidency shard = cache.openShard(1, new ShardGeometry(0, 0, 2, DIM), KvFormat.F32);
            SelectionBuffer selection = new SelectionBuffer(2, 64);
            step(shard, selection, u[0]);
            step(shard, selection, u[1]);
            step(shard, selection, u[2]);
            step(shard, selection, u[0]); // u[1] is now the least recently selected
            step(shard, selection, u[3]);
            assertTrue(cache.contains(key(u[0])));
            assertFalse(cache.contains(key(u[1])));
            assertTrue(cache.contains(key(u[2])));
            assertTrue(cache.contains(key(u[3])));
        }
    }

    @ParameterizedTest
    @EnumSource(value = ResidencyRule.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void unitsOfOneStepBeyondTheCapacityAreAttendedFromTheHost(ResidencyRule rule) {
        int[] u = wholeUnits();
        try (ResidencyCache cache = ResidencyCache.create(new ResidencyConfig(3 * BLOCK, rule, 1, BLOCK))) {
            ShardResidency shard = cache.openShard(1, new ShardGeometry(0, 0, 2, DIM), KvFormat.F32);
            SelectionBuffer selection = new SelectionBuffer(2, 64);
            step(shard, selection, u[0], u[1], u[2], u[3], u[4], u[5]); // checks the output
            ResidencyStats s = cache.stats(1);
            assertEquals(6, s.misses());
            assertTrue(s.bypasses() >= 3, s.toString());
            assertEquals((6 - s.bypasses()) * UNIT_BYTES, s.bytesMoved());
            assertTrue(cache.residentBytes() <= 3 * BLOCK);
        }
    }

    @ParameterizedTest
    @EnumSource(value = ResidencyRule.class, names = "NONE", mode = EnumSource.Mode.EXCLUDE)
    void closingASessionFreesItsUnitsAndKeepsTheOthers(ResidencyRule rule) {
        int[] u = wholeUnits();
        try (ResidencyCache cache = ResidencyCache.create(new ResidencyConfig(1 << 20, rule, 8, BLOCK))) {
            ShardResidency a = cache.openShard(1, new ShardGeometry(0, 0, 2, DIM), KvFormat.F32);
            ShardResidency a2 = cache.openShard(1, new ShardGeometry(1, 0, 2, DIM), KvFormat.F32);
            ShardResidency b = cache.openShard(2, new ShardGeometry(0, 0, 2, DIM), KvFormat.F32);
            SelectionBuffer selection = new SelectionBuffer(2, 64);
            step(a, selection, u[0], u[1]);
            step(a2, selection, u[2]);
            step(b, selection, u[0], u[3], u[4]);
            assertEquals(6L * BLOCK, cache.residentBytes());
            assertTrue(cache.contains(new UnitKey(1, 1, 0, u[2], 0)));

            ResidencyStats closed = cache.closeSession(1);
            assertEquals(new ResidencyStats(0, 3, 0, 0, 3 * UNIT_BYTES, 0, 0), closed);
            assertEquals(3L * BLOCK, cache.residentBytes());
            assertFalse(cache.contains(key(u[0])));
            assertFalse(cache.contains(new UnitKey(1, 1, 0, u[2], 0)));
            assertTrue(cache.contains(new UnitKey(2, 0, 0, u[0], 0)));
            assertEquals(ResidencyStats.EMPTY, cache.stats(1));
            assertThrows(IllegalStateException.class, () -> step(a, selection, u[0]));
            step(b, selection, u[0], u[3], u[4]);
            assertEquals(3, cache.stats(2).hits());

            b.close();
            assertEquals(0, cache.residentBytes());
            assertEquals(3, cache.stats(2).hits(), "counters outlive the shard");
            ShardResidency again = cache.openShard(2, new ShardGeometry(0, 0, 2, DIM), KvFormat.F32);
            step(again, selection, u[0]);
            assertEquals(4, cache.stats(2).misses());
        }
    }

    @Test
    void closingTheCacheClosesItsShards() {
        ResidencyCache cache = ResidencyCache.create(ResidencyConfig.of(1 << 20, ResidencyRule.CAFFEINE));
        ShardResidency shard = cache.openShard(1, new ShardGeometry(0, 0, 2, DIM), KvFormat.F32);
        SelectionBuffer selection = new SelectionBuffer(2, 64);
        step(shard, selection, wholeUnits()[0]);
        cache.close();
        cache.close();
        assertThrows(IllegalStateException.class, () -> step(shard, selection, wholeUnits()[0]));
        assertThrows(IllegalStateException.class,
                () -> cache.openShard(1, new ShardGeometry(1, 0, 2, DIM), KvFormat.F32));
    }

    @Test
    void configurationIsValidated() {
        ResidencyConfigException bad = assertThrows(ResidencyConfigException.class,
                () -> ResidencyConfig.of(0, ResidencyRule.LRU));
        assertEquals("clusterkv.residency.capacity", bad.key());
        assertEquals("0", bad.value());
        bad = assertThrows(ResidencyConfigException.class,
                () -> ResidencyConfig.of(1 << 20, ResidencyRule.LAST_R).withLastSteps(0));
        assertEquals("clusterkv.residency.last-r", bad.key());
        assertTrue(bad.getMessage().contains("clusterkv.residency.last-r = 0"), bad.getMessage());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ResidencyConfig.of(-5, ResidencyRule.LRU));
        assertTrue(e.getMessage().contains("-5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ResidencyConfig.of(8191, ResidencyRule.LRU));
        assertTrue(e.getMessage().contains("8191") && e.getMessage().contains("8192"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ResidencyConfig.of(1 << 20, ResidencyRule.LRU).withBlockBytes(3000));
        assertTrue(e.getMessage().contains("3000"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ResidencyConfig.of(Long.MAX_VALUE, ResidencyRule.LRU).withBlockBytes(64));
        assertTrue(e.getMessage().contains("blocks"), e.getMessage());
        assertThrows(NullPointerException.class, () -> ResidencyConfig.of(1 << 20, null));
        assertEquals(1, ResidencyConfig.of(8192, ResidencyRule.LRU).blocks());

        try (ResidencyCache cache = ResidencyCache.create(ResidencyConfig.of(1 << 20, ResidencyRule.LRU)
                .withBlockBytes(1024))) {
            e = assertThrows(IllegalArgumentException.class,
                    () -> cache.openShard(1, new ShardGeometry(0, 0, 1, 256), KvFormat.F32));
            assertTrue(e.getMessage().contains("2048") && e.getMessage().contains("1024"), e.getMessage());
            cache.openShard(1, new ShardGeometry(0, 0, 1, 128), KvFormat.F16);
            IllegalStateException twice = assertThrows(IllegalStateException.class,
                    () -> cache.openShard(1, new ShardGeometry(0, 0, 1, 128), KvFormat.F16));
            assertTrue(twice.getMessage().contains("already open"), twice.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new UnitKey(1, 0, 0, -1, 0));
    }

    /**
     * {@code com.sun.management.ThreadMXBean.getCurrentThreadAllocatedBytes()} bound to the platform
     * bean, or null; looked up reflectively since the module under test does not read
     * {@code java.management} (tests run on the class path).
     */
    private static final MethodHandle ALLOCATED_BYTES = allocatedBytes();

    private static MethodHandle allocatedBytes() {
        try {
            Object bean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean")
                    .invoke(null);
            Class<?> type = Class.forName("com.sun.management.ThreadMXBean");
            return MethodHandles.publicLookup()
                    .findVirtual(type, "getCurrentThreadAllocatedBytes", MethodType.methodType(long.class))
                    .bindTo(bean);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Once warm, the residency work of a step (collecting the units, lookups, inserts with evictions,
     * copies, unpinning, the rule's end of step) allocates nothing on the heap: entries are recycled,
     * no key objects. Measured on {@link ShardResidency#prepare} and {@link ShardResidency#release},
     * which {@code attend} runs around the attention passes, because the attention kernels may
     * themselves allocate while the JIT settles (Vector API fallbacks), far more than any signal here.
     */
    @ParameterizedTest
    @EnumSource(value = ResidencyRule.class, names = {"LRU", "LAST_R"})
    void aWarmStepAllocatesNothing(ResidencyRule rule) throws Throwable {
        assumeTrue(ALLOCATED_BYTES != null, "this JVM does not count allocated bytes per thread");
        int[] u = wholeUnits();
        // 6 blocks for units cycling through 8: every step both hits and misses, evicting
        try (ResidencyCache cache = ResidencyCache.create(new ResidencyConfig(6 * BLOCK, rule, 1, BLOCK))) {
            ShardResidency shard = cache.openShard(1, new ShardGeometry(0, 0, 2, DIM), KvFormat.F32);
            SelectionBuffer[] selections = new SelectionBuffer[8];
            for (int s = 0; s < selections.length; s++) {
                selections[s] = new SelectionBuffer(2, 64);
                w.fillUnits(selections[s], 400, u[s], u[(s + 1) % 8], u[(s + 3) % 8]);
            }
            var kv = w.shard.snapshot();
            long allocated = -1;
            for (int round = 0; round < 20 && allocated != 0; round++) { // until the JIT settles
                for (int i = 0; i < 2000; i++) {
                    shard.prepare(kv, selections[i % 8]);
                    shard.release();
                }
                long before = (long) ALLOCATED_BYTES.invokeExact();
                for (int i = 0; i < 400; i++) {
                    shard.prepare(kv, selections[i % 8]);
                    shard.release();
                }
                allocated = (long) ALLOCATED_BYTES.invokeExact() - before;
            }
            ResidencyStats s = cache.stats(1);
            assertTrue(s.hits() > 0 && s.misses() > 0 && s.evictions() > 0, s.toString());
            assertEquals(0, allocated, "bytes allocated by 400 warm steps");
            Queries q = w.queries();
            float[] out = new float[2 * DIM];
            shard.attend(kv, q, selections[0], w.scale(), out); // and the same steps still attend right
            w.check(kv, q, selections[0], out, "after the warm steps");
        }
    }
}

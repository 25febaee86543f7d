package io.clusterkv.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.runtime.residency.ResidencyConfig;
import io.clusterkv.runtime.residency.ResidencyRule;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Reading {@link RuntimeSettings}: the reference's defaults, and every bad value named by key and value as written. */
@ExtendWith(LogCapturingExtension.class)
class RuntimeSettingsTest {

    private static RuntimeSettings read(Map<String, Object> overrides) {
        return RuntimeSettings.from(ConfigFactory.parseMap(overrides).withFallback(ConfigFactory.load()).resolve());
    }

    /** Found by ConfigFuzzTest: a section holding a value escaped as Typesafe Config's ConfigException.WrongType. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "clusterkv.runtime = 5|clusterkv.runtime|5",
            "clusterkv.residency = [1, 2]|clusterkv.residency|1"})
    void aSectionHoldingAValueIsNamed(String text, String key, String written) {
        ConfigValueException e = assertThrows(ConfigValueException.class, () -> RuntimeSettings.from(
                ConfigFactory.parseString(text).withFallback(ConfigFactory.load()).resolve()));
        assertEquals(key, e.key());
        assertTrue(e.getMessage().contains(written) && e.getMessage().contains("a section"), e.getMessage());
    }

    @Test
    void theReferenceGivesTheDocumentedDefaults() {
        RuntimeSettings s = read(Map.of());
        assertEquals("clusterkv", s.policy());
        assertEquals(1024, s.budget());
        assertEquals(2, s.denseLayers());
        assertEquals(KvFormat.F16, s.kvFormat());
        assertEquals(Runtime.getRuntime().availableProcessors(), s.computeThreads(), "0 = one per processor");
        assertFalse(s.synchronousMaintenance());
        assertEquals(42, s.seed());
        assertEquals(SelectionScope.HEAD, s.selectionScope());
        assertEquals(0.25, s.exactCoverage());
        assertEquals(java.time.Duration.ofMinutes(5), s.stepTimeout());
        assertEquals(java.time.Duration.ofNanos(200_000), s.computeSpin());
        assertEquals(io.clusterkv.runtime.tensor.ComputePool.DEFAULT_SPIN, s.computeSpin(),
                "the tools' own pools spin as the runtime's");
        assertEquals(4 * 1024 * 4, s.exactUpTo(4), "4 heads of 1024 positions cover a quarter of 16384");
        assertEquals(8192, read(Map.of("clusterkv.runtime.selection-scope", "group", "clusterkv.runtime.exact-coverage",
                0.125)).exactUpTo(4), "one shared selection of 1024 positions covers 1/8 of 8192");
        assertEquals(new ResidencyConfig(256L << 20, ResidencyRule.LRU, 1, 8192), s.residency());
        assertEquals(ResidencyConfig.of(256L << 20, ResidencyRule.LRU), s.residency(),
                "the residency record's defaults are the reference's");
        RuntimeSettings set = read(Map.of("clusterkv.runtime.kv-format", "F32", "clusterkv.residency.policy", "last-r",
                "clusterkv.residency.last-r", 3, "clusterkv.runtime.synchronous-maintenance", "on"));
        assertEquals(KvFormat.F32, set.kvFormat());
        assertEquals(new ResidencyConfig(256L << 20, ResidencyRule.LAST_R, 3, 8192), set.residency());
        assertTrue(set.synchronousMaintenance());
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource({
            "clusterkv.runtime.budget, 0, an integer >= 1",
            "clusterkv.runtime.budget, many, an integer",
            "clusterkv.runtime.dense-layers, -1, an integer >= 0",
            "clusterkv.runtime.compute-threads, -2, an integer >= 0 (0 = one per processor)",
            "clusterkv.runtime.max-outstanding-maintenance, 0, an integer >= 1",
            "clusterkv.runtime.max-policy-failures, -1, an integer >= 0",
            "clusterkv.runtime.step-timeout, 0s, 'a duration > 0, e.g. 5m'",
            "clusterkv.runtime.compute-spin, -1ms, 'a duration >= 0, e.g. 200us'",
            "clusterkv.runtime.compute-spin, busy, a duration such as 30s or 5m",
            "clusterkv.runtime.step-timeout, soon, a duration such as 30s or 5m",
            "clusterkv.runtime.synchronous-maintenance, maybe, true or false",
            "clusterkv.runtime.seed, twelve, an integer",
            "clusterkv.runtime.kv-format, f8, f32 or f16",
            "clusterkv.residency.policy, mru, 'none, caffeine, lru or last-r'",
            "clusterkv.runtime.selection-scope, heads, head or group",
            "clusterkv.runtime.exact-coverage, 0, 'a number in (0, 1]'",
            "clusterkv.runtime.exact-coverage, 1.5, 'a number in (0, 1]'",
            "clusterkv.runtime.exact-coverage, most, a number",
            "clusterkv.residency.capacity, lots, a size such as 256MiB or 1GiB",
            "clusterkv.residency.capacity, 4KiB, at least one block of clusterkv.residency.block-bytes = 8192 bytes (the smallest residency unit)",
            "clusterkv.residency.last-r, 0, an integer >= 1",
            "clusterkv.residency.block-bytes, 3000, a power of two from 64 bytes to 1GiB",
            "clusterkv.residency.block-bytes, 4GiB, a power of two from 64 bytes to 1GiB",
            "clusterkv.residency.block-bytes, 32, a power of two from 64 bytes to 1GiB"})
    void aBadValueNamesItsKeyTheValueAsWrittenAndTheExpectation(String key, String value, String expected) {
        ConfigValueException e = assertThrows(ConfigValueException.class, () -> read(Map.of(key, value)));
        assertEquals(key, e.key());
        assertEquals(value, e.value());
        assertEquals(expected, e.expected());
        assertEquals(key + " = " + value + ": expected " + expected, e.getMessage());
    }

    @Test
    void sessionOptionsCannotCarryResidencyKeysHoweverMade() {
        ConfigValueException e = assertThrows(ConfigValueException.class, () -> new SessionOptions(Optional.empty(),
                OptionalInt.empty(), Map.of("clusterkv.residency.capacity", "1GiB")));
        assertEquals("clusterkv.residency.capacity", e.key());
        assertThrows(ConfigValueException.class, () -> SessionOptions.builder().set("clusterkv.residency.policy", "lru"));
    }
}

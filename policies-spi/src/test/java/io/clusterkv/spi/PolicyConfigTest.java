package io.clusterkv.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyConfigTest {

    private static final List<ConfigKey> KEYS = List.of(
            new ConfigKey("page-size", "16", "positions per page"),
            new ConfigKey("ratio", "0.5", "a fraction"),
            new ConfigKey("init", "random", "random or k-means-plus-plus"),
            new ConfigKey("early-stop", "false", "stop when no label changes"));

    enum Init { RANDOM, K_MEANS_PLUS_PLUS }

    @Test
    void defaultsAndOverrides() {
        PolicyConfig c = PolicyConfig.of("quest", KEYS, Map.of("page-size", "32", "init", "k-means-plus-plus"));
        assertEquals(32, c.getInt("page-size", 1, Integer.MAX_VALUE));
        assertEquals(0.5, c.getDouble("ratio", 0, 1));
        assertEquals(Init.K_MEANS_PLUS_PLUS, c.getEnum("init", Init.class));
        assertEquals(false, c.getBoolean("early-stop"));
    }

    @Test
    void unknownOverrideNamesKeyAndListsDeclared() {
        PolicyConfigException e = assertThrows(PolicyConfigException.class,
                () -> PolicyConfig.of("quest", KEYS, Map.of("pagesize", "32")));
        assertEquals("clusterkv.policy.quest.pagesize", e.key());
        assertTrue(e.getMessage().contains("page-size"), e.getMessage());
    }

    @Test
    void outOfRangeNamesKeyValueAndExpectation() {
        PolicyConfig c = PolicyConfig.of("quest", KEYS, Map.of("page-size", "0"));
        PolicyConfigException e = assertThrows(PolicyConfigException.class, () -> c.getInt("page-size", 1, Integer.MAX_VALUE));
        assertEquals("bad config value clusterkv.policy.quest.page-size = '0': expected an integer >= 1", e.getMessage());
        assertEquals("0", e.value());
    }

    @Test
    void malformedValues() {
        PolicyConfig c = PolicyConfig.of("p", KEYS, Map.of("page-size", "sixteen", "ratio", "NaN", "init", "best",
                "early-stop", "maybe"));
        assertThrows(PolicyConfigException.class, () -> c.getInt("page-size", 1, 100));
        assertThrows(PolicyConfigException.class, () -> c.getDouble("ratio", 0, 1));
        PolicyConfigException e = assertThrows(PolicyConfigException.class, () -> c.getEnum("init", Init.class));
        assertTrue(e.getMessage().contains("[random, k-means-plus-plus]"), e.getMessage());
        assertThrows(PolicyConfigException.class, () -> c.getBoolean("early-stop"));
        assertThrows(PolicyConfigException.class, () -> c.getString("undeclared"));
    }

    @Test
    void contextRejectsNonPositiveBudget() {
        PolicyConfig c = PolicyConfig.of("p", KEYS, Map.of());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new PolicyContext(new ShardGeometry(0, 0, 1, 8), 0, c, 1));
        assertTrue(e.getMessage().contains("was 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ShardGeometry(0, 0, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> new ShardGeometry(0, 0, 1, -3));
    }

    @Test
    void presetDefaultsFillOnlyTheKeysLeftUnset() {
        PolicyConfig c = PolicyConfig.of("p", KEYS, Map.of("page-size", "32"));
        assertTrue(c.isSet("page-size"));
        assertTrue(!c.isSet("ratio"));
        PolicyConfig preset = c.withDefaults(Map.of("page-size", "8", "ratio", "0.25"));
        assertEquals(32, preset.getInt("page-size", 1, 100), "an explicit key wins over the preset");
        assertEquals(0.25, preset.getDouble("ratio", 0, 1), "the preset fills a key left unset");
        assertEquals("random", preset.getString("init"), "a key the preset leaves alone keeps its default");
        assertTrue(preset.isSet("page-size") && !preset.isSet("ratio"), "preset values are not the application's");
        PolicyConfigException e = assertThrows(PolicyConfigException.class, () -> c.withDefaults(Map.of("nope", "1")));
        assertEquals("clusterkv.policy.p.nope", e.key());
    }
}

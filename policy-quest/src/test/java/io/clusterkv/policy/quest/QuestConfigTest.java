package io.clusterkv.policy.quest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyConfigException;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.ShardGeometry;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Registration, declared keys, and bad values failing at creation with the full key and the value. */
class QuestConfigTest {

    private static final String FULL_KEY = "clusterkv.policy.quest.page-size";
    private final RecallPolicyProvider provider = new QuestPolicy.Provider();

    private static PolicyContext context(RecallPolicyProvider p, int budget, Map<String, String> overrides) {
        return new PolicyContext(new ShardGeometry(0, 0, 2, 32), budget,
                PolicyConfig.of(p.name(), p.configKeys(), overrides), 1L);
    }

    @Test
    void foundByServiceLoaderAsQuest() {
        List<RecallPolicyProvider> found = ServiceLoader.load(RecallPolicyProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(p -> p.name().equals("quest")).toList();
        assertEquals(1, found.size(), "providers named quest");
        assertInstanceOf(QuestPolicy.Provider.class, found.get(0));
    }

    @Test
    void declaresPageSizeSixteenAndTopPOff() {
        assertEquals(List.of("page-size", "top-p"), provider.configKeys().stream().map(ConfigKey::name).toList());
        assertEquals("16", provider.configKeys().get(0).defaultValue());
        assertEquals("0", provider.configKeys().get(1).defaultValue());
        assertEquals(16, ((QuestPolicy) provider.create(context(provider, 16, Map.of()))).bounds().pageSize());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-3", "sixteen", "1.5", "65537", "99999999999"})
    void pageSizeOutOfRangeNamesKeyAndValue(String value) {
        var e = assertThrows(PolicyConfigException.class,
                () -> provider.create(context(provider, 1 << 20, Map.of("page-size", value))));
        assertEquals(FULL_KEY, e.key());
        assertEquals(value, e.value());
        assertTrue(e.getMessage().contains(FULL_KEY) && e.getMessage().contains("'" + value + "'"), e.getMessage());
    }

    @Test
    void pageSizeLargerThanBudgetNamesKeyValueAndBudget() {
        var e = assertThrows(PolicyConfigException.class,
                () -> provider.create(context(provider, 16, Map.of("page-size", "32"))));
        assertEquals(FULL_KEY, e.key());
        assertEquals("32", e.value());
        assertTrue(e.getMessage().contains(FULL_KEY) && e.getMessage().contains("'32'")
                && e.getMessage().contains("budget of 16"), e.getMessage());
    }

    @Test
    void pageSizeUpToTheBudgetIsAccepted() {
        provider.create(context(provider, 16, Map.of("page-size", "16"))).close();
        provider.create(context(provider, 17, Map.of("page-size", "17"))).close();
        provider.create(context(provider, 100, Map.of("page-size", "1"))).close();
    }
}

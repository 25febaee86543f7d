package io.clusterkv.policy.quest;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.conformance.PolicyConfigChecks;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzz target of quest's configuration section: up to four overrides (declared keys or any text, any
 * values), any budget and shard shape, through {@link PolicyConfigChecks#createOrRefuse}: a policy or a
 * {@link io.clusterkv.spi.PolicyConfigException} naming a key of {@code clusterkv.policy.quest}, within
 * 5 seconds. Corpus: {@code src/test/resources/io/clusterkv/policy/quest/QuestConfigFuzzTestInputs/}; long runs:
 * {@code docs/FUZZING.md}.
 */
class QuestConfigFuzzTest {

    private static final RecallPolicyProvider PROVIDER = new QuestPolicy.Provider();
    private static final List<String> KEYS = PROVIDER.configKeys().stream().map(ConfigKey::name).toList();

    @FuzzTest(maxDuration = "30s")
    @Timeout(value = 5, unit = TimeUnit.SECONDS)
    void overrides(FuzzedDataProvider data) {
        Map<String, String> overrides = new LinkedHashMap<>();
        int n = data.consumeInt(0, 4);
        for (int i = 0; i < n; i++) {
            String key = data.consumeBoolean() ? data.consumeString(16) : data.pickValue(KEYS);
            overrides.put(key, data.consumeString(24));
        }
        int budget = data.consumeInt(1, 1 << 16);
        ShardGeometry geometry = new ShardGeometry(0, 0, data.consumeInt(1, 8), 2 * data.consumeInt(1, 64));
        RecallPolicy policy = PolicyConfigChecks.createOrRefuse(PROVIDER, overrides, budget, geometry);
        if (policy != null) {
            policy.close();
        }
    }
}

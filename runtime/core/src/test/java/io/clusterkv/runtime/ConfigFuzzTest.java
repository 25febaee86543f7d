package io.clusterkv.runtime;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.model.fixtures.FuzzInputs;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.UnknownPolicyException;
import io.clusterkv.runtime.residency.ResidencyConfig;
import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyConfigException;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.ShardGeometry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzz target of the configuration: any text over the runtime's {@code reference.conf} ends, in
 * {@link RuntimeSettings#from} and in each policy's section ({@link ConfigReader#policySection}, then
 * {@link RecallPolicyProvider#create}), in valid settings and a policy, or in a typed error naming the key:
 * {@link ConfigValueException}, {@link PolicyConfigException} or {@link UnknownPolicyException}. Only
 * parsing and resolving the text itself may fail with Typesafe Config's own {@link ConfigException} (a
 * syntax error or an unresolved substitution: the text is not a configuration). Each input within
 * 5 seconds and {@link FuzzInputs}' memory bound. Corpus:
 * {@code src/test/resources/io/clusterkv/runtime/ConfigFuzzTestInputs/}.
 */
class ConfigFuzzTest {

    private static final Config REFERENCE = ConfigFactory.defaultReference().withOnlyPath("clusterkv");
    private static final PolicyRegistry POLICIES = PolicyRegistry.load();
    /** Every key the runtime reads, for the key = value half of the inputs. */
    private static final List<String> KEYS = new ArrayList<>();

    static {
        RuntimeSettings.KEYS.forEach(k -> KEYS.add("clusterkv.runtime." + k));
        ResidencyConfig.KEYS.forEach(k -> KEYS.add("clusterkv.residency." + k));
        for (RecallPolicyProvider p : POLICIES.providers().values()) {
            for (ConfigKey k : p.configKeys()) {
                KEYS.add(PolicyConfig.ROOT + p.name() + "." + k.name());
            }
        }
        KEYS.add("clusterkv.runtime");
        KEYS.add("clusterkv.policy");
        KEYS.add("clusterkv");
    }

    /**
     * The first byte picks the form: raw HOCON text, or lines {@code key = value} whose keys are the
     * runtime's (or a misspelling), whose values are fuzzed text.
     */
    @FuzzTest(maxDuration = "30s")
    @Timeout(value = 5, unit = TimeUnit.SECONDS)
    void configuration(FuzzedDataProvider data) throws Exception {
        String text;
        if (data.consumeBoolean()) {
            text = data.consumeRemainingAsString();
        } else {
            StringBuilder sb = new StringBuilder();
            int lines = data.consumeInt(1, 4);
            for (int i = 0; i < lines; i++) {
                String key = data.pickValue(KEYS);
                if (data.consumeBoolean()) {
                    key = key + data.consumeString(4); // a misspelling, or a path below a value
                }
                sb.append(key).append(" = ").append(data.consumeString(40)).append('\n');
            }
            text = sb.toString();
        }
        FuzzInputs.boundedAllocation(2L * text.length(), () -> {
            readAll(text);
            return null;
        });
    }

    private static void readAll(String text) {
        Config config;
        try {
            config = ConfigFactory.parseString(text).withFallback(REFERENCE).resolve();
        } catch (ConfigException notAConfiguration) {
            return;
        }
        RuntimeSettings settings;
        try {
            settings = RuntimeSettings.from(config);
        } catch (ConfigValueException expected) {
            assertNotNull(expected.key());
            return;
        }
        assertTrue(settings.budget() >= 1 && settings.computeThreads() >= 1);
        ConfigReader reader = new ConfigReader(config);
        for (RecallPolicyProvider provider : POLICIES.providers().values()) {
            try {
                Map<String, String> section = reader.policySection(provider);
                RecallPolicy policy = POLICIES.create(provider.name(), new ShardGeometry(2, 0, 2, 16),
                        settings.budget(), section, settings.seed());
                assertNotNull(policy);
            } catch (ConfigValueException | PolicyConfigException expected) {
                // a bad value of this policy's section, named
            }
        }
        try {
            POLICIES.provider(settings.policy());
        } catch (UnknownPolicyException expected) {
            // the message lists the known ones
        }
    }
}

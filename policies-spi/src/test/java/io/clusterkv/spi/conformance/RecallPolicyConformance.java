package io.clusterkv.spi.conformance;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.ShardGeometry;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The conformance kit: extend it in your plugin's tests, return your provider, and every contract of
 * {@link io.clusterkv.spi.RecallPolicy} is checked against it.
 *
 * <pre>{@code
 * class MyPolicyConformanceTest extends RecallPolicyConformance {
 *     @Override protected RecallPolicyProvider provider() { return new MyPolicy.Provider(); }
 * }
 * }</pre>
 *
 * Depend on it with {@code <artifactId>policies-spi</artifactId><type>test-jar</type><scope>test</scope>}.
 *
 * <p>What it checks, each at several budgets and at every step of a prompt-then-decode run: at most
 * {@code budget} explicit positions per query head; positions in range, unique, outside the window;
 * declared always-attended positions present; a context not larger than the budget attended whole;
 * unit (id, version) pairs naming one fixed list; the same inputs and seed giving the same selection;
 * all of it still holding when maintenance results are applied late, or never; and {@code select}
 * allocating nothing in steady state (less than {@link #ALLOCATION_SLACK_BYTES} over a round of
 * {@link PolicyDriver#SELECTS_PER_ROUND} calls, once the JIT has warmed up; see
 * {@link PolicyDriver#selectAllocation}: a policy that allocates takes a few seconds to fail).
 */
public abstract class RecallPolicyConformance {

    /** Bytes a round of steady-state selects may allocate: less than one per call, for JIT noise. */
    public static final long ALLOCATION_SLACK_BYTES = 1024;

    /** For the plugin's test class. */
    protected RecallPolicyConformance() {
    }

    /** @return the provider under test */
    protected abstract RecallPolicyProvider provider();

    /** @return overrides of the policy's config section for every run; none by default */
    protected Map<String, String> config() {
        return Map.of();
    }

    /** @return the shard geometry used: two query heads of dimension 32 by default */
    protected ShardGeometry geometry() {
        return new ShardGeometry(2, 1, 2, 32);
    }

    /** @return budgets to test */
    protected int[] budgets() {
        return new int[] {16, 64, 256};
    }

    /** @return prompt length of the long runs */
    protected int promptLength() {
        return 700;
    }

    /** @return decode steps of the long runs */
    protected int steps() {
        return 120;
    }

    private PolicyDriver driver(long seed) {
        return new PolicyDriver(provider(), geometry(), config(), seed);
    }

    @Test
    void providerDescribesItself() {
        RecallPolicyProvider p = provider();
        assertNotNull(p.name(), "name()");
        assertTrue(p.name().matches("[a-z0-9][a-z0-9-]*"), "name '" + p.name() + "' must be lower case letters, digits, '-'");
        assertNotNull(p.description(), "description()");
        assertFalse(p.description().isBlank(), "description() must not be blank");
        assertFalse(p.description().contains("\n"), "description() must be one line");
        List<ConfigKey> keys = p.configKeys();
        assertEquals(keys.size(), keys.stream().map(ConfigKey::name).distinct().count(), "config keys must be unique");
        PolicyContext ctx = new PolicyContext(geometry(), budgets()[0], PolicyConfig.defaults(p), 1L);
        assertDoesNotThrow(() -> p.create(ctx).close(), "create() with the declared defaults");
    }

    @Test
    void selectionsAreValidAtEveryBudget() {
        for (int budget : budgets()) {
            driver(7).run(promptLength(), steps(), budget, 0);
        }
    }

    @Test
    void contextNotLargerThanBudgetSelectsEverything() {
        for (int budget : budgets()) {
            for (int prompt : new int[] {1, 2, budget / 2, budget - 1}) {
                if (prompt >= 1) {
                    // the checks assert full coverage at every step where context <= budget
                    driver(11).run(prompt, Math.max(0, budget - prompt), budget, 0);
                }
            }
        }
    }

    @Test
    void sameInputGivesSameSelection() {
        int budget = budgets()[budgets().length / 2];
        var first = driver(42).run(promptLength(), steps(), budget, 3);
        var second = driver(42).run(promptLength(), steps(), budget, 3);
        assertEquals(first.size(), second.size());
        for (int i = 0; i < first.size(); i++) {
            var a = first.get(i);
            var b = second.get(i);
            assertTrue(Arrays.equals(a.positions(), b.positions()) && a.windowStart() == b.windowStart(),
                    "step " + a.step() + " head " + a.head() + " differs between two identical runs");
        }
    }

    @Test
    void lateMaintenanceStillGivesValidSelections() {
        for (int budget : budgets()) {
            driver(5).run(promptLength(), steps(), budget, 17);
            driver(5).run(promptLength(), steps(), budget, Integer.MAX_VALUE);
        }
    }

    @Test
    void selectAllocatesNothingInSteadyState() {
        assumeTrue(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean bean
                && bean.isThreadAllocatedMemorySupported(), "this JVM cannot count the bytes a thread allocates");
        for (int budget : budgets()) {
            long bytes = driver(13).selectAllocation(promptLength(), Math.min(steps(), 64), budget,
                    ALLOCATION_SLACK_BYTES);
            if (bytes >= ALLOCATION_SLACK_BYTES) {
                throw new AssertionError(provider().name() + " budget=" + budget + ": select allocated " + bytes
                        + " bytes or more in every round of " + PolicyDriver.SELECTS_PER_ROUND + " steady-state calls"
                        + " until the JIT was idle (about " + bytes / PolicyDriver.SELECTS_PER_ROUND + " per call);"
                        + " keep scratch buffers in fields, grown when the context or budget grows");
            }
        }
    }
}

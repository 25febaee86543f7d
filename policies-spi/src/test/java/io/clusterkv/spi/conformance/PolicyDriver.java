package io.clusterkv.spi.conformance;

import io.clusterkv.spi.HeadSelection;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.Selection;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.driver.ShardPolicyDriver;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Drives one policy instance the way the runtime does, through the runtime's own
 * {@link ShardPolicyDriver} (prompt, then append / maintenance / select at every step), checks every
 * selection with {@link ConformanceChecks}, and records them. Whatever the policy throws propagates.
 *
 * <p>Maintenance is run synchronously but applied {@code applyDelay} steps after it was handed out
 * ({@code 0}: at once; {@link Integer#MAX_VALUE}: never), to show that selections stay valid
 * whatever the timing.
 */
public final class PolicyDriver {

    /** One step's selection of one head, as recorded. */
    public record Recorded(int step, int head, int[] positions, int windowStart) {
    }

    private final RecallPolicyProvider provider;
    private final ShardGeometry geometry;
    private final Map<String, String> config;
    private final long seed;

    /**
     * @param provider the provider under test
     * @param geometry the shard geometry
     * @param config   overrides of the policy's config section
     * @param seed     the policy seed
     */
    public PolicyDriver(RecallPolicyProvider provider, ShardGeometry geometry, Map<String, String> config, long seed) {
        this.provider = provider;
        this.geometry = geometry;
        this.config = config;
        this.seed = seed;
    }

    /**
     * Runs a prompt of {@code promptLength} positions and {@code steps} decode steps.
     *
     * @param promptLength positions written before the first step, {@code >= 1}
     * @param steps        decode steps
     * @param budget       the budget, for the context and every step
     * @param applyDelay   steps between handing out maintenance and applying its result
     * @return every recorded selection
     * @throws AssertionError if a selection breaks the contract
     */
    public List<Recorded> run(int promptLength, int steps, int budget, int applyDelay) {
        ConformanceWorkload w = new ConformanceWorkload(promptLength + steps, geometry.queryHeads(), geometry.headDim(),
                seed ^ 0x5DEECE66DL);
        var keys = w.keys(promptLength);
        PolicyContext ctx = new PolicyContext(geometry, budget,
                PolicyConfig.of(provider.name(), provider.configKeys(), config), seed);
        List<Recorded> out = new ArrayList<>();
        float[] q = new float[geometry.queryHeads() * geometry.headDim()];
        Queries queries = Queries.wrap(q, geometry.queryHeads(), geometry.headDim());
        Selection sel = new Selection(geometry.queryHeads(), budget);
        ConformanceChecks.UnitLedger ledger = new ConformanceChecks.UnitLedger();
        try (ShardPolicyDriver driver = new ShardPolicyDriver(provider.create(ctx),
                new ShardPolicyDriver.Maintenance.Lagged(applyDelay), ShardPolicyDriver.Events.RETHROW)) {
            RecallPolicy policy = driver.policy();
            driver.prompt(keys);
            for (int step = 0; step <= steps; step++) {
                if (step > 0) {
                    keys.grow();
                    driver.append(keys.size() - 1, keys);
                }
                driver.maintain(keys);
                w.queriesAt(keys.size() - 1, q);
                driver.select(queries, keys, budget, sel);
                String where = provider.name() + " budget=" + budget + " step=" + step + " context=" + keys.size();
                ConformanceChecks.check(sel, policy.alwaysAttended(keys.size(), budget), ledger, where);
                for (int h = 0; h < sel.heads(); h++) {
                    HeadSelection hs = sel.head(h);
                    out.add(new Recorded(step, h, hs.sortedPositions(), hs.windowStart()));
                }
            }
        }
        return out;
    }
}

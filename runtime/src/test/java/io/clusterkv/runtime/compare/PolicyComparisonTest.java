package io.clusterkv.runtime.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.policy.OraclePolicy;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.StreamingPolicy;
import io.clusterkv.runtime.policy.FullPolicy;
import io.clusterkv.runtime.policy.UnknownPolicyException;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyComparisonTest {

    private static final WorkloadParams SMALL = WorkloadParams.defaults().withPromptLength(1500).withSteps(6).withHeadDim(64);

    /** Throws from select, as a buggy plugin would. */
    static final class Throwing implements RecallPolicyProvider {
        @Override public String name() { return "throwing"; }
        @Override public String description() { return "throws"; }
        @Override public RecallPolicy create(PolicyContext context) {
            return (q, keys, budget, out) -> { throw new IllegalStateException("plugin bug"); };
        }
    }

    private static ComparisonResult.Row row(ComparisonResult r, String policy, int budget) {
        return r.rows().stream().filter(x -> x.policy().equals(policy) && x.budget() == budget).findFirst().orElseThrow();
    }

    @Test
    void fullIsExactAndOracleHasTheBestTopBRecall() {
        PolicyRegistry registry = PolicyRegistry.of(List.of(new FullPolicy.Provider(), new StreamingPolicy.Provider(),
                new OraclePolicy.Provider(), new Throwing()));
        ComparisonSpec spec = new ComparisonSpec(SMALL, 2, List.of(32, 128, 2000), List.of(), Map.of(), 0);
        ComparisonResult r = PolicyComparison.run(spec, registry, f -> { });
        for (int budget : spec.budgets()) {
            var full = row(r, "full", budget).quality();
            assertEquals(1.0, full.topBudgetRecall().min());
            assertEquals(1.0, full.attentionMass().min(), 1e-12);
            assertEquals(0.0, full.outputError().max(), 1e-12);
            var oracle = row(r, "oracle", budget).quality();
            var streaming = row(r, "streaming", budget).quality();
            assertEquals(1.0, oracle.topBudgetRecall().min(), "oracle selects the top-B by construction");
            assertTrue(oracle.topBudgetRecall().mean() >= streaming.topBudgetRecall().mean());
            assertTrue(oracle.attentionMass().mean() >= streaming.attentionMass().mean() - 1e-12);
        }
        // a budget not smaller than the context matches full for every policy
        for (String p : List.of("oracle", "streaming")) {
            var q = row(r, p, 2000).quality();
            assertEquals(1.0, q.attentionMass().min(), 1e-12, p);
            assertEquals(0.0, q.outputError().max(), 1e-12, p);
        }
        assertEquals(3, r.failures().size(), r.failures().toString());
        assertTrue(r.failures().get(0).message().contains("plugin bug"));
        assertTrue(r.toTable().contains("FAILED"), r.toTable());
    }

    @Test
    void unknownPolicyAndBadBudgetAreRejected() {
        PolicyRegistry registry = PolicyRegistry.load();
        assertThrows(UnknownPolicyException.class, () -> PolicyComparison.run(
                new ComparisonSpec(SMALL, 1, List.of(8), List.of("nope"), Map.of(), 0), registry, f -> { }));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ComparisonSpec(SMALL, 1, List.of(64, 0), List.of(), Map.of(), 0));
        assertTrue(e.getMessage().contains("was 0"), e.getMessage());
    }
}

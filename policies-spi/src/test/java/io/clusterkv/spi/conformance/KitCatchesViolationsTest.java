package io.clusterkv.spi.conformance;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.Selection;
import io.clusterkv.spi.ShardGeometry;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The kit must fail policies that break the contract; each case here breaks one rule. */
class KitCatchesViolationsTest {

    private static RecallPolicyProvider provider(Supplier<RecallPolicy> factory) {
        return new RecallPolicyProvider() {
            @Override public String name() { return "broken"; }
            @Override public String description() { return "breaks a rule"; }
            @Override public RecallPolicy create(PolicyContext context) { return factory.get(); }
        };
    }

    private static AssertionError failure(Supplier<RecallPolicy> factory, int applyDelay) {
        var driver = new PolicyDriver(provider(factory), new ShardGeometry(0, 0, 2, 16), Map.of(), 1);
        return assertThrows(AssertionError.class, () -> driver.run(100, 20, 32, applyDelay));
    }

    @Test
    void duplicatePosition() {
        AssertionError e = failure(() -> (q, keys, budget, out) -> {
            for (int h = 0; h < out.heads(); h++) {
                out.head(h).add(keys.size() - 1);
                out.head(h).add(keys.size() - 1);
            }
        }, 0);
        assertTrue(e.getMessage().contains("selected twice"), e.getMessage());
    }

    @Test
    void smallContextNotFullyAttended() {
        var driver = new PolicyDriver(provider(() -> (q, keys, budget, out) -> {
            for (int h = 0; h < out.heads(); h++) {
                out.head(h).add(keys.size() - 1);
            }
        }), new ShardGeometry(0, 0, 1, 16), Map.of(), 1);
        AssertionError e = assertThrows(AssertionError.class, () -> driver.run(5, 3, 32, 0));
        assertTrue(e.getMessage().contains("fits the budget"), e.getMessage());
    }

    @Test
    void unitChangesMembershipWithoutNewVersion() {
        AssertionError e = failure(() -> (q, keys, budget, out) -> {
            int n = keys.size();
            for (int h = 0; h < out.heads(); h++) {
                out.head(h).addRange(0, 0, Math.max(0, n - budget), n); // a sliding window under one version
            }
        }, 0);
        assertTrue(e.getMessage().contains("without a new version"), e.getMessage());
    }

    @Test
    void positionInsideWindow() {
        AssertionError e = failure(() -> (q, keys, budget, out) -> {
            for (int h = 0; h < out.heads(); h++) {
                out.head(h).add(keys.size() - 1);
                out.head(h).attendFrom(keys.size() - 2);
            }
        }, 0);
        assertTrue(e.getMessage().contains("inside the window"), e.getMessage());
    }

    /** Selects nothing until its maintenance is applied: fine when applied at once, caught when late. */
    static final class NeedsMaintenance implements RecallPolicy {
        private boolean indexed;
        private boolean handedOut;

        @Override
        public Optional<MaintenanceTask<?>> pollMaintenance(KeyView snapshot) {
            if (handedOut) {
                return Optional.empty();
            }
            handedOut = true;
            return Optional.of(new MaintenanceTask<Boolean>() {
                @Override public String description() { return "index"; }
                @Override public Boolean compute() { return true; }
                @Override public void apply(Boolean result) { indexed = result; }
            });
        }

        @Override
        public void select(Queries queries, KeyView keys, int budget, Selection out) {
            int n = keys.size();
            for (int h = 0; h < out.heads(); h++) {
                out.head(h).addPages(0, 16, indexed ? Math.max(0, n - budget) : n - 1, n);
            }
        }

        @Override
        public int[] alwaysAttended(int contextSize, int budget) {
            return new int[] {0};
        }
    }

    @Test
    void selectionThatDependsOnMaintenanceTiming() {
        var driver = new PolicyDriver(provider(NeedsMaintenance::new), new ShardGeometry(0, 0, 1, 16), Map.of(), 1);
        driver.run(10, 5, 32, 0); // applied at once: valid
        assertThrows(AssertionError.class, () -> driver.run(10, 5, 32, 17));
    }

    @Test
    void nonDeterministicSelection() {
        RecallPolicyConformance kit = new RecallPolicyConformance() {
            @Override
            protected RecallPolicyProvider provider() {
                return KitCatchesViolationsTest.provider(() -> (q, keys, budget, out) -> {
                    int n = keys.size();
                    long salt = System.nanoTime();
                    for (int h = 0; h < out.heads(); h++) {
                        int k = Math.min(budget, n);
                        for (int i = 0; i < k; i++) {
                            out.head(h).add((int) Math.floorMod(salt + i, (long) n));
                        }
                    }
                });
            }
        };
        assertThrows(AssertionError.class, kit::sameInputGivesSameSelection);
    }

    /** Allocates a scratch array per call where a field grown with the context would do. */
    static final class AllocatesPerSelect implements RecallPolicy {
        private float[] scores; // the last call's scores: the array escapes, as it would in a real policy

        @Override
        public void select(Queries queries, KeyView keys, int budget, Selection out) {
            int n = keys.size();
            for (int h = 0; h < out.heads(); h++) {
                scores = new float[n];
                for (int p = 0; p < n; p++) {
                    scores[p] = p;
                }
                out.head(h).addPages(0, 16, Math.max(0, n - budget), n);
            }
        }
    }

    @Test
    void allocationPerSelect() {
        RecallPolicyConformance kit = new RecallPolicyConformance() {
            @Override
            protected RecallPolicyProvider provider() {
                return KitCatchesViolationsTest.provider(AllocatesPerSelect::new);
            }
        };
        AssertionError e = assertThrows(AssertionError.class, kit::selectAllocatesNothingInSteadyState);
        assertTrue(e.getMessage().contains("select allocated"), e.getMessage());
    }
}

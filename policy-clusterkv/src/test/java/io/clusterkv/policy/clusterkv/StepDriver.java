package io.clusterkv.policy.clusterkv;

import io.clusterkv.spi.conformance.GrowingKeyView;

import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Drives one {@link ClusterKvPolicy} as the runtime does, with full access to its state: prompt, then
 * per step append, maintenance polled and computed at once but applied {@code delay} steps later (or
 * never), in handing-out order or in reverse order.
 */
final class StepDriver {

    static final int NEVER = Integer.MAX_VALUE;

    private record Pending(ClusteringTask task, ClusterBatch result, int due) {
    }

    final ClusterKvPolicy policy;
    final GrowingKeyView keys;
    final List<ClusteringTask> handedOut = new ArrayList<>();
    private final List<Pending> pending = new ArrayList<>();
    private final int delay;
    private final boolean reverse;
    private int step;

    StepDriver(ClusterKvPolicy policy, GrowingKeyView keys, int delay, boolean reverse) {
        this.policy = policy;
        this.keys = keys;
        this.delay = delay;
        this.reverse = reverse;
    }

    static ClusterKvPolicy create(Map<String, String> overrides, int budget, int queryHeads, int d, long seed) {
        var provider = new ClusterKvPolicy.Provider();
        var ctx = new PolicyContext(new ShardGeometry(3, 1, queryHeads, d), budget,
                PolicyConfig.of(provider.name(), provider.configKeys(), overrides), seed);
        return (ClusterKvPolicy) provider.create(ctx);
    }

    /** Prompt written: onPrompt, then maintenance. */
    void prompt() {
        policy.onPrompt(keys);
        maintain();
    }

    /** One decode step: a key appended, then maintenance. */
    void step() {
        step++;
        keys.grow();
        policy.onAppend(keys.size() - 1, keys);
        maintain();
    }

    private void maintain() {
        applyDue();
        for (int guard = 0; guard < 64; guard++) {
            Optional<MaintenanceTask<?>> t = policy.pollMaintenance(keys.snapshot());
            if (t.isEmpty()) {
                break;
            }
            ClusteringTask task = (ClusteringTask) t.get();
            handedOut.add(task);
            pending.add(new Pending(task, task.compute(), delay == NEVER ? NEVER : step + delay));
        }
        applyDue();
    }

    private void applyDue() {
        List<Pending> due = new ArrayList<>();
        pending.removeIf(p -> {
            if (p.due() <= step) {
                due.add(p);
                return true;
            }
            return false;
        });
        if (reverse) {
            java.util.Collections.reverse(due);
        }
        for (Pending p : due) {
            p.task().apply(p.result());
        }
    }

    /** Applies everything outstanding, in order. */
    void applyAll() {
        for (Pending p : pending) {
            p.task().apply(p.result());
        }
        pending.clear();
    }

    void select(float[] q, int heads, int budget, SelectionBuffer out) {
        out.reset(budget, keys.size());
        policy.select(Queries.wrap(q, heads, keys.headDim()), keys, budget, out);
    }
}

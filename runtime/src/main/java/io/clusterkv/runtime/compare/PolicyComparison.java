package io.clusterkv.runtime.compare;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.metrics.QualityAccumulator;
import io.clusterkv.runtime.metrics.SelectionMetrics;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.synthetic.SyntheticWorkload;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.Selection;
import io.clusterkv.spi.ShardGeometry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.DoubleConsumer;

/**
 * Compares recall policies on the synthetic workload in replay mode: for each KV head one workload
 * fills one {@link KvShard}; at every decode step its key is appended and every (policy, budget)
 * instance selects for the same queries; each selection is scored against exact attention with
 * {@link SelectionMetrics}, whose exact pass is computed once per (step, head) and shared.
 *
 * <p>Selection times are medians over the steps, after up to 200 untimed calls (at most 0.1 s) at the
 * first step to let the JIT compile the policy; they are indicative, the benchmarks are the reference.
 *
 * <p>Maintenance is run synchronously and applied {@code maintenanceLag} steps after it is handed out.
 * A policy that throws is recorded as a {@link ComparisonResult.Failure} and dropped; the others go
 * on.
 */
public final class PolicyComparison {

    private static final int WARM_UP_CALLS = 200;
    private static final long WARM_UP_NANOS = 100_000_000L;

    private PolicyComparison() {
    }

    private static final class Contender {
        final String policy;
        final int budget;
        final RecallPolicy instance;
        final Selection selection;
        final QualityAccumulator quality = new QualityAccumulator();
        final ArrayDeque<Pending<?>> pending = new ArrayDeque<>();
        long[] selectNanos;
        int timed;
        String failure;

        Contender(String policy, int budget, RecallPolicy instance, int heads, int steps) {
            this.policy = policy;
            this.budget = budget;
            this.instance = instance;
            this.selection = new Selection(heads, budget);
            this.selectNanos = new long[steps];
        }
    }

    private record Pending<R>(MaintenanceTask<R> task, R result, int due) {
        void apply() {
            task.apply(result);
        }
    }

    /**
     * Runs a comparison.
     *
     * @param spec     what to run
     * @param registry where policies come from
     * @param progress receives the fraction done, from 0 to 1
     * @return the rows and failures
     * @throws io.clusterkv.runtime.policy.UnknownPolicyException if a named policy is not found
     * @throws io.clusterkv.spi.PolicyConfigException            if an override is invalid
     */
    public static ComparisonResult run(ComparisonSpec spec, PolicyRegistry registry, DoubleConsumer progress) {
        List<String> names = spec.policies().isEmpty() ? registry.names() : spec.policies();
        for (String name : names) {
            registry.provider(name); // fail fast on an unknown name, listing the known ones
        }
        WorkloadParams params = spec.workload();
        int heads = params.queryHeads();
        int d = params.headDim();
        Map<String, QualityAccumulator> merged = new LinkedHashMap<>();
        Map<String, List<Long>> times = new LinkedHashMap<>();
        List<ComparisonResult.Failure> failures = new ArrayList<>();
        SelectionMetrics[] metrics = new SelectionMetrics[heads];
        for (int h = 0; h < heads; h++) {
            metrics[h] = new SelectionMetrics();
        }
        int totalSteps = spec.kvHeads() * params.steps();
        int done = 0;
        for (int kvHead = 0; kvHead < spec.kvHeads(); kvHead++) {
            SyntheticWorkload w = SyntheticWorkload.generate(params.withSeed(params.seed() + kvHead));
            try (KvShard shard = new KvShard(d, KvFormat.F32)) {
                w.appendPrompt(shard);
                KeyView keys = shard.keys();
                List<Contender> contenders = new ArrayList<>();
                for (String name : names) {
                    for (int budget : spec.budgets()) {
                        if (failed(failures, name, budget)) {
                            continue;
                        }
                        RecallPolicy instance = registry.create(name, new ShardGeometry(0, kvHead, heads, d), budget,
                                spec.overrides().getOrDefault(name, Map.of()), params.seed() * 31 + kvHead);
                        Contender c = new Contender(name, budget, instance, heads, params.steps());
                        guard(c, () -> {
                            c.instance.onPrompt(keys);
                            poll(c, shard, 0, spec.maintenanceLag());
                        });
                        contenders.add(c);
                    }
                }
                for (int step = 0; step < params.steps(); step++) {
                    w.appendStep(shard, step);
                    int n = shard.size();
                    float[] q = w.queryArray(step);
                    for (int h = 0; h < heads; h++) {
                        metrics[h].prepare(q, h * d, shard.snapshot(), w.scale());
                    }
                    final int s = step;
                    for (Contender c : contenders) {
                        if (c.failure != null) {
                            continue;
                        }
                        guard(c, () -> {
                            c.instance.onAppend(n - 1, keys);
                            applyDue(c, s);
                            poll(c, shard, s, spec.maintenanceLag());
                            applyDue(c, s);
                            if (s == 0) {
                                warmUp(c, w.queries(s), keys, n);
                            }
                            c.selection.reset(c.budget, n);
                            long t0 = System.nanoTime();
                            c.instance.select(w.queries(s), keys, c.budget, c.selection);
                            c.selectNanos[c.timed++] = System.nanoTime() - t0;
                            for (int h = 0; h < heads; h++) {
                                c.quality.add(metrics[h].evaluate(c.selection.head(h), c.budget));
                            }
                        });
                    }
                    progress.accept((double) ++done / totalSteps);
                }
                for (Contender c : contenders) {
                    guard(c, c.instance::close);
                    String key = c.policy + "@" + c.budget;
                    if (c.failure != null) {
                        failures.add(new ComparisonResult.Failure(c.policy, c.budget, c.failure));
                        continue;
                    }
                    merged.computeIfAbsent(key, k -> new QualityAccumulator()).addAll(c.quality);
                    List<Long> t = times.computeIfAbsent(key, k -> new ArrayList<>());
                    for (int i = 0; i < c.timed; i++) {
                        t.add(c.selectNanos[i]);
                    }
                }
            }
        }
        List<ComparisonResult.Row> out = new ArrayList<>();
        for (String name : names) {
            for (int budget : spec.budgets()) {
                String key = name + "@" + budget;
                if (failed(failures, name, budget) || !merged.containsKey(key)) {
                    continue;
                }
                out.add(new ComparisonResult.Row(name, budget, merged.get(key).summary(),
                        median(times.get(key)) / 1e3 / heads));
            }
        }
        return new ComparisonResult(spec, out, dedupe(failures));
    }

    /** Repeats the first step's select (untimed) so the timed calls do not measure the interpreter. */
    private static void warmUp(Contender c, io.clusterkv.spi.Queries q, KeyView keys, int n) {
        long deadline = System.nanoTime() + WARM_UP_NANOS;
        for (int i = 0; i < WARM_UP_CALLS && System.nanoTime() < deadline; i++) {
            c.selection.reset(c.budget, n);
            c.instance.select(q, keys, c.budget, c.selection);
        }
    }

    private static boolean failed(List<ComparisonResult.Failure> failures, String name, int budget) {
        return failures.stream().anyMatch(f -> f.policy().equals(name) && f.budget() == budget);
    }

    private static List<ComparisonResult.Failure> dedupe(List<ComparisonResult.Failure> failures) {
        Map<String, ComparisonResult.Failure> first = new LinkedHashMap<>();
        for (ComparisonResult.Failure f : failures) {
            first.putIfAbsent(f.policy() + "@" + f.budget(), f);
        }
        return List.copyOf(first.values());
    }

    private static void guard(Contender c, Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            c.failure = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }

    private static void poll(Contender c, KvShard shard, int step, int lag) {
        for (int guard = 0; guard < 64; guard++) {
            Optional<MaintenanceTask<?>> task = c.instance.pollMaintenance(shard.snapshot());
            if (task.isEmpty()) {
                return;
            }
            c.pending.add(computed(task.get(), step + lag));
        }
    }

    private static <R> Pending<R> computed(MaintenanceTask<R> task, int due) {
        return new Pending<>(task, task.compute(), due);
    }

    private static void applyDue(Contender c, int step) {
        while (!c.pending.isEmpty() && c.pending.peek().due() <= step) {
            c.pending.poll().apply();
        }
    }

    private static double median(List<Long> values) {
        if (values == null || values.isEmpty()) {
            return Double.NaN;
        }
        long[] a = values.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(a);
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2.0;
    }
}

package io.clusterkv.runtime.compare;

import io.clusterkv.runtime.attention.Attention;
import io.clusterkv.runtime.attention.AttentionScratch;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.synthetic.SyntheticWorkload;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.Selection;
import io.clusterkv.spi.ShardGeometry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A benchmark, not a test: the cost of a policy's {@code select} and of attention over what it
 * selected, each as a fraction of exact attention over the whole context, measured side by side.
 *
 * <p>One shard is filled with the synthetic workload's prompt (F32, one thread). Each policy instance
 * indexes it with its maintenance run to completion. Then, for a number of rounds, one round times
 * exact attention of the GQA group over all positions, and for every (policy, budget) one
 * {@code select} and the attention of every query head over its selection. Ratios are taken within a
 * round (so machine noise that hits a round hits both sides) and reported as median, min and max over
 * the rounds. A warm-up of the same rounds, untimed, comes first so the JIT has compiled everything.
 */
public final class SelectionCost {

    private SelectionCost() {
    }

    /**
     * One (policy, budget).
     *
     * @param policy              policy name
     * @param budget              budget
     * @param selectMicrosPerHead median time of one select, divided by the query heads
     * @param attendMicrosPerHead median time of attention over the selection, per query head
     * @param selectRatio         median over rounds of select time / exact attention time
     * @param selectRatioMin      min over rounds
     * @param selectRatioMax      max over rounds
     * @param stepRatio           median over rounds of (select + attention over the selection) / exact
     */
    public record Row(String policy, int budget, double selectMicrosPerHead, double attendMicrosPerHead,
                      double selectRatio, double selectRatioMin, double selectRatioMax, double stepRatio) {
    }

    /**
     * The result.
     *
     * @param params             the workload
     * @param rounds             timed rounds
     * @param exactMicrosPerHead median time of exact attention over the whole context, per query head
     * @param rows               one per (policy, budget)
     */
    public record Result(WorkloadParams params, int rounds, double exactMicrosPerHead, List<Row> rows) {
        /** @return a plain-text table */
        public String toTable() {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                    "context %d, head dim %d, %d query heads (one GQA group), F32, one thread, %d rounds%n"
                            + "exact attention over all %d positions: %.1f us per query head%n",
                    params.promptLength() + 1, params.headDim(), params.queryHeads(), rounds, params.promptLength() + 1,
                    exactMicrosPerHead));
            sb.append(String.format(Locale.ROOT, "%-12s %7s %12s %12s %22s %12s%n", "policy", "budget", "select us/h",
                    "attend us/h", "select/exact (min-max)", "step/exact"));
            for (Row r : rows) {
                sb.append(String.format(Locale.ROOT, "%-12s %7d %12.2f %12.2f %7.2f%% (%5.2f-%5.2f) %11.1f%%%n", r.policy,
                        r.budget, r.selectMicrosPerHead, r.attendMicrosPerHead, 100 * r.selectRatio, 100 * r.selectRatioMin,
                        100 * r.selectRatioMax, 100 * r.stepRatio));
            }
            return sb.toString();
        }
    }

    private static final class Contender {
        final String policy;
        final int budget;
        final RecallPolicy instance;
        final Selection selection;
        final long[] select;
        final long[] attend;

        Contender(String policy, int budget, RecallPolicy instance, int heads, int rounds) {
            this.policy = policy;
            this.budget = budget;
            this.instance = instance;
            this.selection = new Selection(heads, budget);
            this.select = new long[rounds];
            this.attend = new long[rounds];
        }
    }

    /**
     * Runs the benchmark.
     *
     * @param registry     where policies come from
     * @param policies     names to measure; empty for all but {@code full}
     * @param params       the workload (its prompt is the context; one decode step is used)
     * @param budgets      budgets
     * @param warmUpMillis untimed rounds for at least this long first
     * @param rounds       timed rounds
     * @return the figures
     */
    public static Result run(PolicyRegistry registry, List<String> policies, WorkloadParams params, List<Integer> budgets,
                             long warmUpMillis, int rounds) {
        List<String> names = policies.isEmpty()
                ? registry.names().stream().filter(n -> !n.equals("full")).toList() : policies;
        WorkloadParams p = params.withSteps(1);
        SyntheticWorkload w = SyntheticWorkload.generate(p);
        int heads = p.queryHeads();
        int d = p.headDim();
        float scale = (float) w.scale();
        try (KvShard shard = new KvShard(d, KvFormat.F32)) {
            w.appendPrompt(shard);
            List<Contender> contenders = new ArrayList<>();
            for (String name : names) {
                for (int budget : budgets) {
                    RecallPolicy policy = registry.create(name, new ShardGeometry(0, 0, heads, d), budget, Map.of(), 7);
                    policy.onPrompt(shard.keys());
                    drain(policy, shard);
                    contenders.add(new Contender(name, budget, policy, heads, rounds));
                }
            }
            int position = w.appendStep(shard, 0);
            for (Contender c : contenders) {
                c.instance.onAppend(position, shard.keys());
                drain(c.instance, shard);
            }
            KvShard.View view = shard.snapshot();
            int n = view.size();
            Queries q = w.queries(0);
            io.clusterkv.spi.KeyView live = shard.keys();
            float[] out = new float[heads * d];
            AttentionScratch scratch = new AttentionScratch();
            long[] exact = new long[rounds];
            long warmUntil = System.nanoTime() + warmUpMillis * 1_000_000L;
            for (int r = -1; r < rounds; r++) {
                boolean warm = r < 0;
                do {
                    long t0 = System.nanoTime();
                    Attention.exact(view, n, q, scale, out, scratch);
                    long t1 = System.nanoTime();
                    if (!warm) {
                        exact[r] = t1 - t0;
                    }
                    for (Contender c : contenders) {
                        c.selection.reset(c.budget, n);
                        long s0 = System.nanoTime();
                        c.instance.select(q, live, c.budget, c.selection);
                        long s1 = System.nanoTime();
                        for (int h = 0; h < heads; h++) {
                            Attention.selected(view, q, c.selection.head(h), scale, out, scratch);
                        }
                        long s2 = System.nanoTime();
                        if (!warm) {
                            c.select[r] = s1 - s0;
                            c.attend[r] = s2 - s1;
                        }
                    }
                } while (warm && System.nanoTime() < warmUntil);
            }
            List<Row> rows = new ArrayList<>();
            for (Contender c : contenders) {
                double[] ratio = new double[rounds];
                double[] step = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    ratio[r] = (double) c.select[r] / exact[r];
                    step[r] = (double) (c.select[r] + c.attend[r]) / exact[r];
                }
                Arrays.sort(ratio);
                rows.add(new Row(c.policy, c.budget, median(c.select) / 1e3 / heads, median(c.attend) / 1e3 / heads,
                        median(ratio), ratio[0], ratio[rounds - 1], median(step)));
                c.instance.close();
            }
            return new Result(p, rounds, median(exact) / 1e3 / heads, rows);
        }
    }

    private static void drain(RecallPolicy policy, KvShard shard) {
        for (int i = 0; i < 1000; i++) {
            Optional<MaintenanceTask<?>> task = policy.pollMaintenance(shard.snapshot());
            if (task.isEmpty()) {
                return;
            }
            MaintenanceTask.runNow(task.get());
        }
    }

    private static double median(long[] v) {
        long[] a = v.clone();
        Arrays.sort(a);
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2.0;
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}

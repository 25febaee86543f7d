package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.attention.Attention;
import io.clusterkv.runtime.attention.AttentionScratch;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.synthetic.SyntheticWorkload;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.driver.ShardPolicyDriver;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A benchmark, not a test: the cost of a policy's {@code select} and of attention over what it
 * selected, each as a fraction of exact attention over the whole context, measured side by side.
 *
 * <p>One shard is filled with the synthetic workload's prompt (F32, one thread). Each policy instance,
 * driven by a {@link ShardPolicyDriver} with inline maintenance (a policy that throws fails the run),
 * indexes it with its maintenance run to completion. An untimed warm-up comes first so that the JIT
 * has compiled everything: passes over the policies, in which each policy in turn, for its share of
 * {@code warmUpMillis} (a third of it each pass), runs rounds of its own of {@code select} and
 * attention over the selection (every tenth round with exact attention too); three passes, and more
 * (twelve at most) while the JIT spent over 5% of the last pass compiling. Then each policy in turn
 * gets its own timed rounds: one round times exact attention of the GQA group over all positions, and
 * for each of the policy's budgets one {@code select} and the attention of every query head over its
 * selection. Ratios are taken within a round (so machine noise that hits a round hits both sides)
 * and reported as median, min and max over the rounds.
 *
 * <p>Why rounds per policy: with every policy in the same rounds, a slow policy (the {@code oracle}
 * scores every key) cuts the number of warm-up rounds, a fast policy's per-head methods can still be
 * in the JIT's profiling tier when the timed rounds begin, and its figure then depends on which other
 * policies share the run. Rounds of its own keep each policy's figure its own, and each still has its
 * exact attention from the same rounds (docs/BENCHMARKS-HISTORY.md has the measurement).
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
        final ShardPolicyDriver driver;
        final SelectionBuffer selection;
        final long[] exact;
        final long[] select;
        final long[] attend;

        Contender(String policy, int budget, ShardPolicyDriver driver, int heads, int rounds) {
            this.policy = policy;
            this.budget = budget;
            this.driver = driver;
            this.selection = new SelectionBuffer(heads, budget);
            this.exact = new long[rounds];
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
     * @param warmUpMillis untimed warm-up for at least this long first, longer while the JIT is still
     *                     compiling (see the class comment)
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
                    var driver = new ShardPolicyDriver(
                            registry.create(name, new ShardGeometry(0, 0, heads, d), budget, Map.of(), 7),
                            new ShardPolicyDriver.Maintenance.Inline(), ShardPolicyDriver.Events.RETHROW);
                    driver.prompt(shard.keys());
                    contenders.add(new Contender(name, budget, driver, heads, rounds));
                }
            }
            io.clusterkv.spi.KeyView live = shard.keys();
            int position = w.appendStep(shard, 0);
            for (Contender c : contenders) {
                c.driver.append(position, live);
                c.driver.maintain(live);
            }
            KvShard.View view = shard.snapshot();
            int n = view.size();
            Queries q = w.queries(0);
            float[] out = new float[heads * d];
            AttentionScratch scratch = new AttentionScratch();
            Round round = new Round(view, n, q, live, scale, out, scratch, heads);
            // warm-up: each policy in turn, in rounds of its own (every tenth with the exact pass), so that a
            // slow policy's rounds do not cut another's count (which left Quest's select in the JIT's
            // profiling tier through the timed rounds); in passes, so that what a policy's first pass sent
            // to the compiler is compiled while the others run, and more passes while the JIT is busy
            long share = warmUpMillis * 1_000_000L / Math.max(1, names.size()) / WARM_UP_PASSES;
            CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
            boolean jitTimed = jit != null && jit.isCompilationTimeMonitoringSupported();
            for (int pass = 0; pass < MAX_WARM_UP_PASSES; pass++) {
                long compiling = jitTimed ? jit.getTotalCompilationTime() : 0;
                long start = System.nanoTime();
                for (int i = 0; i < names.size(); i++) {
                    List<Contender> group = contenders.subList(i * budgets.size(), (i + 1) * budgets.size());
                    long until = System.nanoTime() + share;
                    int r = 0;
                    do {
                        round.run(group, -1, r++ % 10 == 0);
                    } while (System.nanoTime() < until);
                }
                long passMillis = (System.nanoTime() - start) / 1_000_000L;
                boolean jitBusy = jitTimed && jit.getTotalCompilationTime() - compiling > passMillis / 20;
                if (pass + 1 >= WARM_UP_PASSES && !jitBusy) {
                    break;
                }
            }
            long[] exact = new long[rounds * names.size()];
            for (int i = 0; i < names.size(); i++) {
                // one policy's contenders in rounds of their own: another policy's passes over the keys
                // (the oracle scores every key) do not leak into its figure
                List<Contender> group = contenders.subList(i * budgets.size(), (i + 1) * budgets.size());
                for (int r = -REWARM_ROUNDS; r < rounds; r++) {
                    long e = round.run(group, r, true);
                    if (r >= 0) {
                        exact[i * rounds + r] = e;
                    }
                }
            }
            List<Row> rows = new ArrayList<>();
            for (Contender c : contenders) {
                double[] ratio = new double[rounds];
                double[] step = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    ratio[r] = (double) c.select[r] / c.exact[r];
                    step[r] = (double) (c.select[r] + c.attend[r]) / c.exact[r];
                }
                Arrays.sort(ratio);
                rows.add(new Row(c.policy, c.budget, median(c.select) / 1e3 / heads, median(c.attend) / 1e3 / heads,
                        median(ratio), ratio[0], ratio[rounds - 1], median(step)));
                c.driver.close();
            }
            return new Result(p, rounds, median(exact) / 1e3 / heads, rows);
        }
    }

    /** Passes of the warm-up over the policies, at least. */
    private static final int WARM_UP_PASSES = 3;
    /** Passes at most: more than {@link #WARM_UP_PASSES} while the JIT compiled for over 5% of the last one. */
    private static final int MAX_WARM_UP_PASSES = 12;

    /** Untimed rounds of a policy's own right before its timed ones. */
    private static final int REWARM_ROUNDS = 10;

    /** One round: exact attention over the whole context, then each contender's select and attention over its selection. */
    private record Round(KvShard.View view, int n, Queries q, io.clusterkv.spi.KeyView live, float scale, float[] out,
                         AttentionScratch scratch, int heads) {

        /**
         * @param round     where the timings go in each contender's arrays; negative: untimed
         * @param exactPass whether the round has its exact attention (a timed round must)
         * @return nanoseconds of the exact attention, 0 without it
         */
        long run(List<Contender> contenders, int round, boolean exactPass) {
            long exact = 0;
            if (exactPass) {
                long t0 = System.nanoTime();
                Attention.exact(view, n, q, scale, out, scratch);
                exact = System.nanoTime() - t0;
            }
            for (Contender c : contenders) {
                long s0 = System.nanoTime();
                c.driver.select(q, live, c.budget, c.selection);
                long s1 = System.nanoTime();
                for (int h = 0; h < heads; h++) {
                    Attention.selected(view, q, c.selection.head(h), scale, out, scratch);
                }
                long s2 = System.nanoTime();
                if (round >= 0) {
                    c.exact[round] = exact;
                    c.select[round] = s1 - s0;
                    c.attend[round] = s2 - s1;
                }
            }
            return exact;
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

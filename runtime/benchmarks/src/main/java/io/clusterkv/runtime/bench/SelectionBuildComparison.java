package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.attention.Attention;
import io.clusterkv.runtime.attention.AttentionScratch;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.synthetic.SyntheticWorkload;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@link SelectionCost} for one policy built from several checkouts, in one JVM: each build's
 * {@code policy-*}{@code /target/classes} load in their own class loader (the SPI and the runtime are
 * this JVM's; see {@link BuildClasses#policies}), and every round times exact attention over the whole
 * context, then one {@code select} of every (build, budget), the builds in a rotating order. A build's
 * figure is its per-round ratio select / exact attention (median, min, max), and its per-round ratio
 * to the first build; the load of other processes hits all builds alike, which separate runs of
 * {@code ckv bench selection} on a shared machine do not give.
 *
 * <pre>
 * git worktree add /tmp/base BASE &amp;&amp; (cd /tmp/base &amp;&amp; ./mvnw -B -q -o test-compile)
 * ./mvnw -B -q -o -DskipTests package
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *      -cp examples/target/ckv.jar io.clusterkv.runtime.bench.SelectionBuildComparison quest 61 /tmp/base .
 * </pre>
 * {@code -Dcontext} (32768), {@code -Dbudgets} (256,1024,2048), {@code -Dwarmup} rounds (3000, the
 * selects alone: every tenth has exact attention too).
 */
public final class SelectionBuildComparison {

    private SelectionBuildComparison() {
    }

    public static void main(String[] args) throws Exception {
        String policy = args[0];
        int rounds = Integer.parseInt(args[1]);
        int builds = args.length - 2;
        int context = Integer.getInteger("context", 32768);
        int warmup = Integer.getInteger("warmup", 3000);
        int[] budgets = Arrays.stream(System.getProperty("budgets", "256,1024,2048").split(","))
                .mapToInt(Integer::parseInt).toArray();
        WorkloadParams p = WorkloadParams.defaults().withSteps(1).withPromptLength(context - 1);
        SyntheticWorkload w = SyntheticWorkload.generate(p);
        int heads = p.queryHeads();
        int d = p.headDim();
        try (KvShard shard = new KvShard(d, KvFormat.F32)) {
            w.appendPrompt(shard);
            int position = w.appendStep(shard, 0);
            RecallPolicy[][] policies = new RecallPolicy[builds][budgets.length];
            SelectionBuffer[] selections = new SelectionBuffer[budgets.length];
            for (int b = 0; b < builds; b++) {
                PolicyRegistry registry = BuildClasses.policies(Path.of(args[b + 2]));
                for (int j = 0; j < budgets.length; j++) {
                    RecallPolicy r = registry.create(policy, new ShardGeometry(0, 0, heads, d), budgets[j], Map.of(), 7);
                    r.onPrompt(shard.keys());
                    r.onAppend(position, shard.keys());
                    policies[b][j] = r;
                }
            }
            for (int j = 0; j < budgets.length; j++) {
                selections[j] = new SelectionBuffer(heads, budgets[j]);
            }
            KvShard.View view = shard.snapshot();
            int n = view.size();
            Queries q = w.queries(0);
            float[] out = new float[heads * d];
            AttentionScratch scratch = new AttentionScratch();
            double[][][] ratio = new double[builds][budgets.length][rounds];
            for (int r = -warmup; r < rounds; r++) {
                // warm-up rounds: the selects alone (every tenth with exact attention), enough calls that
                // the JIT has compiled the per-head methods in its last tier before the timed rounds
                boolean timed = r >= 0;
                long exact = 0;
                if (timed || r % 10 == 0) {
                    long t0 = System.nanoTime();
                    Attention.exact(view, n, q, (float) w.scale(), out, scratch);
                    exact = System.nanoTime() - t0;
                }
                for (int i = 0; i < builds; i++) {
                    int b = Math.floorMod(r + i, builds);
                    for (int j = 0; j < budgets.length; j++) {
                        selections[j].reset(budgets[j], n);
                        long s0 = System.nanoTime();
                        policies[b][j].select(q, shard.keys(), budgets[j], selections[j]);
                        long s = System.nanoTime() - s0;
                        if (r >= 0) {
                            ratio[b][j][r] = (double) s / exact;
                        }
                    }
                }
            }
            System.out.printf(Locale.ROOT, "%s, context %d, head dim %d, %d query heads, %d rounds: select / exact attention%n",
                    policy, n, d, heads, rounds);
            for (int b = 0; b < builds; b++) {
                StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-24s", args[b + 2]));
                for (int j = 0; j < budgets.length; j++) {
                    double[] v = ratio[b][j].clone();
                    Arrays.sort(v);
                    double[] rel = new double[rounds];
                    for (int r = 0; r < rounds; r++) {
                        rel[r] = ratio[b][j][r] / ratio[0][j][r];
                    }
                    Arrays.sort(rel);
                    sb.append(String.format(Locale.ROOT, " | %d: %5.2f%% (%4.2f-%5.2f) x%.3f (%.2f-%.2f)", budgets[j],
                            100 * v[rounds / 2], 100 * v[0], 100 * v[rounds - 1], rel[rounds / 2], rel[0], rel[rounds - 1]));
                }
                System.out.println(sb);
            }
            for (RecallPolicy[] row : policies) {
                for (RecallPolicy r : row) {
                    r.close();
                }
            }
        }
    }
}

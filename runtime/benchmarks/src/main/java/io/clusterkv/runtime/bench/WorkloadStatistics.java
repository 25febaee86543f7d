package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.synthetic.SyntheticWorkload;
import io.clusterkv.runtime.synthetic.WorkloadParams;

import io.clusterkv.runtime.metrics.SelectionMetrics;
import io.clusterkv.runtime.synthetic.SyntheticWorkload.PositionKind;
import java.util.Arrays;
import java.util.Locale;

/**
 * Prints the attention statistics of a synthetic workload, averaged over every step and query head:
 * the figures of the table in {@code docs/SYNTHETIC_WORKLOAD.md}, and the generation time. Arguments:
 * {@code promptLength headDim [field=value ...]}, where a field is any {@link WorkloadParams} component
 * changed through its wither, e.g. {@code seed=7 needleProbability=0.5}. Run with
 * <pre>{@code
 * ./ckv bench workload 4096 128
 * }</pre>
 */
public final class WorkloadStatistics {

    private WorkloadStatistics() {
    }

    /**
     * @param args {@code promptLength headDim [field=value ...]}
     * @throws Exception if an argument names no field or has a bad value
     */
    public static void main(String[] args) throws Exception {
        WorkloadParams params = WorkloadParams.defaults().withPromptLength(Integer.parseInt(args[0]))
                .withHeadDim(Integer.parseInt(args[1]));
        for (int i = 2; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            String wither = "with" + Character.toUpperCase(kv[0].charAt(0)) + kv[0].substring(1);
            var method = Arrays.stream(WorkloadParams.class.getMethods()).filter(m -> m.getName().equals(wither))
                    .findFirst().orElseThrow(() -> new IllegalArgumentException("no field " + kv[0]));
            Class<?> type = method.getParameterTypes()[0];
            Object value = type == int.class ? Integer.valueOf(kv[1])
                    : type == long.class ? (Object) Long.valueOf(kv[1]) : Double.valueOf(kv[1]);
            params = (WorkloadParams) method.invoke(params, value);
        }
        long start = System.nanoTime();
        SyntheticWorkload w = SyntheticWorkload.generate(params);
        double coldMs = (System.nanoTime() - start) / 1e6;
        start = System.nanoTime();
        SyntheticWorkload.generate(params);
        double warmMs = (System.nanoTime() - start) / 1e6;

        SelectionMetrics m = new SelectionMetrics();
        double sinks = 0;
        double topics = 0;
        double recent = 0;
        double needle = 0;
        double maxWeight = 0;
        double entropy = 0;
        double top5 = 0;
        int queries = 0;
        int needleQueries = 0;
        int needleInTop10 = 0;
        for (int t = 0; t < w.steps(); t++) {
            int n = w.contextSize(t);
            double[] weights = new double[n];
            for (int h = 0; h < w.queryHeads(); h++) {
                m.prepare(w.queryArray(t), h * w.headDim(), w.keys(), w.values(), n, w.headDim(), w.scale());
                int[] targets = w.targetTopics(t, h);
                int targetNeedle = w.targetNeedle(t, h);
                double max = 0;
                for (int p = 0; p < n; p++) {
                    double a = m.weight(p);
                    weights[p] = a;
                    max = Math.max(max, a);
                    if (w.kindOf(p) == PositionKind.SINK) {
                        sinks += a;
                    } else if (p == targetNeedle) {
                        needle += a;
                    } else if (n - 1 - p < 8) {
                        recent += a;
                    } else if (contains(targets, w.topicOf(p))) {
                        topics += a;
                    }
                }
                if (targetNeedle >= 0) {
                    needleQueries++;
                    int better = 0;
                    for (int p = 0; p < n; p++) {
                        better += m.logit(p) > m.logit(targetNeedle) ? 1 : 0;
                    }
                    needleInTop10 += better < 10 ? 1 : 0;
                }
                Arrays.sort(weights);
                for (int i = n - (int) Math.ceil(0.05 * n); i < n; i++) {
                    top5 += weights[i];
                }
                maxWeight += max;
                entropy += m.entropy();
                queries++;
            }
        }
        print(w, coldMs, warmMs, queries, sinks, topics, recent, needle, needleQueries, needleInTop10, maxWeight,
                entropy, top5);
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }

    private static void print(SyntheticWorkload w, double coldMs, double warmMs, int queries, double sinks,
            double topics, double recent, double needle, int needleQueries, int needleInTop10, double maxWeight,
            double entropy, double top5) {
        System.out.printf(Locale.ROOT, "%s%ngeneration: %.0f ms cold, %.0f ms warm%n", w, coldMs, warmMs);
        System.out.printf(Locale.ROOT, "mass: sinks %.3f, targeted topics %.3f, last 8 positions %.3f, "
                + "needle when targeted %.3f (%d of %d queries, %d in the top 10)%n", sinks / queries, topics / queries,
                recent / queries, needleQueries == 0 ? 0 : needle / needleQueries, needleQueries, queries, needleInTop10);
        System.out.printf(Locale.ROOT, "mean max weight %.3f, entropy %.2f nats, mass in top 5%% %.3f%n",
                maxWeight / queries, entropy / queries, top5 / queries);
    }
}

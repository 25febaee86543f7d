package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.GenerationResult;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.SessionOptions;
import io.clusterkv.runtime.TokenListener;

import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import javax.management.ObjectName;

/**
 * One decode measurement like a row of {@link DecodeBench} ({@code synthetic:llama-1b:q8_0}, a history
 * of 32768 positions placed with {@link WorkloadHistory}, budget 1024, residency capacity 256 MiB,
 * ClusterKV's mini-batch clustering; one KV format, policy and residency rule), with where the CPU time
 * went: per thread, the CPU time of the timed decode steps per token (shard
 * dispatcher threads: attention, selection and residency; compute threads: the matrix-vector
 * products; session threads: the rest), the share of both cores the process got, and the heap
 * allocated per token by all threads. On a shared machine the per-thread CPU times are much steadier
 * than tokens per second. With a fifth argument, a JFR recording ({@code settings=profile}) of the
 * timed steps only is written there ({@code jfr view hot-methods FILE}).
 *
 * <pre>
 * CKV_JAVA_OPTS=-Xmx10g ./ckv bench profile f16 clusterkv lru 8 [/tmp/decode.jfr]   # -Dbench.context=N
 * </pre>
 */
public final class DecodeProfile {

    private DecodeProfile() {
    }

    /**
     * @param args KV format ({@code f16}, {@code f32}), policy, residency rule, timed steps, optionally
     *             the JFR file
     */
    public static void main(String[] args) throws Exception {
        String format = args[0];
        String policy = args[1];
        String rule = args[2];
        int steps = Integer.parseInt(args[3]);
        String jfr = args.length > 4 ? args[4] : null;
        int cores = Runtime.getRuntime().availableProcessors();
        int context = Integer.getInteger("bench.context", 32768);
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (LlamaModel model = Models.load(RuntimeBenchmark.MODEL)) {
            var w = WorkloadHistory.of(context, model.config().headDim());
            Map<String, Object> conf = Map.of("clusterkv.policy.clusterkv.algorithm", "mini-batch",
                    "clusterkv.residency.policy", rule, "clusterkv.residency.capacity", "256MiB");
            try (ClusterKvRuntime runtime = RuntimeBenchmark.runtime(cores, format, conf)) {
                int b = policy.equals("full") ? 1 << 20 : 1024;
                try (Session s = runtime.openSession(model, SessionOptions.builder().policy(policy).budget(b).build())) {
                    s.fill(w).join();
                    DecodeBench.awaitMaintenance(s);
                    s.generate(new int[] {1}, Integer.getInteger("bench.warmup", 48), Sampler.greedy(),
                            TokenListener.none()).join(); // untimed: the JIT compiles select's and attention's kernels
                    if (jfr != null) {
                        dcmd("jfrStart", "name=p", "settings=profile");
                    }
                    Map<String, Long> cpu0 = cpu(mx);
                    long alloc0 = mx.getTotalThreadAllocatedBytes();
                    long t0 = System.nanoTime();
                    GenerationResult r = s.generate(new int[] {2}, steps + 1, Sampler.greedy(), TokenListener.none()).join();
                    long wall = System.nanoTime() - t0;
                    long alloc = mx.getTotalThreadAllocatedBytes() - alloc0;
                    Map<String, Long> cpu1 = cpu(mx);
                    if (jfr != null) {
                        dcmd("jfrStop", "name=p", "filename=" + jfr);
                    }
                    System.out.printf("%s %s %s: %.2f tok/s (decode), wall %.1f ms/token, alloc %.2f MB/token%n",
                            format, policy, rule, r.decodeTokensPerSecond(), wall / 1e6 / (steps + 1),
                            alloc / 1e6 / (steps + 1));
                    Map<String, Long> byGroup = new TreeMap<>();
                    cpu1.forEach((name, t) -> byGroup.merge(name, t - cpu0.getOrDefault(name, 0L), Long::sum));
                    long total = 0;
                    for (var e : byGroup.entrySet()) {
                        if (e.getValue() > wall / 100) {
                            System.out.printf("  %-50s %7.1f ms/token (%4.1f%% of wall)%n", e.getKey(),
                                    e.getValue() / 1e6 / (steps + 1), 100.0 * e.getValue() / wall);
                        }
                        total += e.getValue();
                    }
                    System.out.printf("  all threads: %.1f%% of %d cores%n", 100.0 * total / wall / cores, cores);
                }
            }
        }
    }

    static void dcmd(String op, String... args) throws Exception {
        ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                op, new Object[] {args}, new String[] {String[].class.getName()});
    }

    static Map<String, Long> cpu(com.sun.management.ThreadMXBean mx) {
        Map<String, Long> m = new TreeMap<>();
        for (long id : mx.getAllThreadIds()) {
            var info = mx.getThreadInfo(id);
            long t = mx.getThreadCpuTime(id);
            if (info != null && t > 0) {
                m.merge(info.getThreadName().replaceAll("-\\d+$", "-N") + "#" + id, t, Long::sum);
            }
        }
        return m;
    }
}

package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.GenerationResult;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.SessionOptions;
import io.clusterkv.runtime.TokenListener;
import io.clusterkv.runtime.decode.ReferenceDecoder;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.tensor.ComputePool;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ForkJoinPool;

/**
 * Decode of a small model through the Session API, the path of {@code ckv generate} (default
 * configuration, greedy, one prompt token), measured like llama-bench's {@code tg}: after a warm-up
 * session of {@code warmup} tokens (the JIT is slow on a loaded machine), each round opens a fresh
 * session and decodes {@code tokens} tokens from position 0. Per round: decode tokens per second, the
 * CPU time per token of the process's threads by group (actors: sessions and shards; compute pool; other) and the
 * heap allocated per token by all threads; then the median and range over rounds. The per-token CPU time
 * and allocation are steadier than tokens per second on a shared machine. With a fifth argument, a JFR
 * recording ({@code settings=profile}) of the timed rounds is written there.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp examples/target/ckv.jar \
 *   io.clusterkv.runtime.bench.SmallModelDecode /tmp/small-f16.gguf 300 128 7 [/tmp/small.jfr]
 * </pre>
 * ({@code -Dbench.policy=full} by default; {@code -Dbench.reference=pool} interleaves a round of the
 * reference decoder, the same forward pass without actors, on a pool of its own before each round;
 * {@code -Dbench.reference=serial} the same on the calling thread, with its CPU time per token: the
 * work of a token without any hand-off.)
 */
public final class SmallModelDecode {

    private SmallModelDecode() {
    }

    /**
     * @param args model (GGUF, llama2.c, {@code synthetic:<shape>}), warm-up tokens, tokens per round,
     *             rounds, optionally the JFR file
     */
    public static void main(String[] args) throws Exception {
        String path = args[0];
        int warmup = Integer.parseInt(args[1]);
        int tokens = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        String jfr = args.length > 4 ? args[4] : null;
        String policy = System.getProperty("bench.policy", "full");
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        SessionOptions options = SessionOptions.builder().policy(policy).build();
        String referenceMode = System.getProperty("bench.reference", "none");
        boolean withReference = !referenceMode.equals("none");
        ForkJoinPool reference = referenceMode.equals("pool")
                ? new ComputePool(Runtime.getRuntime().availableProcessors(), "bench-compute", ComputePool.DEFAULT_SPIN) : null;
        try (ClusterKvRuntime runtime = ClusterKvRuntime.create()) {
            LlamaModel model = runtime.loadModel(path);
            try (Session s = runtime.openSession(model, options)) {
                s.generate(new int[] {1}, warmup, Sampler.greedy(), TokenListener.none()).join();
            }
            if (jfr != null) {
                DecodeProfile.dcmd("jfrStart", "name=small", "settings=profile");
            }
            double[] tps = new double[rounds];
            double[] alloc = new double[rounds];
            Map<String, double[]> cpu = new TreeMap<>();
            double[] ref = new double[rounds];
            double[] refCpu = new double[rounds];
            for (int i = 0; i < rounds; i++) {
                if (withReference) {
                    try (ReferenceDecoder d = ReferenceDecoder.create(model, reference)) {
                        long t0 = System.nanoTime();
                        long c0 = mx.getCurrentThreadCpuTime();
                        d.generate(new int[] {1}, tokens, Sampler.greedy(), t -> { });
                        ref[i] = tokens * 1e9 / (System.nanoTime() - t0);
                        refCpu[i] = (mx.getCurrentThreadCpuTime() - c0) / 1e3 / tokens;
                    }
                }
                try (Session s = runtime.openSession(model, options)) {
                    Map<String, Long> cpu0 = groups(DecodeProfile.cpu(mx));
                    long a0 = mx.getTotalThreadAllocatedBytes();
                    GenerationResult r = s.generate(new int[] {1}, tokens, Sampler.greedy(), TokenListener.none()).join();
                    long a1 = mx.getTotalThreadAllocatedBytes();
                    Map<String, Long> cpu1 = groups(DecodeProfile.cpu(mx));
                    int n = r.tokens().length;
                    tps[i] = r.decodeTokensPerSecond();
                    alloc[i] = (double) (a1 - a0) / n;
                    int round = i;
                    cpu1.forEach((g, t) -> cpu.computeIfAbsent(g, k -> new double[rounds])[round]
                            = (t - cpu0.getOrDefault(g, 0L)) / 1e3 / n);
                    System.out.printf("round %d: %.1f tok/s, %.0f B/token%n", i, tps[i], alloc[i]);
                }
            }
            if (jfr != null) {
                DecodeProfile.dcmd("jfrStop", "name=small", "filename=" + jfr);
            }
            System.out.printf("%s, policy %s, %d tokens x %d rounds after %d warm-up tokens:%n", path, policy, tokens,
                    rounds, warmup);
            System.out.printf("  decode tok/s %s%n", summary(tps));
            if (withReference) {
                System.out.printf("  reference decoder (%s, no actors, interleaved, prefill included) tok/s %s%n",
                        referenceMode, summary(ref));
                if (reference == null) {
                    System.out.printf("  reference decoder on one thread: cpu µs/token %s%n", summary(refCpu));
                }
            }
            System.out.printf("  heap B/token %s%n", summary(alloc));
            double[] total = new double[rounds];
            cpu.forEach((g, us) -> {
                System.out.printf("  cpu µs/token %-10s %s%n", g, summary(us));
                for (int i = 0; i < rounds; i++) {
                    total[i] += us[i];
                }
            });
            System.out.printf("  cpu µs/token %-10s %s%n", "all", summary(total));
        }
    }

    /** Threads by role: the actors' dispatcher (an older build's session dispatcher apart), the runtime's compute pool, others. */
    private static Map<String, Long> groups(Map<String, Long> byThread) {
        Map<String, Long> m = new TreeMap<>();
        byThread.forEach((name, t) -> {
            String g = name.contains("session-dispatcher") ? "session"
                    : name.contains("shard-dispatcher") ? "actors"
                    : name.contains("maintenance") ? "maint"
                    : name.contains("compute") || name.contains("ForkJoinPool") ? "compute" : "other";
            m.merge(g, t, Long::sum);
        });
        return m;
    }

    private static String summary(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return String.format("median %.1f (%.1f-%.1f)", s[s.length / 2], s[0], s[s.length - 1]);
    }
}

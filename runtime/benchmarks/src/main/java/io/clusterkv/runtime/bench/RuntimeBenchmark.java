package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.SessionOptions;
import io.clusterkv.runtime.GenerationResult;
import io.clusterkv.runtime.SessionStats;
import io.clusterkv.runtime.TokenListener;

import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.decode.ReferenceDecoder;
import io.clusterkv.runtime.decode.HistoryFill;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.synthetic.SyntheticWorkload;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import io.clusterkv.runtime.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;

/**
 * Decode throughput through the actor runtime on {@code synthetic:llama-1b} (Q8_0 weights), a plain main
 * (no JMH), two parts:
 * <ul>
 * <li>{@code overhead}: a 4096-position history (the synthetic workload's keys and values, placed with
 * {@link HistoryFill}, no prefill), then greedy decode steps through the actors with {@code full}
 * against the direct single-threaded-attention path ({@link ReferenceDecoder}), same kernels, alternating
 * rounds in one run; the median per path and the ratio;</li>
 * <li>{@code long}: a 32768-position history, then decode steps with {@code full}, {@code clusterkv}
 * and {@code quest} at budget 1024, for F16 and F32 KV storage; tokens/s, the bytes read per token
 * (weights plus the KV rows attention read, from {@link SessionStats#attendedRows()}, plus the policy's
 * metadata, estimated), the bound those bytes put on tokens/s at the bandwidth measured in the same run,
 * and the fraction of that bound reached.</li>
 * </ul>
 * Every shard gets the same workload rows (one workload of head dim 64), so ClusterKV clusters the same
 * keys in every shard; its prompt clustering runs before timing starts (waited for), with the
 * mini-batch k-means ({@code algorithm = mini-batch}) to keep the 112 sparse shards' clustering short.
 *
 * <p>Run from the repository root (JDK 25):
 * <pre>
 * CKV_JAVA_OPTS=-Xmx10g ./ckv bench runtime [overhead] [long]    # -Dbench.context=N -Dbench.steps=N for long
 * </pre>
 */
public final class RuntimeBenchmark {

    static final String MODEL = "synthetic:llama-1b:q8_0";

    private RuntimeBenchmark() {
    }

    /** The same workload rows for every shard. */
    record WorkloadFill(SyntheticWorkload workload) implements HistoryFill {
        @Override
        public int positions() {
            return workload.promptLength();
        }

        @Override
        public void fill(int layer, int kvHead, KvShard shard) {
            workload.appendPrompt(shard);
        }
    }

    static SyntheticWorkload workload(int positions, int headDim) {
        return SyntheticWorkload.generate(WorkloadParams.defaults().withPromptLength(positions).withSteps(1)
                .withHeadDim(headDim).withSeed(7));
    }

    public static void main(String[] args) throws Exception {
        List<String> parts = args.length == 0 ? List.of("overhead", "long") : Arrays.asList(args);
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf(Locale.ROOT, "%s, %d cores, vector=%s, %s%n", MODEL, cores, WeightMatrix.vectorized(),
                Runtime.version());
        long b0 = System.nanoTime();
        try (LlamaModel model = Models.load(MODEL)) {
            System.out.printf(Locale.ROOT, "model built in %.1f s; %.1f MB of weights streamed per token%n",
                    (System.nanoTime() - b0) / 1e9, DecodeBenchmark.streamedBytesPerToken(model) / 1e6);
            if (parts.contains("overhead")) {
                overhead(model, cores);
            }
            if (parts.contains("long")) {
                longContext(model, cores);
            }
        }
    }

    // ---- part 1 ----

    static void overhead(LlamaModel model, int cores) {
        int context = 4096;
        int steps = 24;
        int rounds = 3;
        SyntheticWorkload w = workload(context, model.config().headDim());
        ForkJoinPool pool = new ForkJoinPool(cores);
        double[] direct = new double[rounds];
        double[] actors = new double[rounds];
        double[] alloc;
        try (ClusterKvRuntime runtime = runtime(cores, "f16", Map.of())) {
            directTokensPerSecond(model, pool, w, steps); // warm-up
            actorTokensPerSecond(runtime, model, w, steps);
            for (int r = 0; r < rounds; r++) {
                direct[r] = directTokensPerSecond(model, pool, w, steps);
                actors[r] = actorTokensPerSecond(runtime, model, w, steps);
            }
            alloc = allocatedBytesPerToken(runtime, model, w, steps, pool);
        } finally {
            pool.shutdown();
        }
        double d = median(direct);
        double a = median(actors);
        System.out.printf(Locale.ROOT, "%nactor overhead at %d positions (F16 KV, full, %d steps, median of %d rounds):%n",
                context, steps, rounds);
        System.out.printf(Locale.ROOT, "  direct (ReferenceDecoder):  %.2f tok/s  (rounds %s)%n", d, fmt(direct));
        System.out.printf(Locale.ROOT, "  actors (Session):     %.2f tok/s  (rounds %s)%n", a, fmt(actors));
        System.out.printf(Locale.ROOT, "  actors / direct:      %.3f%n", a / d);
        System.out.printf(Locale.ROOT, "  heap allocated per decoded token, all threads: direct %.0f B, actors %.0f B%n",
                alloc[0], alloc[1]);
    }

    /**
     * Heap bytes allocated per decode step by all threads of the JVM (thread allocation counters), for the
     * direct path and through the actors, over {@code 2 * steps} steps after the first few.
     */
    static double[] allocatedBytesPerToken(ClusterKvRuntime runtime, LlamaModel model, SyntheticWorkload w, int steps,
                                           ForkJoinPool pool) {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        double direct;
        try (ReferenceDecoder g = new ReferenceDecoder(model, KvFormat.F16, pool)) {
            g.fill(new WorkloadFill(w));
            int token = Sampler.argmax(g.next(1));
            long a0 = threads.getTotalThreadAllocatedBytes();
            for (int i = 0; i < steps; i++) {
                token = Sampler.argmax(g.next(token));
            }
            direct = (double) (threads.getTotalThreadAllocatedBytes() - a0) / steps;
        }
        double actors;
        try (Session s = runtime.openSession(model, SessionOptions.builder().policy("full").budget(1 << 20).build())) {
            s.fill(new WorkloadFill(w)).join();
            s.generate(new int[] {1}, 2, Sampler.greedy(), TokenListener.none()).join();
            long a0 = threads.getTotalThreadAllocatedBytes();
            s.generate(new int[] {2}, steps + 1, Sampler.greedy(), TokenListener.none()).join();
            // one prefill chunk of one token (a few messages) plus `steps` decode steps
            actors = (double) (threads.getTotalThreadAllocatedBytes() - a0) / steps;
        }
        return new double[] {direct, actors};
    }

    static double directTokensPerSecond(LlamaModel model, ForkJoinPool pool, SyntheticWorkload w, int steps) {
        try (ReferenceDecoder g = new ReferenceDecoder(model, KvFormat.F16, pool)) {
            g.fill(new WorkloadFill(w));
            int token = Sampler.argmax(g.next(1));
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                token = Sampler.argmax(g.next(token));
            }
            return steps * 1e9 / (System.nanoTime() - t0);
        }
    }

    static double actorTokensPerSecond(ClusterKvRuntime runtime, LlamaModel model, SyntheticWorkload w, int steps) {
        try (Session s = runtime.openSession(model, SessionOptions.builder().policy("full").budget(1 << 20).build())) {
            s.fill(new WorkloadFill(w)).join();
            // one prompt token, then `steps` decode steps: the same work as the direct loop
            return s.generate(new int[] {1}, steps + 1, Sampler.greedy(), TokenListener.none()).join()
                    .decodeTokensPerSecond();
        }
    }

    // ---- part 2 ----

    static void longContext(LlamaModel model, int cores) throws Exception {
        int context = Integer.getInteger("bench.context", 32768);
        int steps = Integer.getInteger("bench.steps", 16);
        int budget = 1024;
        double bandwidth = bandwidth(cores);
        System.out.printf(Locale.ROOT, "%nmemory baseline (Vector API read of 1 GiB, %d threads): %.2f GB/s%n", cores,
                bandwidth / 1e9);
        SyntheticWorkload w = workload(context, model.config().headDim());
        long weights = DecodeBenchmark.streamedBytesPerToken(model);
        System.out.printf(Locale.ROOT, "%ndecode at %d positions, budget %d, %d steps each:%n", context, budget, steps);
        System.out.printf(Locale.ROOT, "%-4s %-10s %-9s %8s %10s %10s %9s %8s %8s %8s %10s%n", "kv", "policy",
                "residency", "tok/s", "KV MB/tok", "meta MB/tok", "bound", "of bound", "vs full", "hit rate",
                "moved MB/tok");
        for (String format : List.of("f16", "f32")) {
            double fullTps = 0;
            for (String rule : List.of("caffeine", "lru", "last-r")) {
                Map<String, Object> conf = Map.of("clusterkv.policy.clusterkv.algorithm", "mini-batch",
                        "clusterkv.residency.policy", rule, "clusterkv.residency.capacity", "256MiB");
                try (ClusterKvRuntime runtime = runtime(cores, format, conf)) {
                    for (String policy : List.of("full", "clusterkv", "quest")) {
                        if (policy.equals("full") && fullTps > 0) {
                            continue; // full has no device tier: once per format
                        }
                        double tps = measure(runtime, model, w, policy, budget, steps, format, weights, bandwidth,
                                fullTps, context);
                        if (policy.equals("full")) {
                            fullTps = tps;
                        }
                    }
                }
            }
        }
    }

    static double measure(ClusterKvRuntime runtime, LlamaModel model, SyntheticWorkload w, String policy, int budget,
                          int steps, String format, long weights, double bandwidth, double fullTps, int context)
            throws InterruptedException {
        int b = policy.equals("full") ? 1 << 20 : budget;
        try (Session s = runtime.openSession(model, SessionOptions.builder().policy(policy).budget(b).build())) {
            s.fill(new WorkloadFill(w)).join();
            waitForMaintenance(s);
            s.generate(new int[] {1}, 4, Sampler.greedy(), TokenListener.none()).join(); // warm-up steps
            SessionStats before = s.stats();
            GenerationResult r = s.generate(new int[] {2}, steps + 1, Sampler.greedy(), TokenListener.none()).join();
            SessionStats after = s.stats();
            double tps = r.decodeTokensPerSecond();
            long decoded = after.decodeSteps() - before.decodeSteps();
            int rowBytes = model.config().headDim() * (format.equals("f16") ? 2 : 4) * 2;
            double kvPerToken = (double) (after.attendedRows() - before.attendedRows()) * rowBytes / decoded;
            double meta = metadataBytesPerToken(policy, model, context, budget);
            long hits = after.residency().hits() - before.residency().hits();
            long requests = after.residency().requests() - before.residency().requests();
            double moved = (double) (after.residency().bytesMoved() - before.residency().bytesMoved()) / decoded;
            // a miss reads the host rows and writes the copy: twice the bytes moved, on top of attention's reads
            double bound = bandwidth / (weights + kvPerToken + meta + 2 * moved);
            String rule = policy.equals("full") ? "-" : runtime.settings().residency().rule().name().toLowerCase(Locale.ROOT);
            System.out.printf(Locale.ROOT, "%-4s %-10s %-9s %8.2f %10.1f %10.1f %9.2f %7.0f%% %8.2f %8s %10.2f%n",
                    format, policy, rule, tps, kvPerToken / 1e6, meta / 1e6, bound, 100 * tps / bound,
                    fullTps > 0 ? tps / fullTps : 1.0,
                    requests == 0 ? "-" : String.format(Locale.ROOT, "%.3f", (double) hits / requests), moved / 1e6);
            return tps;
        }
    }

    /**
     * What a policy's selection reads besides KV rows, per token: Quest's per-page min and max
     * ({@code 2 * headDim} floats a page), ClusterKV's centroids ({@code headDim} floats a cluster, about
     * one per 80 positions) and member lists (4 bytes a selected position, per query head), per sparse shard.
     */
    static double metadataBytesPerToken(String policy, LlamaModel model, int context, int budget) {
        var c = model.config();
        int sparseShards = (c.layers() - 2) * c.kvHeads();
        int hd = c.headDim();
        return switch (policy) {
            case "quest" -> (double) sparseShards * Math.ceil(context / 16.0) * 2 * hd * 4;
            case "clusterkv" -> (double) sparseShards * (Math.ceil(context / 80.0) * hd * 4 + c.groupSize() * budget * 4.0);
            default -> 0;
        };
    }

    static void waitForMaintenance(Session s) throws InterruptedException {
        long t0 = System.nanoTime();
        while (true) {
            SessionStats st = s.stats();
            if (st.maintenanceApplied() >= st.maintenanceStarted()) {
                if (st.maintenanceStarted() > 0) {
                    System.out.printf(Locale.ROOT, "  (%s: %d maintenance tasks done in %.1f s)%n", st.policy(),
                            st.maintenanceApplied(), (System.nanoTime() - t0) / 1e9);
                }
                return;
            }
            Thread.sleep(50);
        }
    }

    // ---- shared ----

    static ClusterKvRuntime runtime(int cores, String kvFormat, Map<String, Object> extra) {
        Map<String, Object> conf = new LinkedHashMap<>(extra);
        conf.put("clusterkv.runtime.kv-format", kvFormat);
        conf.put("clusterkv.runtime.compute-threads", cores);
        return ClusterKvRuntime.builder().config(ConfigFactory.parseMap(conf)).build();
    }

    static double bandwidth(int cores) {
        ForkJoinPool pool = new ForkJoinPool(cores);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment s = arena.allocate(1L << 30, 64);
            for (long o = 0; o < s.byteSize(); o += 4096) {
                s.set(ValueLayout.JAVA_BYTE, o, (byte) o);
            }
            double[] t = new double[7];
            for (int i = 0; i < 2; i++) {
                MatvecBenchmark.parallelSum(pool, s);
            }
            for (int i = 0; i < t.length; i++) {
                long t0 = System.nanoTime();
                MatvecBenchmark.parallelSum(pool, s);
                t[i] = (System.nanoTime() - t0) / 1e9;
            }
            return (1L << 30) / median(t);
        } finally {
            pool.shutdown();
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static String fmt(double[] v) {
        List<String> out = new ArrayList<>();
        for (double x : v) {
            out.add(String.format(Locale.ROOT, "%.2f", x));
        }
        return String.join(", ", out);
    }
}

package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.SessionOptions;
import io.clusterkv.runtime.TokenListener;

import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.decode.ReferenceDecoder;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.synthetic.SyntheticWorkload;
import io.clusterkv.runtime.tensor.ComputePool;
import io.clusterkv.runtime.tensor.WeightMatrix;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;

/**
 * The actor runtime's overhead on {@code synthetic:llama-1b} (Q8_0 weights), a plain main (no JMH): a
 * 4096-position history (the synthetic workload's keys and values, placed with {@link WorkloadHistory},
 * no prefill), then greedy decode steps through the actors with {@code full} against the direct
 * single-threaded-attention path ({@link ReferenceDecoder}), same kernels, alternating rounds in one run;
 * the median per path, the ratio, and the heap allocated per token by all threads. Decode speed at long
 * contexts and per policy is {@link DecodeBench} ({@code ckv bench decode}).
 *
 * <p>Run from the repository root (JDK 25):
 * <pre>
 * CKV_JAVA_OPTS=-Xmx10g ./ckv bench runtime
 * </pre>
 */
public final class RuntimeBenchmark {

    static final String MODEL = "synthetic:llama-1b:q8_0";

    private RuntimeBenchmark() {
    }

    static SyntheticWorkload workload(int positions, int headDim) {
        return WorkloadHistory.of(positions, headDim).workload();
    }

    public static void main(String[] args) throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.print(MachineInfo.current().describe());
        System.out.printf(Locale.ROOT, "%s, %d cores, vector=%s%n", MODEL, cores, WeightMatrix.vectorized());
        long b0 = System.nanoTime();
        try (LlamaModel model = Models.load(MODEL)) {
            System.out.printf(Locale.ROOT, "model built in %.1f s; %.1f MB of weights streamed per token%n",
                    (System.nanoTime() - b0) / 1e9, DecodeBench.weightBytesPerToken(model) / 1e6);
            overhead(model, cores);
        }
    }

    static void overhead(LlamaModel model, int cores) {
        int context = 4096;
        int steps = 24;
        int rounds = 3;
        SyntheticWorkload w = workload(context, model.config().headDim());
        ForkJoinPool pool = new ComputePool(cores, "bench-compute", ComputePool.DEFAULT_SPIN);
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
            g.fill(new WorkloadHistory(w));
            int token = Sampler.argmax(g.next(1));
            long a0 = threads.getTotalThreadAllocatedBytes();
            for (int i = 0; i < steps; i++) {
                token = Sampler.argmax(g.next(token));
            }
            direct = (double) (threads.getTotalThreadAllocatedBytes() - a0) / steps;
        }
        double actors;
        try (Session s = runtime.openSession(model, SessionOptions.builder().policy("full").budget(1 << 20).build())) {
            s.fill(new WorkloadHistory(w)).join();
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
            g.fill(new WorkloadHistory(w));
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
            s.fill(new WorkloadHistory(w)).join();
            // one prompt token, then `steps` decode steps: the same work as the direct loop
            return s.generate(new int[] {1}, steps + 1, Sampler.greedy(), TokenListener.none()).join()
                    .decodeTokensPerSecond();
        }
    }

    // ---- shared ----

    static ClusterKvRuntime runtime(int cores, String kvFormat, Map<String, Object> extra) {
        Map<String, Object> conf = new LinkedHashMap<>(extra);
        conf.put("clusterkv.runtime.kv-format", kvFormat);
        conf.put("clusterkv.runtime.compute-threads", cores);
        return ClusterKvRuntime.builder().config(ConfigFactory.parseMap(conf)).build();
    }

    static double median(double[] v) {
        return DecodeBench.median(v);
    }

    static String fmt(double[] v) {
        List<String> out = new ArrayList<>();
        for (double x : v) {
            out.add(String.format(Locale.ROOT, "%.2f", x));
        }
        return String.join(", ", out);
    }
}

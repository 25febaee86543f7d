package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.decode.ReferenceDecoder;
import io.clusterkv.runtime.model.ForwardPass;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.SyntheticModels;
import io.clusterkv.runtime.model.Sampler;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ForkJoinPool;

/**
 * Decode and prefill throughput of {@code synthetic:llama-1b} (Llama 3.2 1B shape, seeded random
 * weights) per weight type, a plain main (no JMH), on all cores (a ForkJoinPool of
 * {@code availableProcessors()}):
 * <ul>
 * <li>decode tokens/s at a short context: a 16-token prompt, then 32 greedy tokens timed one by one
 * (after a warm-up session), the median of 3 rounds;</li>
 * <li>the weight bytes streamed per decoded token (every layer matrix plus the classifier) times
 * tokens/s as GB/s, and its ratio to a memory-bandwidth baseline measured in the same run (a Vector
 * API read of a 1 GiB off-heap segment, split over the pool as matvec splits rows);</li>
 * <li>prefill tokens/s of a 512-token prompt (batched, {@link ForwardPass#PREFILL_CHUNK} tokens a
 * chunk), and its ratio to decode tokens/s.</li>
 * </ul>
 *
 * <p>Run from the repository root (JDK 25; building each model takes a few seconds a GB):
 * <pre>
 * ./ckv bench decode [TYPE ...]          # CKV_JAVA_OPTS=-Xmx16g for F32
 * </pre>
 * Types default to Q8_0 and Q4_0 (any of F32, F16, BF16, Q8_0, Q4_0; F32 takes about 5 GB).
 */
public final class DecodeBenchmark {

    static final String MODEL = "synthetic:llama-1b";
    static final int PROMPT = 16;
    static final int DECODE = 32;
    static final int PREFILL = 512;
    static final long BASELINE_BYTES = 1L << 30;

    private DecodeBenchmark() {
    }

    static int[] prompt(int n, int vocab) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = 1 + (int) ((i * 2654435761L) % (vocab - 1));
        }
        return p;
    }

    /** @return bytes of weights one decoded token reads: every layer matrix and the output projection */
    public static long streamedBytesPerToken(LlamaModel m) {
        long b = m.output().data().byteSize();
        for (int l = 0; l < m.config().layers(); l++) {
            LlamaModel.Layer y = m.layer(l);
            for (WeightMatrix w : List.of(y.wq(), y.wk(), y.wv(), y.wo(), y.gate(), y.up(), y.down())) {
                b += w.data().byteSize();
            }
        }
        return b;
    }

    /** @return seconds per decoded token: prefill the prompt, then {@value #DECODE} greedy steps */
    static double decodeSecondsPerToken(LlamaModel m, ForkJoinPool pool) {
        try (ReferenceDecoder g = new ReferenceDecoder(m, KvFormat.F32, pool)) {
            int token = Sampler.argmax(g.prefill(prompt(PROMPT, m.config().vocab())));
            long t0 = System.nanoTime();
            for (int i = 0; i < DECODE; i++) {
                token = Sampler.argmax(g.next(token));
            }
            return (System.nanoTime() - t0) / 1e9 / DECODE;
        }
    }

    static double prefillSeconds(LlamaModel m, ForkJoinPool pool, int n) {
        try (ReferenceDecoder g = new ReferenceDecoder(m, KvFormat.F32, pool)) {
            long t0 = System.nanoTime();
            g.prefill(prompt(n, m.config().vocab()));
            return (System.nanoTime() - t0) / 1e9;
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    public static void main(String[] args) {
        List<GgmlType> types = new ArrayList<>();
        for (String a : args) {
            types.add(GgmlType.valueOf(a.toUpperCase(Locale.ROOT)));
        }
        if (types.isEmpty()) {
            types = List.of(GgmlType.Q8_0, GgmlType.Q4_0);
        }
        int cores = Runtime.getRuntime().availableProcessors();
        ForkJoinPool pool = new ForkJoinPool(cores);
        System.out.printf(Locale.ROOT, "%s, %d cores, vector=%s, %s%n", MODEL, cores, WeightMatrix.vectorized(),
                Runtime.version());

        double baseline;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment s = arena.allocate(BASELINE_BYTES, 64);
            for (long o = 0; o < s.byteSize(); o += 4096) {
                s.set(ValueLayout.JAVA_BYTE, o, (byte) o); // touch every page
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
            baseline = BASELINE_BYTES / median(t) / 1e9;
        }
        System.out.printf(Locale.ROOT, "memory baseline (Vector API read of 1 GiB, %d threads): %.2f GB/s%n", cores,
                baseline);

        for (GgmlType type : types) {
            long b0 = System.nanoTime();
            try (LlamaModel m = SyntheticModels.create(MODEL, type, Models.SYNTHETIC_SEED)) {
                long bytes = streamedBytesPerToken(m);
                System.out.printf(Locale.ROOT, "%n%s: built in %.1f s; %.1f MB of weights streamed per token%n", type,
                        (System.nanoTime() - b0) / 1e9, bytes / 1e6);
                decodeSecondsPerToken(m, pool); // warm-up
                prefillSeconds(m, pool, 2 * ForwardPass.PREFILL_CHUNK);
                double[] d = new double[3];
                for (int i = 0; i < d.length; i++) {
                    d[i] = decodeSecondsPerToken(m, pool);
                }
                double tps = 1 / median(d);
                double gbs = bytes * tps / 1e9;
                System.out.printf(Locale.ROOT, "  decode (%d-token prompt, %d tokens): %.2f tokens/s (rounds %s s/token);"
                        + " %.2f GB/s of weights = %.0f%% of the baseline%n", PROMPT, DECODE, tps,
                        Arrays.toString(Arrays.stream(d).map(x -> Math.round(x * 1e4) / 1e4).toArray()), gbs,
                        100 * gbs / baseline);
                double p = prefillSeconds(m, pool, PREFILL);
                double ptps = PREFILL / p;
                System.out.printf(Locale.ROOT, "  prefill (%d tokens, batched): %.1f s, %.1f tokens/s = %.1f x decode%n",
                        PREFILL, p, ptps, ptps / tps);
            }
        }
        pool.shutdown();
    }
}

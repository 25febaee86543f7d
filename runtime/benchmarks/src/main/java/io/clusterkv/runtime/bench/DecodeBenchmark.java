package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.decode.ReferenceDecoder;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Sampler;

import io.clusterkv.runtime.kv.KvFormat;
import java.util.concurrent.ForkJoinPool;

/**
 * Decode and prefill of {@code synthetic:llama-1b} on the direct path ({@link ReferenceDecoder}: no
 * actors, F32 KV, exact attention): the measurements {@link BuildComparison} runs in each build it
 * compares (it finds this class and its methods by name in every build, so they keep their names and
 * signatures). Decode and prefill through the runtime, as applications get them, are {@link DecodeBench}
 * ({@code ckv bench decode}, {@code ckv bench prefill}).
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
        return DecodeBench.weightBytesPerToken(m);
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
}

package io.clusterkv.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.decode.ReferenceDecoder;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.model.fixtures.TestModelFiles;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Decoding through the actors against the direct single-threaded forward pass ({@link ReferenceDecoder}): with
 * {@code full} the same tokens and the same logits up to float rounding; with any baseline policy and a
 * budget at least the context, the same tokens as {@code full}.
 */
@ExtendWith(LogCapturingExtension.class)
class RuntimeExactnessTest {

    private static ClusterKvRuntime runtime;

    @BeforeAll
    static void start() {
        runtime = ClusterKvRuntime.builder()
                .config(ConfigFactory.parseMap(Map.of(
                        "clusterkv.runtime.kv-format", "f32",
                        "clusterkv.runtime.policy", "full",
                        "clusterkv.runtime.dense-layers", 0,
                        "clusterkv.runtime.compute-threads", 2)))
                .build();
    }

    @AfterAll
    static void stop() {
        runtime.close();
    }

    @Test
    void fullThroughActorsMatchesTheDirectPassOnStories260K() throws Exception {
        try (LlamaModel model = Models.load(TestModelFiles.stories260K())) {
            checkAgainstDirect(model, 64);
        }
    }

    @Test
    void fullThroughActorsMatchesTheDirectPassOnASyntheticGqaModel() throws Exception {
        try (LlamaModel model = Models.load("synthetic:tiny")) {
            checkAgainstDirect(model, 40);
        }
    }

    /**
     * Gemma 3's five sliding-window layers (a window of 16 here) attend their window exactly in the shard actors,
     * in the prefill's blocks and in decode, with no policy; the global layer goes through the policy's selection.
     */
    @Test
    void slidingWindowLayersThroughActorsMatchTheDirectPass() throws Exception {
        try (LlamaModel model = Models.load("synthetic:tiny-gemma3")) {
            checkAgainstDirect(model, 40);
            // its greedy tokens are near-certain (NLL ~1e-6, which a wrong window barely moves): score random tokens
            int[] prompt = randomTokens(model.config().vocab(), 70, 3);
            int[] forced = randomTokens(model.config().vocab(), 30, 4);
            double[] expected = new double[forced.length];
            try (ReferenceDecoder g = new ReferenceDecoder(model, KvFormat.F32, null)) {
                float[] l = g.prefill(prompt);
                for (int i = 0; i < forced.length; i++) {
                    expected[i] = nll(l, forced[i]);
                    l = g.next(forced[i]);
                }
            }
            try (Session s = runtime.openSession(model, options(Map.of()))) {
                double[] nll = s.score(prompt, forced).join().nll();
                for (int i = 0; i < forced.length; i++) {
                    assertTrue(expected[i] > 1, "a token the model does not expect: " + expected[i]);
                    assertEquals(expected[i], nll[i], 1e-4 * expected[i], "nll of forced token " + i);
                }
            }
        }
    }

    /**
     * Gemma 2's soft-capped attention scores (a cap of 1.5 in tiny-gemma2, which changes them) in every attention
     * path of the actors: the sliding layers' exact windows, the prefill's blocks, the global layers' selections read
     * from the device tier's copies and, without a tier, from the host store, per head and shared by the group.
     * The direct pass is itself checked against the float64 reference (ArchitectureReferenceTest).
     */
    @Test
    void softCappedAttentionThroughActorsMatchesTheDirectPass() throws Exception {
        try (LlamaModel model = Models.load("synthetic:tiny-gemma2")) {
            assertEquals(1.5, model.config().variant().attentionSoftcap());
            checkAgainstDirect(model, 40);
            try (ClusterKvRuntime inPlace = inPlaceRuntime()) {
                checkAgainstDirect(inPlace, model, 40, Map.of());
                checkAgainstDirect(inPlace, model, 40, Map.of("clusterkv.runtime.selection-scope", "group"));
            }
        }
    }

    @Test
    void aSelectionTheGroupSharesMatchesTheDirectPassThroughTheDeviceTierAndInPlace() throws Exception {
        try (LlamaModel model = Models.load("synthetic:tiny")) { // 2 query heads per KV head
            Map<String, Object> group = Map.of("clusterkv.runtime.selection-scope", "group");
            checkAgainstDirect(runtime, model, 40, group);
            try (ClusterKvRuntime inPlace = inPlaceRuntime()) {
                checkAgainstDirect(inPlace, model, 40, group);
                checkAgainstDirect(inPlace, model, 40, Map.of());
            }
        }
    }

    /** A runtime without a device tier (attention reads the host store in place), every layer through the policy. */
    private static ClusterKvRuntime inPlaceRuntime() {
        return ClusterKvRuntime.builder()
                .config(ConfigFactory.parseMap(Map.of(
                        "clusterkv.runtime.kv-format", "f32",
                        "clusterkv.runtime.policy", "full",
                        "clusterkv.runtime.dense-layers", 0,
                        "clusterkv.runtime.compute-threads", 2,
                        "clusterkv.residency.policy", "none")))
                .build();
    }

    private static void checkAgainstDirect(LlamaModel model, int steps) {
        checkAgainstDirect(runtime, model, steps, Map.of());
    }

    /** {@code full} at budget 16 (its selection, all positions, attended through the sparse path) against the direct pass. */
    private static void checkAgainstDirect(ClusterKvRuntime runtime, LlamaModel model, int steps,
                                           Map<String, Object> settings) {
        int[] prompt = randomTokens(model.config().vocab(), 70, 1); // two prefill chunks
        int[] direct;
        float[][] directLogits = new float[steps][];
        try (ReferenceDecoder g = new ReferenceDecoder(model, KvFormat.F32, null)) {
            direct = new int[steps];
            float[] l = g.prefill(prompt);
            for (int i = 0; i < steps; i++) {
                directLogits[i] = l.clone();
                direct[i] = Sampler.argmax(l);
                l = g.next(direct[i]);
            }
        }
        try (Session s = runtime.openSession(model, options(settings))) {
            GenerationResult r = s.generate(prompt, steps, Sampler.greedy(), TokenListener.none()).join();
            int[] tokens = r.tokens();
            // stop tokens may end the run early; compare what was produced
            assertTrue(tokens.length > 0);
            for (int i = 0; i < tokens.length; i++) {
                assertEquals(direct[i], tokens[i], "token " + i);
            }
            SessionStats st = s.stats();
            assertEquals(prompt.length, st.promptTokens());
            assertTrue(st.sparseShardSteps() > 0, "budget 16 < context: the policy's selection was attended");
        }
        // logits: score the direct greedy tokens under teacher forcing and compare the NLLs
        try (Session s = runtime.openSession(model, options(settings))) {
            ScoreResult sr = s.score(prompt, direct).join();
            double[] nll = sr.nll();
            for (int i = 0; i < steps; i++) {
                double expected = nll(directLogits[i], direct[i]);
                assertEquals(expected, nll[i], 1e-4 * Math.max(1, Math.abs(expected)), "nll at " + i);
                assertEquals(Sampler.argmax(directLogits[i]), sr.argmax()[i], "argmax at " + i);
            }
        }
    }

    private static SessionOptions options(Map<String, Object> settings) {
        // exact-coverage 1: the shards select past (selection heads x 16) positions, so decode goes through
        // the sparse path (full's selection: every position)
        SessionOptions.Builder b = SessionOptions.builder().policy("full").budget(16)
                .set("clusterkv.runtime.exact-coverage", 1);
        settings.forEach(b::set);
        return b.build();
    }

    @Test
    void everyBaselineWithABudgetCoveringTheContextDecodesLikeFull() throws Exception {
        try (LlamaModel model = Models.load(TestModelFiles.stories260K())) {
            int[] prompt = randomTokens(model.config().vocab(), 20, 2);
            int[] full = generate(model, "full", 4096, prompt, 30);
            for (String policy : runtime.policies().names()) {
                assertArrayEquals(full, generate(model, policy, 64, prompt, 30), policy);
            }
        }
    }

    private static int[] generate(LlamaModel model, String policy, int budget, int[] prompt, int n) {
        try (Session s = runtime.openSession(model, SessionOptions.builder().policy(policy).budget(budget).build())) {
            return s.generate(prompt, n, Sampler.greedy(), TokenListener.none()).join().tokens();
        }
    }

    static double nll(float[] logits, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp((double) l - max);
        }
        return Math.log(sum) + max - logits[target];
    }

    static int[] randomTokens(int vocab, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 3 + r.nextInt(vocab - 3);
        }
        return t;
    }
}

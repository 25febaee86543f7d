package io.clusterkv.runtime.decode;

import io.clusterkv.runtime.model.ForwardPass;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.model.SyntheticModels;
import io.clusterkv.runtime.model.fixtures.TestModelFiles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.tensor.GgmlType;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Batched prefill (matrix-matrix products, causal attention per position, in chunks) must leave the
 * same KV history and last-token logits as decoding the prompt token by token.
 */
class PrefillTest {

    static ForkJoinPool pool;

    @BeforeAll
    static void pool() {
        pool = new ForkJoinPool(2);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    static LlamaModel open(String name) throws Exception {
        return name.equals("stories260K") ? Models.load(TestModelFiles.stories260K().toString())
                : SyntheticModels.create(name, GgmlType.F32, 7);
    }

    @ParameterizedTest
    @ValueSource(strings = {"stories260K", "synthetic:tiny", "synthetic:tiny-qwen2"})
    void prefillMatchesTokenByTokenDecode(String name) throws Exception {
        try (LlamaModel m = open(name);
             ReferenceDecoder batched = ReferenceDecoder.create(m, pool);
             ReferenceDecoder stepped = ReferenceDecoder.create(m, null)) {
            ModelConfig c = m.config();
            int[] prompt = new SplittableRandom(3).ints(ForwardPass.PREFILL_CHUNK * 2 + 9, 0, c.vocab()).toArray();
            int split = 21; // a first prefill, then a second one continuing at position 21
            float[] expected = null;
            for (int token : prompt) {
                expected = stepped.next(token).clone();
            }
            batched.prefill(java.util.Arrays.copyOf(prompt, split));
            float[] actual = batched.prefill(java.util.Arrays.copyOfRange(prompt, split, prompt.length)).clone();
            assertEquals(prompt.length, batched.position());
            assertClose(expected, actual, "last-token logits");
            float[] a = new float[prompt.length * c.headDim()];
            float[] b = new float[prompt.length * c.headDim()];
            for (int l = 0; l < c.layers(); l++) {
                for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
                    KvShard.View sb = batched.shard(l, kvh).snapshot();
                    KvShard.View ss = stepped.shard(l, kvh).snapshot();
                    assertEquals(prompt.length, sb.size());
                    sb.copyKeys(0, prompt.length, a, 0);
                    ss.copyKeys(0, prompt.length, b, 0);
                    assertClose(b, a, "keys of layer " + l + " kv head " + kvh);
                    sb.copyValues(0, prompt.length, a, 0);
                    ss.copyValues(0, prompt.length, b, 0);
                    assertClose(b, a, "values of layer " + l + " kv head " + kvh);
                }
            }
            // and decoding goes on identically after either
            int next = Sampler.argmax(expected);
            assertClose(stepped.next(next).clone(), batched.next(next).clone(), "logits after the prompt");
        }
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Float.isFinite(actual[i]), what + "[" + i + "] is " + actual[i]);
            float tol = 1e-4f * Math.max(1f, Math.abs(expected[i]));
            if (Math.abs(expected[i] - actual[i]) > tol) {
                throw new AssertionError(what + "[" + i + "]: expected " + expected[i] + ", got " + actual[i]);
            }
        }
    }
}

package io.clusterkv.runtime.decode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.model.GgufModelWriter;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.fixtures.ReferenceForward;
import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.tensor.GgmlType;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each architecture read from GGUF against {@link ReferenceForward}, a float64 forward pass written from the
 * architecture's published definition: a synthetic model of the architecture is written as GGUF (by the
 * exporter llama.cpp loads), read back, and decoded by {@link ReferenceDecoder} (prefill, then single steps);
 * every step's logits must agree with the reference's on the same file, in float accuracy, and so must the argmax.
 * For qwen3 this is the check the issue asks for where llama.cpp's snapshot (b4748) has no such architecture.
 */
class ArchitectureReferenceTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"synthetic:tiny, F32", "synthetic:tiny-qwen2, F32", "synthetic:tiny-qwen3, F32",
            "synthetic:tiny-qwen3, Q8_0", "synthetic:tiny-gemma3, F32", "synthetic:tiny-gemma3, Q8_0",
            "synthetic:tiny-gemma2, F32", "synthetic:tiny-gemma2, Q8_0"})
    void logitsMatchTheFloat64Reference(String name, GgmlType type) throws Exception {
        Path file = dir.resolve("m.gguf");
        try (LlamaModel synthetic = Models.load(name + ":" + type.name().toLowerCase(java.util.Locale.ROOT))) {
            GgufModelWriter.of(synthetic).write(file);
        }
        // 40 positions: beyond the sliding window (16) of tiny-gemma3's five sliding layers, in the prompt and after
        int[] prompt = new java.util.Random(5).ints(28, 1, 256).toArray();
        int[] decoded = new java.util.Random(6).ints(12, 1, 256).toArray();
        try (GgufFile f = GgufFile.open(file); LlamaModel m = Models.load(file.toString());
             ReferenceDecoder d = ReferenceDecoder.create(m, null)) {
            assertEquals(name.substring("synthetic:tiny".length()).isEmpty() ? "llama"
                    : name.substring("synthetic:tiny-".length()), m.config().architecture());
            ReferenceForward ref = new ReferenceForward(f);
            double[] want = null;
            for (int t : prompt) {
                want = ref.next(t);
            }
            compare(want, d.prefill(prompt), name + " after the prompt");
            for (int i = 0; i < decoded.length; i++) {
                want = ref.next(decoded[i]);
                compare(want, d.next(decoded[i]), name + " step " + i);
            }
        }
    }

    private static void compare(double[] want, float[] got, String what) {
        double scale = 0;
        int argmax = 0;
        int gotArgmax = 0;
        for (int i = 0; i < want.length; i++) {
            scale = Math.max(scale, Math.abs(want[i]));
            argmax = want[i] > want[argmax] ? i : argmax;
            gotArgmax = got[i] > got[gotArgmax] ? i : gotArgmax;
        }
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(want[i] - got[i]));
        }
        assertTrue(worst <= 1e-4 * scale + 1e-5, what + ": logits differ by " + worst + " (scale " + scale + ")");
        assertEquals(argmax, gotArgmax, what + ": argmax");
    }
}

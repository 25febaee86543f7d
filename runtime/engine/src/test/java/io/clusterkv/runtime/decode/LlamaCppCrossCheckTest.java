package io.clusterkv.runtime.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.clusterkv.runtime.model.GgufModelWriter;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.model.fixtures.ReferenceForward;
import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.model.gguf.GgufTensorInfo;
import io.clusterkv.runtime.tensor.GgmlType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Architectures × weight types against independent engines, on files written by llama.cpp's own tools
 * ({@code shared/peer}: {@code gguf-py}, {@code llama-quantize}, {@code llama-cli}; the test is skipped, with the
 * reason, where they or python3 with numpy are absent). {@code scripts/make-arch-gguf.py} writes a small model
 * of each architecture with decisive logits.
 *
 * <ul>
 * <li>F32: llama.cpp's greedy tokens ({@code llama-cli --temp 0}) are the oracle; ours must be the same.</li>
 * <li>Quantized and half types: llama.cpp rounds activations to 8 bits before its products, so its tokens are not an
 *     oracle; {@link ReferenceForward}, a float64 forward pass over the weights dequantized by
 *     {@code ReferenceBlocks} (itself checked against gguf-py's {@code dequantize}), is. Ours must give the same
 *     greedy tokens and logits within float accuracy.</li>
 * <li>qwen3 and gemma3 (absent from llama.cpp b4748): F32 and types gguf-py quantizes, against the float64
 *     reference; gemma3's five sliding-window layers (a window of 8) slide within the 28 positions decoded.</li>
 * <li>gemma2: llama.cpp's F32 tokens and the float64 reference, on a file whose soft-caps (attention 10,
 *     logits 20) change the scores and logits, 13 of whose 26 layers slide (a window of 8).</li>
 * <li>llama-quantize writes the classifier ({@code output.weight}) of legacy-type files as Q6_K, as it does for
 *     files people download; the types each file holds are checked.</li>
 * </ul>
 */
class LlamaCppCrossCheckTest {

    static final int[] PROMPT = {1, 5, 9, 100};
    static final int STEPS = 24;

    @TempDir
    static Path dir;
    static Path peer;
    static Path script;

    @BeforeAll
    static void tools() throws Exception {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (peer == null && Files.isExecutable(d.resolve("shared/peer/bin/llama-cli"))) {
                peer = d.resolve("shared/peer");
            }
            if (script == null && Files.isRegularFile(d.resolve("scripts/make-arch-gguf.py"))) {
                script = d.resolve("scripts/make-arch-gguf.py");
            }
        }
        assumeTrue(script != null, "scripts/make-arch-gguf.py not found above " + Path.of("").toAbsolutePath());
        assumeTrue(peer != null, "skipped: no shared/peer/bin/llama-cli above the working directory (llama.cpp's tools)");
        assumeTrue(run(List.of("python3", "-c", "import numpy"), 60).code == 0, "skipped: python3 with numpy is absent");
    }

    record Result(int code, String out) {
    }

    /** Runs a command; its standard output is the result, standard error is dropped (llama.cpp logs there). */
    static Result run(List<String> command, int seconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(command + " did not finish in " + seconds + " s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /** @return a file of the architecture in {@code type}, written by gguf-py or, for K-quants and BF16, llama-quantize */
    static synchronized Path file(String arch, String type) throws Exception {
        Path f32 = dir.resolve(arch + "-f32.gguf");
        if (!Files.exists(f32)) {
            make(arch, "f32", f32);
        }
        if (type.equals("f32")) {
            return f32;
        }
        Path out = dir.resolve(arch + "-" + type + ".gguf");
        if (!Files.exists(out)) {
            if (Set.of("f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1").contains(type)
                    && Set.of("qwen3", "gemma3").contains(arch)) {
                make(arch, type, out);
            } else {
                Result r = run(List.of(peer.resolve("bin/llama-quantize").toString(), f32.toString(), out.toString(),
                        type.toUpperCase(java.util.Locale.ROOT)), 120);
                assertEquals(0, r.code(), r.out());
            }
        }
        return out;
    }

    static void make(String arch, String type, Path out) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("python3", script.toString(), "--arch", arch, "--type", type, "--out",
                out.toString()).redirectErrorStream(true);
        pb.environment().put("PYTHONPATH", peer.resolve("gguf-py") + ":" + peer.resolve("pystub"));
        Process p = pb.start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0, log);
    }

    static int[] ours(Path file) throws IOException {
        try (LlamaModel m = Models.load(file.toString()); ReferenceDecoder d = ReferenceDecoder.create(m, null)) {
            return d.generate(PROMPT, STEPS, Sampler.greedy(), t -> { });
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"llama", "qwen2", "phi3", "gemma2"})
    void f32GreedyTokensAreLlamaCppTokens(String arch) throws Exception {
        Path f = file(arch, "f32");
        // the script's vocabulary is GgufModelWriter's made-up one of 256 tokens: token 3 + k is U+4E00 + k
        String prompt = GgufModelWriter.madeUpText(256, Arrays.copyOfRange(PROMPT, 1, PROMPT.length)); // BOS: added
        Result r = run(List.of(peer.resolve("bin/llama-cli").toString(), "-m", f.toString(), "-p", prompt, "-n",
                Integer.toString(STEPS), "--temp", "0", "-no-cnv", "-ctk", "f32", "-ctv", "f32", "-t", "2", "-c", "512",
                "--no-warmup"), 120);
        assertEquals(0, r.code(), r.out());
        int at = r.out().indexOf(prompt);
        assertTrue(at >= 0, "llama-cli echoes the prompt: " + r.out());
        String generated = r.out().substring(at + prompt.length()).strip();
        int[] llamaCpp = generated.codePoints().map(cp -> cp - GgufModelWriter.FIRST_PIECE_CODE_POINT + 3).toArray();
        int[] ours = ours(f);
        assertTrue(llamaCpp.length >= 8, "llama.cpp generated " + generated);
        int n = Math.min(llamaCpp.length, ours.length);
        assertArrayEquals(Arrays.copyOf(llamaCpp, n), Arrays.copyOf(ours, n), arch + ": llama.cpp printed " + generated);
        assertEquals(STEPS, n, "both ran " + STEPS + " steps (no stop token in between)");
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "llama, f16, F16", "llama, bf16, BF16", "llama, q8_0, Q8_0", "llama, q4_0, Q4_0 Q6_K",
            "llama, q4_1, Q4_1 Q6_K", "llama, q5_0, Q5_0 Q6_K", "llama, q5_1, Q5_1 Q6_K", "llama, q4_k_m, Q4_K Q6_K",
            "llama, q5_k_m, Q5_K Q6_K",
            "llama, q6_k, Q6_K", "llama, iq4_nl, IQ4_NL Q6_K",
            "qwen2, q8_0, Q8_0", "qwen2, q4_k_m, Q4_K Q6_K", "qwen2, q5_k_m, Q5_K Q6_K",
            "phi3, q8_0, Q8_0", "phi3, q4_k_m, Q4_K Q5_K Q6_K",
            "qwen3, f32, F32", "qwen3, f16, F16", "qwen3, q8_0, Q8_0", "qwen3, q4_0, Q4_0", "qwen3, q4_1, Q4_1",
            "qwen3, q5_0, Q5_0", "qwen3, q5_1, Q5_1",
            "gemma3, f32, F32", "gemma3, q8_0, Q8_0", "gemma3, q4_0, Q4_0",
            "gemma2, f32, F32", "gemma2, q8_0, Q8_0", "gemma2, q4_k_m, Q4_K Q6_K"})
    void greedyTokensAreTheFloat64References(String arch, String type, String matrixTypes) throws Exception {
        Path f = file(arch, type);
        int[] ours = ours(f);
        int[] reference = new int[STEPS];
        try (GgufFile g = GgufFile.open(f)) {
            Set<String> types = new TreeSet<>();
            for (GgufTensorInfo t : g.tensors().values()) {
                if (t.dims().length == 2) {
                    types.add(t.type().name());
                }
            }
            assertEquals(new TreeSet<>(List.of(matrixTypes.split(" "))), types, "the matrix types of " + f.getFileName());
            ReferenceForward ref = new ReferenceForward(g);
            double[] logits = null;
            for (int t : PROMPT) {
                logits = ref.next(t);
            }
            for (int i = 0; i < STEPS; i++) {
                reference[i] = argmax(logits);
                logits = ref.next(reference[i]);
            }
        }
        List<Integer> stops = List.of(2);
        int n = ours.length;
        assertArrayEquals(Arrays.copyOf(reference, n), ours, arch + " " + type);
        assertTrue(n == STEPS || stops.contains(reference[n - 1]), "ours stopped early without a stop token");
    }

    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            best = v[i] > v[best] ? i : best;
        }
        return best;
    }
}

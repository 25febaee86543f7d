package io.clusterkv.runtime.model.fuzz;

import io.clusterkv.runtime.model.GgufModelWriter;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.RopeLayout;
import io.clusterkv.runtime.model.RopeScaling;
import io.clusterkv.runtime.model.SyntheticModels;
import io.clusterkv.runtime.tensor.GgmlType;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The boundary seeds of this module's fuzz corpus are what this generator writes: empty and 1 to 3 byte
 * files, valid small model files (a GGUF written by {@link GgufModelWriter} from a synthetic model of
 * {@code synthetic:tiny}'s family, shrunk so the seed stays a few kilobytes; a llama2.c checkpoint) and their
 * truncations. Each committed seed must equal the generator's bytes, so a change to a writer shows up here
 * rather than as a corpus that silently stopped being valid files. Crashers found by fuzzing are committed
 * beside them by hand and not checked. To write the seeds again, from the module folder:
 * <pre>{@code
 * ../../mvnw -o test -Dtest=FuzzSeedsTest -Dfuzz.seeds.write=src/test/resources
 * }</pre>
 */
class FuzzSeedsTest {

    @Test
    void theCommittedSeedsAreTheGeneratorsOutput() throws IOException {
        Map<String, byte[]> seeds = seeds();
        String out = System.getProperty("fuzz.seeds.write");
        for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
            if (out != null) {
                Path file = Path.of(out).resolve(e.getKey());
                Files.createDirectories(file.getParent());
                Files.write(file, e.getValue());
                continue;
            }
            try (InputStream in = FuzzSeedsTest.class.getResourceAsStream("/" + e.getKey())) {
                assertNotNull(in, e.getKey() + " is not committed (write the seeds again, see the class notes)");
                assertArrayEquals(e.getValue(), in.readAllBytes(), e.getKey() + " differs from the generator's output");
            }
        }
    }

    /** @return every seed by its resource path */
    static Map<String, byte[]> seeds() throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        String gguf = "io/clusterkv/runtime/model/fuzz/ModelFileFuzzTestInputs/gguf/";
        String llama2c = "io/clusterkv/runtime/model/fuzz/ModelFileFuzzTestInputs/llama2c/";
        tiny(out, gguf, llama2c);
        byte[] model = ggufOf(GgmlType.Q8_0);
        out.put(gguf + "tiny-q8_0.gguf", model);
        out.put(gguf + "tiny-f16.gguf", ggufOf(GgmlType.F16));
        out.put(gguf + "truncated-in-metadata.gguf", Arrays.copyOf(model, 200));
        out.put(gguf + "truncated-in-tensor-infos.gguf", Arrays.copyOf(model, model.length / 3));
        out.put(gguf + "truncated-in-data.gguf", Arrays.copyOf(model, model.length - 1));
        byte[] ckpt = llama2c();
        out.put(llama2c + "tiny.bin", ckpt);
        out.put(llama2c + "tiny-unshared-classifier.bin", llama2cUnshared());
        out.put(llama2c + "header-only.bin", Arrays.copyOf(ckpt, 28));
        out.put(llama2c + "truncated.bin", Arrays.copyOf(ckpt, ckpt.length - 4));
        String tok = "io/clusterkv/runtime/tokenizer/TokenizerFuzzTestInputs/";
        out.put(tok + "llama2cTokenizer/tokenizer-8.bin", llama2cTokenizer());
        out.put(tok + "sentencePieceRoundTrip/ascii", "Hello world".getBytes(StandardCharsets.UTF_8));
        out.put(tok + "sentencePieceRoundTrip/spaces-and-emoji",
                "  a  \n\tb 🙂 ünï".getBytes(StandardCharsets.UTF_8));
        out.put(tok + "byteLevelRoundTrip/llama3-words",
                "\u0001 the 123 in\n\nthe<|endoftext|>".getBytes(StandardCharsets.UTF_8));
        return out;
    }

    private static void tiny(Map<String, byte[]> out, String... dirs) {
        for (String d : dirs) {
            out.put(d + "empty", new byte[0]);
            out.put(d + "one-byte", new byte[] {'G'});
            out.put(d + "two-bytes", new byte[] {'G', 'G'});
            out.put(d + "three-bytes", new byte[] {'G', 'G', 'U'});
            out.put(d + "magic-only", "GGUF".getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** dim 32 (a Q8_0 block), 1 layer, 2 heads over 1 KV head, vocabulary 40, context 64. */
    private static byte[] ggufOf(GgmlType type) throws IOException {
        ModelConfig c = new ModelConfig("llama", 32, 32, 1, 2, 1, 16, 40, 64, 1e-5, 10000.0,
                RopeScaling.None.INSTANCE, RopeLayout.ADJACENT_PAIRS, false, false);
        try (LlamaModel m = SyntheticModels.create(c, "fuzz-seed", type, 42)) {
            return GgufModelWriter.of(m).writer().toByteArray();
        }
    }

    private static byte[] llama2c() {
        return llama2c(8, 16, 1, 2, 1, 16, 8);
    }

    private static byte[] llama2cUnshared() {
        return llama2c(8, 16, 1, 2, 2, -16, 8);
    }

    /** run.c's layout: the header, then every float array (random values), freq_cis included. */
    private static byte[] llama2c(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int seqLen) {
        int headDim = dim / heads;
        int kvDim = headDim * kvHeads;
        long floats = (long) Math.abs(vocab) * dim
                + (long) layers * (2L * dim + 2L * dim * dim + 2L * kvDim * dim + 3L * hidden * dim)
                + dim + (long) seqLen * headDim + (vocab < 0 ? (long) -vocab * dim : 0);
        ByteBuffer b = ByteBuffer.allocate(28 + 4 * (int) floats).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : new int[] {dim, hidden, layers, heads, kvHeads, vocab, seqLen}) {
            b.putInt(v);
        }
        Random r = new Random(42);
        while (b.hasRemaining()) {
            b.putFloat(r.nextFloat() - 0.5f);
        }
        return b.array();
    }

    /** A llama2.c tokenizer.bin of 8 tokens, after the fuzz target's two bytes of vocabulary size (8). */
    private static byte[] llama2cTokenizer() {
        String[] texts = {"<unk>", "\n<s>\n", "\n</s>\n", " ", "a", " a", "<0x0A>", "ab"};
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0).put((byte) 7); // 1 + 7 tokens
        b.putInt(8);
        for (int i = 0; i < texts.length; i++) {
            byte[] t = texts[i].getBytes(StandardCharsets.UTF_8);
            b.putFloat(-i).putInt(t.length).put(t);
        }
        return Arrays.copyOf(b.array(), b.position());
    }
}

package io.clusterkv.runtime.model.fuzz;

import io.clusterkv.runtime.model.GgufModelWriter;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.RopeLayout;
import io.clusterkv.runtime.model.RopeScaling;
import io.clusterkv.runtime.model.SyntheticModels;
import io.clusterkv.runtime.tensor.GgmlType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * Writes the boundary seeds of this module's fuzz corpus: empty and 1 to 3 byte files, valid small model
 * files (a GGUF written by {@link GgufModelWriter} from a synthetic model of {@code synthetic:tiny}'s family,
 * shrunk so the seed stays a few kilobytes; a llama2.c checkpoint) and their truncations. Crashers found
 * by fuzzing are committed beside them by hand. Run from the module folder after {@code test-compile}:
 * <pre>{@code
 * $JAVA_HOME/bin/java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes \
 *     io.clusterkv.runtime.model.fuzz.FuzzSeeds src/test/resources
 * }</pre>
 */
public final class FuzzSeeds {

    private FuzzSeeds() {
    }

    /**
     * @param args the test resources folder
     * @throws IOException if a file cannot be written
     */
    public static void main(String[] args) throws IOException {
        Path res = Path.of(args[0]);
        Path gguf = res.resolve("io/clusterkv/runtime/model/fuzz/ModelFileFuzzTestInputs/gguf");
        Path llama2c = res.resolve("io/clusterkv/runtime/model/fuzz/ModelFileFuzzTestInputs/llama2c");
        tiny(gguf, llama2c);
        byte[] model = ggufOf(GgmlType.Q8_0);
        write(gguf, "tiny-q8_0.gguf", model);
        write(gguf, "tiny-f16.gguf", ggufOf(GgmlType.F16));
        write(gguf, "truncated-in-metadata.gguf", Arrays.copyOf(model, 200));
        write(gguf, "truncated-in-tensor-infos.gguf", Arrays.copyOf(model, model.length / 3));
        write(gguf, "truncated-in-data.gguf", Arrays.copyOf(model, model.length - 1));
        byte[] ckpt = llama2c();
        write(llama2c, "tiny.bin", ckpt);
        write(llama2c, "tiny-unshared-classifier.bin", llama2cUnshared());
        write(llama2c, "header-only.bin", Arrays.copyOf(ckpt, 28));
        write(llama2c, "truncated.bin", Arrays.copyOf(ckpt, ckpt.length - 4));
        Path tok = res.resolve("io/clusterkv/runtime/tokenizer/TokenizerFuzzTestInputs");
        write(tok.resolve("llama2cTokenizer"), "tokenizer-8.bin", llama2cTokenizer());
        write(tok.resolve("sentencePieceRoundTrip"), "ascii", "Hello world".getBytes(StandardCharsets.UTF_8));
        write(tok.resolve("sentencePieceRoundTrip"), "spaces-and-emoji",
                "  a  \n\tb 🙂 ünï".getBytes(StandardCharsets.UTF_8));
        write(tok.resolve("byteLevelRoundTrip"), "llama3-words",
                "\u0001 the 123 in\n\nthe<|endoftext|>".getBytes(StandardCharsets.UTF_8));
    }

    private static void tiny(Path... dirs) throws IOException {
        for (Path d : dirs) {
            write(d, "empty", new byte[0]);
            write(d, "one-byte", new byte[] {'G'});
            write(d, "two-bytes", new byte[] {'G', 'G'});
            write(d, "three-bytes", new byte[] {'G', 'G', 'U'});
            write(d, "magic-only", "GGUF".getBytes(StandardCharsets.US_ASCII));
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

    private static void write(Path dir, String name, byte[] bytes) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve(name), bytes);
    }
}

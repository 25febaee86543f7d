package io.clusterkv.runtime.decode;

import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.model.ModelFormatException;
import io.clusterkv.runtime.model.fixtures.ReferenceLlama2c;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** llama2.c checkpoints: a separate classifier, and malformed headers failing before any large allocation. */
class Llama2cCheckpointTest {

    @TempDir
    Path dir;

    /** Writes a checkpoint with random weights; the header is written as given. */
    static byte[] checkpoint(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, int seqLen, long seed) {
        int headSize = dim / heads;
        int kvDim = headSize * kvHeads;
        int v = Math.abs(vocab);
        long floats = (long) v * dim + layers * (2L * dim + 2L * dim * dim + 2L * kvDim * dim + 3L * hidden * dim)
                + dim + (long) seqLen * headSize + (vocab < 0 ? (long) v * dim : 0);
        ByteBuffer b = ByteBuffer.allocate(28 + (int) (4 * floats)).order(ByteOrder.LITTLE_ENDIAN);
        for (int h : new int[] {dim, hidden, layers, heads, kvHeads, vocab, seqLen}) {
            b.putInt(h);
        }
        SplittableRandom r = new SplittableRandom(seed);
        while (b.hasRemaining()) {
            b.putFloat((float) r.nextDouble(-0.3, 0.3));
        }
        return b.array();
    }

    static byte[] header(int... fields) {
        ByteBuffer b = ByteBuffer.allocate(4 * fields.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int f : fields) {
            b.putInt(f);
        }
        return b.array();
    }

    Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    @Test
    void negativeVocabSizeMeansASeparateClassifierAndTheForwardPassMatchesTheReference()
            throws Exception {
        Path p = write("sep.bin", checkpoint(32, 48, 2, 4, 2, -40, 16, 9));
        ReferenceLlama2c ref = new ReferenceLlama2c(p);
        try (LlamaModel m = Models.load(p.toString()); ReferenceDecoder g = ReferenceDecoder.create(m, null)) {
            assertFalse(m.config().tiedOutput());
            assertTrue(m.output() != m.tokenEmbedding());
            assertEquals(40, m.config().vocab());
            int token = 1;
            for (int pos = 0; pos < 16; pos++) {
                float[] logits = g.next(token);
                double[] expected = ref.forward(token, pos);
                for (int i = 0; i < logits.length; i++) {
                    assertEquals(expected[i], logits[i], 1e-4 * Math.max(1, Math.abs(expected[i])), "step " + pos + " logit " + i);
                }
                token = Sampler.argmax(logits);
            }
            IllegalStateException full = assertThrows(IllegalStateException.class, () -> g.next(0));
            assertTrue(full.getMessage().contains("context full"), full.getMessage());
        }
    }

    @Test
    void truncatedHeader() throws Exception {
        Path p = write("short.bin", new byte[10]);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(p));
        assertEquals("header", e.field());
        assertEquals(0, e.offset());
        assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("10 bytes"), e.getMessage());
    }

    @Test
    void fileShorterThanTheHeaderImplies() throws Exception {
        byte[] full = checkpoint(32, 48, 2, 4, 2, 40, 16, 1);
        Path p = write("cut.bin", java.util.Arrays.copyOf(full, full.length - 4));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(p));
        assertEquals("weights", e.field());
        assertEquals(28, e.offset());
        assertTrue(e.getMessage().contains("implies " + full.length + " bytes"), e.getMessage());
    }

    @Test
    void absurdDimensionsFailOnTheHeaderAlone() throws Exception {
        Path layers = write("layers.bin", header(64, 172, 1 << 30, 8, 4, 512, 512));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Models.load(layers));
        assertEquals("n_layers", e.field());
        assertEquals(8, e.offset());
        assertTrue(e.getMessage().contains("1073741824"), e.getMessage());

        // every field in range, but together they imply terabytes: the size check catches it before mapping
        Path huge = write("huge.bin", header(65536, 1 << 20, 4096, 4096, 4096, 1 << 24, 1 << 24));
        e = assertThrows(ModelFormatException.class, () -> Models.load(huge));
        assertEquals("weights", e.field());

        Path zero = write("zero.bin", header(0, 172, 5, 8, 4, 512, 512));
        assertEquals("dim", assertThrows(ModelFormatException.class, () -> Models.load(zero)).field());
        Path minVocab = write("vocab.bin", header(64, 172, 5, 8, 4, Integer.MIN_VALUE, 512));
        assertEquals("vocab_size", assertThrows(ModelFormatException.class, () -> Models.load(minVocab)).field());
    }

    @Test
    void inconsistentHeads() throws Exception {
        Path heads = write("heads.bin", header(64, 172, 5, 6, 3, 512, 512));
        assertEquals("n_heads", assertThrows(ModelFormatException.class, () -> Models.load(heads)).field());
        Path kv = write("kv.bin", header(64, 172, 5, 8, 3, 512, 512));
        assertEquals("n_kv_heads", assertThrows(ModelFormatException.class, () -> Models.load(kv)).field());
        Path odd = write("odd.bin", header(24, 172, 5, 8, 4, 512, 512)); // head size 3
        assertTrue(assertThrows(ModelFormatException.class, () -> Models.load(odd)).getMessage().contains("odd"));
    }

    @Test
    void aMissingFileIsAnIoError() {
        assertThrows(java.nio.file.NoSuchFileException.class, () -> Models.load(dir.resolve("absent.bin")));
    }
}

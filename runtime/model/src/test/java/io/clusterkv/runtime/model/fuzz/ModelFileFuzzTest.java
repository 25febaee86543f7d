package io.clusterkv.runtime.model.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.ModelFormatException;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.fixtures.FuzzInputs;
import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.model.gguf.GgufTensorInfo;
import io.clusterkv.runtime.tensor.WeightMatrix;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import io.clusterkv.runtime.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzz targets of the model readers: any bytes given as a GGUF file or a llama2.c checkpoint end in a
 * {@link ModelFormatException} or in a model whose every tensor can be read, never in another exception
 * or an {@link Error} (an {@link OutOfMemoryError} from a count not checked against the file's size
 * included), within 5 seconds and {@link FuzzInputs}' memory bound. Without {@code JAZZER_FUZZ} each
 * target replays its corpus under {@code src/test/resources/io/clusterkv/runtime/model/fuzz/ModelFileFuzzTestInputs/}; see
 * {@code docs/FUZZING.md} for the long runs.
 */
class ModelFileFuzzTest {

    /**
     * A GGUF file: {@link GgufFile#open} with its typed getters, {@link LlamaModel#fromGguf} and
     * {@link Tokenizers#fromGguf}.
     */
    @FuzzTest(maxDuration = "30s")
    @Timeout(value = 5, unit = TimeUnit.SECONDS)
    void gguf(byte[] bytes) throws Exception {
        Path file = FuzzInputs.write("input.gguf", bytes);
        LlamaModel model = FuzzInputs.boundedAllocation(bytes.length, () -> readGguf(file, bytes.length));
        if (model != null) {
            try (model) {
                readEveryTensor(model); // outside the bound: dequantizing is the kernels' work, not the reader's
            }
        }
    }

    /** @return the model, or {@code null} where the reader refused the file with a typed error */
    private static LlamaModel readGguf(Path file, long fileBytes) throws IOException {
        GgufFile gguf;
        try {
            gguf = GgufFile.open(file);
        } catch (ModelFormatException expected) {
            return null;
        }
        try {
            for (GgufTensorInfo t : gguf.tensors().values()) {
                long elements = 1;
                for (long d : t.dims()) {
                    elements *= d;
                }
                assertEquals(elements / t.type().blockSize() * t.type().blockBytes(), t.data().byteSize(), t.name());
                assertTrue(gguf.dataOffset() + t.offset() + t.data().byteSize() <= fileBytes, t.name());
            }
            for (String key : gguf.metadata().keySet()) {
                readEveryWay(gguf, key);
            }
            try {
                Tokenizer tokenizer = Tokenizers.fromGguf(gguf);
                assertTrue(tokenizer.vocabSize() > 0);
                tokenizer.decode(new int[] {0, tokenizer.vocabSize() - 1}, true);
            } catch (ModelFormatException expected) {
                // not a vocabulary
            }
            return LlamaModel.fromGguf(gguf); // the model owns the file
        } catch (ModelFormatException expected) {
            gguf.close();
            return null;
        }
    }

    /** A llama2.c checkpoint ({@code Models.load} of a file that does not start with GGUF's magic). */
    @FuzzTest(maxDuration = "30s")
    @Timeout(value = 5, unit = TimeUnit.SECONDS)
    void llama2c(byte[] bytes) throws Exception {
        Path file = FuzzInputs.write("input.bin", bytes);
        LlamaModel model = FuzzInputs.boundedAllocation(bytes.length, () -> {
            try {
                return Models.load(file);
            } catch (ModelFormatException expected) {
                return null;
            }
        });
        if (model != null) {
            try (model) {
                readEveryTensor(model);
            }
        }
    }

    private static void readEveryWay(GgufFile gguf, String key) {
        Runnable[] getters = {
            () -> gguf.getString(key), () -> gguf.getLong(key), () -> gguf.getDouble(key),
            () -> gguf.getStringArray(key), () -> gguf.getFloatArray(key), () -> gguf.getIntArray(key)
        };
        for (Runnable getter : getters) {
            try {
                getter.run();
            } catch (ModelFormatException expected) {
                // another type
            }
        }
    }

    /** Dequantizes the first and last row of every matrix and checks every vector's length. */
    private static void readEveryTensor(LlamaModel model) {
        ModelConfig c = model.config();
        assertTrue(c.dim() > 0 && c.layers() > 0 && c.vocab() > 0 && c.heads() >= c.kvHeads() && c.kvHeads() > 0);
        float[] row = new float[Math.max(c.dim(), Math.max(c.hiddenDim(), c.qDim()))];
        model.embed(c.vocab() - 1, row, 0);
        readRows(model.tokenEmbedding(), row);
        readRows(model.output(), row);
        assertEquals(c.dim(), model.finalNorm().length);
        for (int l = 0; l < c.layers(); l++) {
            LlamaModel.Layer layer = model.layer(l);
            assertEquals(c.dim(), layer.attnNorm().length);
            assertEquals(c.dim(), layer.ffnNorm().length);
            for (WeightMatrix m : new WeightMatrix[] {layer.wq(), layer.wk(), layer.wv(), layer.wo(), layer.gate(),
                    layer.up(), layer.down()}) {
                readRows(m, row);
            }
        }
        model.rope();
    }

    private static void readRows(WeightMatrix m, float[] row) {
        float[] dst = row.length >= m.cols() ? row : new float[m.cols()];
        if (m.rows() > 0) {
            m.dequantizeRow(0, dst, 0);
            m.dequantizeRow(m.rows() - 1, dst, 0);
        }
    }
}

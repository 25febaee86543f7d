package io.clusterkv.runtime.model;

import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.tensor.GgmlType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * {@code synthetic:tiny-chat}: the {@code synthetic:tiny} shape with a real vocabulary and a chat template,
 * so that chat runs (templates, special tokens, stopping at the end of a turn) need no download.
 *
 * <p>The vocabulary is Llama 2's SentencePiece vocabulary (32000 tokens, from llama.cpp's
 * {@code ggml-vocab-llama-spm.gguf}) plus the ChatML control tokens {@code <|im_start|>} (32000) and
 * {@code <|im_end|>} (32001, the end-of-turn token), with a ChatML {@code tokenizer.chat_template}; it ships
 * as a gzipped metadata-only GGUF resource ({@code tiny-chat-vocab.gguf.gz}, made by
 * {@code scripts/tiny-chat-vocab.jsh}) that {@link LlamaModel#gguf()} returns, as it would a downloaded
 * model's. Weights are {@link SyntheticModels}' seeded random ones: the answers are gibberish, but the
 * same for the same seed, and deterministic when greedy. Stop tokens: EOS {@code </s>} and
 * {@code <|im_end|>}.
 */
public final class TinyChatModel {

    /** The model's name. */
    public static final String NAME = "synthetic:tiny-chat";

    /** The id of {@code <|im_start|>}. */
    public static final int IM_START = 32000;

    /** The id of {@code <|im_end|>}, the end-of-turn token. */
    public static final int IM_END = 32001;

    /** The shape: {@code synthetic:tiny} with the 32002-token vocabulary. */
    public static final ModelConfig CONFIG = new ModelConfig("llama", 64, 172, 2, 4, 2, 16, 32002, 1024, 1e-5,
            10000.0, RopeScaling.None.INSTANCE, RopeLayout.ADJACENT_PAIRS, false, false);

    private static final String RESOURCE = "tiny-chat-vocab.gguf.gz";

    private TinyChatModel() {
    }

    /**
     * @param weightType element type of the matrices: F32, F16, BF16, Q8_0 or Q4_0
     * @param seed       the weights' seed
     * @return the model, its vocabulary and template in {@link LlamaModel#gguf()}; close it to free both
     */
    static LlamaModel create(GgmlType weightType, long seed) {
        GgufFile vocabulary = vocabulary();
        try {
            return SyntheticModels.create(CONFIG, NAME, weightType, seed, new int[]{2, IM_END}, vocabulary);
        } catch (RuntimeException | Error e) {
            vocabulary.close();
            throw e;
        }
    }

    /** @return the vocabulary and template, a metadata-only GGUF */
    static GgufFile vocabulary() {
        try (InputStream in = TinyChatModel.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the resource " + RESOURCE + " of " + NAME + " is missing from the class path");
            }
            return GgufFile.fromBytes(Path.of(NAME), new GZIPInputStream(in).readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the resource " + RESOURCE + " of " + NAME, e);
        }
    }
}

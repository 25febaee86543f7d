/**
 * Model files, weight tensors and tokenizers: GGUF v3 (reader and writer) and llama2.c checkpoints,
 * the weight types and their kernels (Vector API), the Llama/Qwen2 forward pass pieces, samplers,
 * SentencePiece and byte-level BPE tokenizers. Depends on the JDK only.
 */
module io.clusterkv.runtime.model {
    requires jdk.incubator.vector;

    exports io.clusterkv.runtime.model;
    exports io.clusterkv.runtime.model.gguf;
    exports io.clusterkv.runtime.tokenizer;
    exports io.clusterkv.runtime.tensor;
}

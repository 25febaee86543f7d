package io.clusterkv.runtime.model;

import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.WeightMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a llama2.c checkpoint ({@code run.c}'s legacy format) by mapping it: seven little-endian int32
 * ({@code dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len}; a negative
 * {@code vocab_size} means the classifier is stored separately at the end), then float32 arrays:
 * token_embedding {@code (vocab, dim)}, rms_att {@code (L, dim)}, wq {@code (L, dim, dim)}, wk and wv
 * {@code (L, kv_dim, dim)}, wo {@code (L, dim, dim)}, rms_ffn {@code (L, dim)}, w1 {@code (L, hidden, dim)},
 * w2 {@code (L, dim, hidden)}, w3 {@code (L, hidden, dim)}, rms_final {@code (dim)}, freq_cis_real and
 * freq_cis_imag {@code (seq_len, head_size / 2)} (unused: RoPE is computed), and wcls
 * {@code (vocab, dim)} when not shared. RoPE rotates adjacent pairs with theta 10000; RMSNorm epsilon
 * is 1e-5.
 *
 * <p>The header is validated and the file size compared with the size it implies before anything is
 * allocated or mapped, so a hostile header fails with a {@link ModelFormatException}.
 */
final class Llama2cCheckpoint {

    static final int HEADER_BYTES = 28;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final String[] FIELDS = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
    /** Upper bounds of each header field (absolute value for vocab_size): far beyond any real model. */
    private static final int[] LIMITS = {1 << 16, 1 << 20, 1 << 12, 1 << 12, 1 << 12, 1 << 24, 1 << 24};

    private Llama2cCheckpoint() {
    }

    static LlamaModel load(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER_BYTES) {
                throw new ModelFormatException(path, "header", 0, "the file has " + size
                        + " bytes; a llama2.c header needs " + HEADER_BYTES);
            }
            java.nio.ByteBuffer hb = java.nio.ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            while (hb.hasRemaining() && ch.read(hb, hb.position()) > 0) {
                // read the header fully
            }
            int[] h = new int[7];
            for (int i = 0; i < 7; i++) {
                h[i] = hb.getInt(4 * i);
                int v = i == 5 ? Math.abs(h[i]) : h[i];
                if (v < 1 || v > LIMITS[i] || h[i] == Integer.MIN_VALUE) {
                    throw new ModelFormatException(path, FIELDS[i], 4L * i, "must be in [1, " + LIMITS[i] + "]"
                            + (i == 5 ? " in absolute value" : "") + ", was " + h[i]);
                }
            }
            int dim = h[0];
            int hidden = h[1];
            int layers = h[2];
            int heads = h[3];
            int kvHeads = h[4];
            boolean shared = h[5] > 0;
            int vocab = Math.abs(h[5]);
            int seqLen = h[6];
            if (dim % heads != 0) {
                throw new ModelFormatException(path, "n_heads", 12, "dim " + dim + " is not a multiple of n_heads " + heads);
            }
            if (kvHeads > heads || heads % kvHeads != 0) {
                throw new ModelFormatException(path, "n_kv_heads", 16, "n_heads " + heads
                        + " is not a multiple of n_kv_heads " + kvHeads);
            }
            int headDim = dim / heads;
            if (headDim % 2 != 0) {
                throw new ModelFormatException(path, "n_heads", 12, "head size " + headDim + " is odd; RoPE needs it even");
            }
            int kvDim = headDim * kvHeads;
            long floats;
            try {
                long perLayer = Math.addExact(Math.addExact(2L * dim, 2L * dim * dim + 2L * kvDim * dim),
                        3L * hidden * dim);
                floats = Math.addExact((long) vocab * dim, Math.multiplyExact(perLayer, (long) layers));
                floats = Math.addExact(floats, dim + (long) seqLen * headDim);
                if (!shared) {
                    floats = Math.addExact(floats, (long) vocab * dim);
                }
                Math.multiplyExact(floats, 4L);
            } catch (ArithmeticException e) {
                throw new ModelFormatException(path, "header", 0, "the dimensions overflow a file size");
            }
            long expected = HEADER_BYTES + 4 * floats;
            if (size != expected) {
                throw new ModelFormatException(path, "weights", HEADER_BYTES, "the header (dim " + dim + ", hidden_dim "
                        + hidden + ", n_layers " + layers + ", n_heads " + heads + ", n_kv_heads " + kvHeads
                        + ", vocab_size " + h[5] + ", seq_len " + seqLen + ") implies " + expected
                        + " bytes, the file has " + size);
            }
            ModelConfig config = new ModelConfig("llama", dim, hidden, layers, heads, kvHeads, headDim, vocab, seqLen,
                    1e-5, 10000.0, RopeScaling.None.INSTANCE, RopeLayout.ADJACENT_PAIRS, shared, false);
            Arena arena = Arena.ofShared();
            try {
                MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                return build(path, config, seg, arena);
            } catch (IOException | RuntimeException | Error e) {
                arena.close();
                throw e;
            }
        }
    }

    private static LlamaModel build(Path path, ModelConfig c, MemorySegment seg, Arena arena) {
        int dim = c.dim();
        int kvDim = c.kvDim();
        int hidden = c.hiddenDim();
        int n = c.layers();
        Cursor cur = new Cursor(seg, HEADER_BYTES);
        WeightMatrix embd = cur.matrix(c.vocab(), dim);
        float[][] rmsAtt = cur.vectors(n, dim);
        WeightMatrix[] wq = cur.matrices(n, dim, dim);
        WeightMatrix[] wk = cur.matrices(n, kvDim, dim);
        WeightMatrix[] wv = cur.matrices(n, kvDim, dim);
        WeightMatrix[] wo = cur.matrices(n, dim, dim);
        float[][] rmsFfn = cur.vectors(n, dim);
        WeightMatrix[] w1 = cur.matrices(n, hidden, dim);
        WeightMatrix[] w2 = cur.matrices(n, dim, hidden);
        WeightMatrix[] w3 = cur.matrices(n, hidden, dim);
        float[] rmsFinal = cur.vectors(1, dim)[0];
        cur.skip((long) c.contextLength() * c.headDim()); // freq_cis_real and freq_cis_imag
        WeightMatrix wcls = c.tiedOutput() ? embd : cur.matrix(c.vocab(), dim);
        List<LlamaModel.Layer> layers = new ArrayList<>(n);
        for (int l = 0; l < n; l++) {
            layers.add(new LlamaModel.Layer(rmsAtt[l], wq[l], wk[l], wv[l], wo[l], null, null, null, rmsFfn[l],
                    w1[l], w3[l], w2[l]));
        }
        // run.c stops at BOS (1), which delimits stories; 2 is EOS
        return new LlamaModel(c, path.toString(), embd, layers, rmsFinal, wcls, null, new int[] {1, 2}, arena, null);
    }

    /** Walks the float arrays in file order. */
    private static final class Cursor {
        private final MemorySegment seg;
        private long pos;

        Cursor(MemorySegment seg, long pos) {
            this.seg = seg;
            this.pos = pos;
        }

        WeightMatrix matrix(int rows, int cols) {
            long bytes = 4L * rows * cols;
            WeightMatrix m = WeightMatrix.of(GgmlType.F32, seg.asSlice(pos, bytes), rows, cols);
            pos += bytes;
            return m;
        }

        WeightMatrix[] matrices(int count, int rows, int cols) {
            WeightMatrix[] m = new WeightMatrix[count];
            for (int i = 0; i < count; i++) {
                m[i] = matrix(rows, cols);
            }
            return m;
        }

        float[][] vectors(int count, int n) {
            float[][] v = new float[count][n];
            for (int i = 0; i < count; i++) {
                MemorySegment.copy(seg, F32, pos, v[i], 0, n);
                pos += 4L * n;
            }
            return v;
        }

        void skip(long floats) {
            pos += 4 * floats;
        }
    }
}

package io.clusterkv.runtime.attention;

import java.util.Arrays;

/**
 * The reusable working memory of the {@link Attention} kernels: scaled queries, one block of scores,
 * the running softmax state, F32 blocks for widened or gathered rows, and for
 * {@link Attention#exactParallel} one such set per task.
 *
 * <p>Owned by the caller, typically one per shard or per thread, and passed to every call. Buffers
 * grow to the largest shape seen and are kept, so serial calls with shapes already seen allocate
 * nothing on the heap. An instance must not be used by two calls at the same time; the parallel variant hands
 * its per-task parts to pool threads only for the duration of a call.
 */
public final class AttentionScratch {

    final float softcap;
    final OnlineSoftmax state;
    final OnlineSoftmax rowState;   // Attention.causal: one row's part within the block
    OnlineSoftmax[] parts = new OnlineSoftmax[0];   // (tasks) partial states of the parallel variant
    RangeTask[] tasks = new RangeTask[0];           // (tasks) the tasks of the call in flight; [0] unused (the caller)
    int[] headsOf = new int[0];  // (context) Attention.grouped: bit h set if head h selected the position; zero between calls
    int[] union = new int[0];    // Attention.grouped: the positions any head selected, in first-seen order
    int[] unionMasks = new int[0]; // (union) the heads that selected each

    /** Creates empty scratch for attention without soft-capping; buffers are sized by the first call. */
    public AttentionScratch() {
        this(0);
    }

    /**
     * Creates empty scratch for the attention of a model with attention logit soft-capping (Gemma 2): every
     * kernel called with this scratch replaces each scaled score {@code s} by {@code softcap · tanh(s / softcap)}
     * before the softmax.
     *
     * @param softcap the cap, finite and {@code > 0}, or 0 for none
     * @throws IllegalArgumentException if the cap is negative or not finite, naming it
     */
    public AttentionScratch(float softcap) {
        this.state = new OnlineSoftmax(softcap);
        this.softcap = softcap;
        this.rowState = new OnlineSoftmax(softcap);
    }


    /** Makes sure there are at least {@code count} partial states and task slots. */
    void ensureParts(int count) {
        if (parts.length >= count) {
            return;
        }
        int old = parts.length;
        parts = Arrays.copyOf(parts, count);
        tasks = Arrays.copyOf(tasks, count);
        for (int t = old; t < count; t++) {
            parts[t] = new OnlineSoftmax(softcap);
        }
    }
}

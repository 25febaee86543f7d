package io.clusterkv.runtime.decode;

import io.clusterkv.runtime.model.Sampler;
import java.util.Arrays;

/**
 * The sampling side of one generate call, as every decoder runs it: a token is sampled from each
 * step's logits and fed back, until a stop token of the model (reported, not fed back),
 * {@code maxTokens} tokens, or a full context.
 *
 * <p>A decoder calls {@link #full()} before sampling (a limit of 0 samples nothing), then
 * {@link #sample}, then {@link #stopAfter}: {@code null} means feed the token back and decode on.
 */
public final class GeneratedTokens {

    /** Why a generate call ended. */
    public enum Stop {
        /** the last token is one of the model's stop tokens */
        STOP_TOKEN,
        /** {@code maxTokens} were sampled */
        MAX_TOKENS,
        /** the next position would be past the context */
        CONTEXT_FULL
    }

    private final Sampler sampler;
    private final int[] stopTokens;
    private final int[] tokens;             // (maxTokens)
    private int produced;

    /**
     * @param maxTokens  most tokens to sample, {@code >= 0}
     * @param sampler    picks each token
     * @param stopTokens the model's stop tokens
     * @throws IllegalArgumentException if {@code maxTokens < 0}, naming it
     */
    public GeneratedTokens(int maxTokens, Sampler sampler, int[] stopTokens) {
        if (maxTokens < 0) {
            throw new IllegalArgumentException("maxTokens must be >= 0, was " + maxTokens);
        }
        this.sampler = sampler;
        this.stopTokens = stopTokens.clone();
        this.tokens = new int[maxTokens];
    }

    /**
     * The tokens of a generation after a prompt that ends at {@code position}: at most the context left
     * can be sampled (the last one is not fed back), so {@code maxTokens} is capped there and never
     * trusted to size the buffer ({@code Integer.MAX_VALUE} would be an OutOfMemoryError).
     *
     * @param maxTokens     most tokens asked for, {@code >= 0}
     * @param position      positions written (the prompt's end)
     * @param contextLength the model's context length
     * @param sampler       picks each token
     * @param stopTokens    the model's stop tokens
     * @return the buffer
     * @throws IllegalArgumentException if {@code maxTokens < 0}, naming it
     */
    public static GeneratedTokens within(int maxTokens, int position, int contextLength, Sampler sampler,
                                         int[] stopTokens) {
        if (maxTokens < 0) {
            throw new IllegalArgumentException("maxTokens must be >= 0, was " + maxTokens);
        }
        return new GeneratedTokens((int) Math.min(maxTokens, (long) contextLength - position + 1), sampler, stopTokens);
    }

    /** @return whether {@code maxTokens} were sampled */
    public boolean full() {
        return produced == tokens.length;
    }

    /**
     * Samples the next token.
     *
     * @param logits the step's logits {@code (vocab)}
     * @return the token
     * @throws IllegalStateException if {@link #full()}
     */
    public int sample(float[] logits) {
        if (full()) {
            throw new IllegalStateException("all " + tokens.length + " tokens were sampled");
        }
        int token = sampler.sample(logits);
        tokens[produced++] = token;
        return token;
    }

    /**
     * @param token         the token just sampled
     * @param position      the position it takes when fed back
     * @param contextLength the model's context length
     * @return why generation ends with this token, or {@code null} to feed it back
     */
    public Stop stopAfter(int token, int position, int contextLength) {
        for (int s : stopTokens) {
            if (s == token) {
                return Stop.STOP_TOKEN;
            }
        }
        if (full()) {
            return Stop.MAX_TOKENS;
        }
        return position == contextLength ? Stop.CONTEXT_FULL : null;
    }

    /** @return the tokens sampled so far, a copy */
    public int[] tokens() {
        return Arrays.copyOf(tokens, produced);
    }
}

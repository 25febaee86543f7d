package io.clusterkv.runtime.arena;

import io.clusterkv.runtime.synthetic.WorkloadParams;
import java.util.Objects;

/** What the arena replays: the synthetic KV workload (no model), or a model over a prompt. */
public sealed interface ArenaInput {

    /**
     * The built-in synthetic KV workload ({@link io.clusterkv.runtime.synthetic.SyntheticWorkload}): one
     * independent workload per KV head, no model, no layers (reported as layer 0).
     *
     * @param workload the workload's shape and statistics; its prompt length, steps and seed are replaced
     *                 by each of {@link ArenaSpec#contexts()}, {@link ArenaSpec#steps()} and
     *                 {@link ArenaSpec#seed()} (plus the KV head index)
     * @param kvHeads  independent KV heads (shards) averaged over, {@code >= 1}
     */
    record SyntheticKv(WorkloadParams workload, int kvHeads) implements ArenaInput {
        /**
         * @throws IllegalArgumentException if {@code kvHeads < 1}
         */
        public SyntheticKv {
            Objects.requireNonNull(workload, "workload");
            if (kvHeads < 1) {
                throw new IllegalArgumentException("kvHeads must be >= 1, was " + kvHeads);
            }
        }
    }

    /**
     * A model, replayed over a reference token sequence: for each context length {@code c}, its first
     * {@code c} tokens are prefilled and the next {@link ArenaSpec#steps()} tokens are decoded one at a
     * time (teacher forcing), exactly. Where the prompt is shorter than the longest context plus the
     * steps, the exact model's greedy continuation fills the rest.
     *
     * @param model  a model file (GGUF or llama2.c) or {@code synthetic:<shape>[:<type>]}, as
     *               {@link io.clusterkv.runtime.model.Models#load(String)} takes
     * @param prompt the prompt
     */
    record Model(String model, Prompt prompt) implements ArenaInput {
        /**
         * @throws IllegalArgumentException if the model name is blank
         */
        public Model {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(prompt, "prompt");
            if (model.isBlank()) {
                throw new IllegalArgumentException("model must not be blank");
            }
        }
    }

    /** The start of a model's reference token sequence. */
    sealed interface Prompt {

        /**
         * Text, tokenised by the model's own tokenizer (a GGUF file's vocabulary), BOS as the model asks.
         *
         * @param text the text, not empty
         */
        record Text(String text) implements Prompt {
            /**
             * @throws IllegalArgumentException if the text is empty
             */
            public Text {
                if (text.isEmpty()) {
                    throw new IllegalArgumentException("the prompt text is empty");
                }
            }
        }

        /**
         * Token ids, used as they are (no BOS is added).
         *
         * @param ids the ids, at least one; copied
         */
        record Tokens(int[] ids) implements Prompt {
            /**
             * @throws IllegalArgumentException if there are no ids or one is negative
             */
            public Tokens {
                ids = ids.clone();
                if (ids.length == 0) {
                    throw new IllegalArgumentException("the prompt has no token ids");
                }
                for (int id : ids) {
                    if (id < 0) {
                        throw new IllegalArgumentException("token ids must be >= 0, got " + id);
                    }
                }
            }

            @Override
            public int[] ids() {
                return ids.clone();
            }
        }

        /**
         * No prompt: the BOS token (the tokenizer's, or 1 for a model without one, as llama2.c), then the
         * exact model's greedy continuation.
         */
        record Generated() implements Prompt {
        }
    }
}

package io.clusterkv.runtime.chat;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * Sampling and stopping of one request to a {@link ChatEngine}: either a chat ({@code messages}, rendered by
 * the model's chat template) or a raw text completion ({@code prompt}, no template; {@code messages} empty).
 *
 * @param messages    the conversation, oldest first; empty when {@code prompt} is given
 * @param prompt      raw text to continue (as {@code /v1/completions}); empty for a chat
 * @param maxTokens   most tokens to generate, {@code >= 0}
 * @param temperature {@code 0} is greedy; in {@code [0, 2]}
 * @param topP        nucleus mass in {@code (0, 1]}; 1 keeps all
 * @param seed        seeds the sampler; empty: a seed drawn per request
 * @param stop        stop strings: the text ends before the first one found (besides the model's EOS/EOT tokens);
 *                    none empty
 * @param policy      the recall policy for this request's session, or empty for the engine's default
 * @param budget      the budget for this request's session, or empty for the engine's default
 * @throws InvalidChatRequestException if a value is out of range or both or neither of {@code messages} and
 *                                     {@code prompt} are given, naming the field and the value
 */
public record ChatRequest(List<ChatMessage> messages, Optional<String> prompt, int maxTokens, double temperature,
                          double topP, OptionalLong seed, List<String> stop, Optional<String> policy,
                          OptionalInt budget) {

    /** Checks the values and copies the lists. */
    public ChatRequest {
        Objects.requireNonNull(messages, "messages");
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(seed, "seed");
        Objects.requireNonNull(stop, "stop");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(budget, "budget");
        messages = List.copyOf(messages);
        stop = List.copyOf(stop);
        if (messages.isEmpty() == prompt.isEmpty()) {
            throw new InvalidChatRequestException(messages.isEmpty()
                    ? "a request needs messages (chat) or a prompt (completion); it has neither"
                    : "a request has messages (chat) or a prompt (completion), not both");
        }
        for (int i = 0; i < messages.size(); i++) {
            String role = messages.get(i).role();
            if (!ChatMessage.ROLES.contains(role)) {
                throw new InvalidChatRequestException("messages[" + i + "].role '" + role
                        + "' is not supported; supported: system, user, assistant");
            }
        }
        if (maxTokens < 0) {
            throw new InvalidChatRequestException("max_tokens must be >= 0, was " + maxTokens);
        }
        if (!(temperature >= 0 && temperature <= 2)) {
            throw new InvalidChatRequestException("temperature must be in [0, 2], was " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new InvalidChatRequestException("top_p must be in (0, 1], was " + topP);
        }
        for (int i = 0; i < stop.size(); i++) {
            if (stop.get(i).isEmpty()) {
                throw new InvalidChatRequestException("stop[" + i + "] is empty");
            }
        }
        if (budget.isPresent() && budget.getAsInt() < 1) {
            throw new InvalidChatRequestException("budget must be >= 1, was " + budget.getAsInt());
        }
        if (policy.isPresent() && policy.get().isBlank()) {
            throw new InvalidChatRequestException("policy is blank");
        }
    }

    /**
     * @param messages  the conversation
     * @param maxTokens most tokens to generate
     * @return a greedy chat request with no stop strings and the engine's policy and budget
     */
    public static ChatRequest chat(List<ChatMessage> messages, int maxTokens) {
        return builder().messages(messages).maxTokens(maxTokens).build();
    }

    /** @return a new builder: greedy, 256 tokens, no stop strings, the engine's policy and budget */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link ChatRequest}s; {@link #build()} checks the values. */
    public static final class Builder {
        private List<ChatMessage> messages = List.of();
        private String prompt;
        private int maxTokens = 256;
        private double temperature;
        private double topP = 1;
        private Long seed;
        private List<String> stop = List.of();
        private String policy;
        private Integer budget;

        private Builder() {
        }

        /** @param messages the conversation @return this */
        public Builder messages(List<ChatMessage> messages) {
            this.messages = Objects.requireNonNull(messages, "messages");
            return this;
        }

        /** @param prompt raw text to continue, no template @return this */
        public Builder prompt(String prompt) {
            this.prompt = Objects.requireNonNull(prompt, "prompt");
            return this;
        }

        /** @param maxTokens most tokens to generate @return this */
        public Builder maxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
            return this;
        }

        /** @param temperature 0 is greedy @return this */
        public Builder temperature(double temperature) {
            this.temperature = temperature;
            return this;
        }

        /** @param topP nucleus mass @return this */
        public Builder topP(double topP) {
            this.topP = topP;
            return this;
        }

        /** @param seed the sampler's seed @return this */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** @param stop stop strings @return this */
        public Builder stop(List<String> stop) {
            this.stop = Objects.requireNonNull(stop, "stop");
            return this;
        }

        /** @param policy the recall policy @return this */
        public Builder policy(String policy) {
            this.policy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** @param budget the budget @return this */
        public Builder budget(int budget) {
            this.budget = budget;
            return this;
        }

        /**
         * @return the request
         * @throws InvalidChatRequestException if a value is out of range
         */
        public ChatRequest build() {
            return new ChatRequest(messages, Optional.ofNullable(prompt), maxTokens, temperature, topP,
                    seed == null ? OptionalLong.empty() : OptionalLong.of(seed), stop, Optional.ofNullable(policy),
                    budget == null ? OptionalInt.empty() : OptionalInt.of(budget));
        }
    }
}

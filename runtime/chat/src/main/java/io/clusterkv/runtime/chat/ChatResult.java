package io.clusterkv.runtime.chat;

/**
 * What a chat request produced.
 *
 * @param text               the generated text: no stop token, cut before a stop string
 * @param finishReason       why it stopped
 * @param promptTokens       tokens of the rendered prompt (all of them, reused or not)
 * @param completionTokens   tokens generated (an end-of-turn token that stopped it included)
 * @param reusedPromptTokens prompt tokens not prefilled again: already in the KV of a cached conversation
 *                           this one extends
 */
public record ChatResult(String text, FinishReason finishReason, int promptTokens, int completionTokens,
                         int reusedPromptTokens) {
}

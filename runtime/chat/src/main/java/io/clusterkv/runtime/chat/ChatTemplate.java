package io.clusterkv.runtime.chat;

import io.clusterkv.runtime.model.LlamaModel;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A chat template from the GGUF's {@code tokenizer.chat_template}, rendered by Jinjava with the variables
 * Hugging Face and llama.cpp give it: {@code messages} (each with {@code role} and {@code content}),
 * {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, and the function
 * {@code raise_exception(message)}. Immutable and thread-safe.
 */
public final class ChatTemplate {

    /** The GGUF key holding the template. */
    public static final String GGUF_KEY = "tokenizer.chat_template";

    private final String source;
    private final String bosToken;
    private final String eosToken;

    private ChatTemplate(String source, String bosToken, String eosToken) {
        this.source = source;
        this.bosToken = bosToken;
        this.eosToken = eosToken;
    }

    /**
     * @param jinjaSource the template's Jinja source
     * @param bosToken    the text of the BOS token ({@code ""} if none)
     * @param eosToken    the text of the EOS token ({@code ""} if none)
     * @return the template
     * @throws ChatTemplateException if the source does not parse
     */
    public static ChatTemplate of(String jinjaSource, String bosToken, String eosToken) {
        Objects.requireNonNull(jinjaSource, "jinjaSource");
        Objects.requireNonNull(bosToken, "bosToken");
        Objects.requireNonNull(eosToken, "eosToken");
        return new ChatTemplate(jinjaSource, bosToken, eosToken);
    }

    /**
     * @param model a model
     * @return its GGUF's {@code tokenizer.chat_template}, with the vocabulary's BOS and EOS texts; empty if it
     *         has none (a model without a GGUF, or a GGUF without the key)
     * @throws ChatTemplateException if the template does not parse
     */
    public static Optional<ChatTemplate> fromModel(LlamaModel model) {
        throw new UnsupportedOperationException("not yet");
    }

    /** @return the Jinja source */
    public String source() {
        return source;
    }

    /** @return the BOS token's text given to the template */
    public String bosToken() {
        return bosToken;
    }

    /** @return the EOS token's text given to the template */
    public String eosToken() {
        return eosToken;
    }

    /**
     * @param messages            the conversation
     * @param addGenerationPrompt whether to end with the opening of an assistant turn
     * @return the prompt text, special tokens written as their text (e.g. {@code <|im_start|>})
     * @throws ChatTemplateException if rendering fails or the template raised an exception
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        throw new UnsupportedOperationException("not yet");
    }
}

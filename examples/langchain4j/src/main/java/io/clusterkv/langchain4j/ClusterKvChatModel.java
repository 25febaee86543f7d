package io.clusterkv.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import io.clusterkv.runtime.chat.ChatEngine;
import io.clusterkv.runtime.chat.ChatListener;
import java.util.concurrent.CompletionException;

/**
 * LangChain4j's {@link ChatModel} on the ClusterKV runtime, in-process: each call renders the conversation
 * with the model's chat template and decodes it in a session with a bounded KV working set (the recall
 * policy and budget are builder options). A conversation that continues an earlier one reuses its KV.
 *
 * <pre>{@code
 * try (ClusterKvChatModel model = ClusterKvChatModel.builder()
 *         .model("synthetic:tiny-chat").policy("clusterkv").budget(256).maxTokens(64).build()) {
 *     String answer = model.chat("Hello!");
 * }
 * }</pre>
 *
 * <p>Supported: system, user (text) and AI messages; temperature, topP, maxOutputTokens, stopSequences.
 * Tools, JSON output, topK and penalties throw {@link dev.langchain4j.exception.UnsupportedFeatureException}.
 * A full queue is a {@link dev.langchain4j.exception.RateLimitException}; a bad request, a prompt that does
 * not fit or a model without template an {@link dev.langchain4j.exception.InvalidRequestException}.
 */
public final class ClusterKvChatModel implements ChatModel, AutoCloseable {

    private final InProcessChat chat;

    private ClusterKvChatModel(InProcessChat chat) {
        this.chat = chat;
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link ClusterKvChatModel}s. */
    public static final class Builder extends ClusterKvModelBuilder<Builder, ClusterKvChatModel> {
        private Builder() {
        }

        @Override
        public ClusterKvChatModel build() {
            return new ClusterKvChatModel(InProcessChat.of(this));
        }
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        io.clusterkv.runtime.chat.ChatRequest r = chat.toEngine(request);
        try {
            return chat.toResponse(chat.engine().submit(r, ChatListener.none()).result().join());
        } catch (CompletionException | io.clusterkv.runtime.chat.InvalidChatRequestException
                 | io.clusterkv.runtime.chat.ChatTemplateException | io.clusterkv.runtime.chat.ContextOverflowException
                 | io.clusterkv.runtime.chat.EngineOverloadedException e) {
            throw InProcessChat.translate(e);
        }
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return chat.defaults();
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    /** @return the engine: its {@link ChatEngine#stats()} count the prompt tokens reused */
    public ChatEngine engine() {
        return chat.engine();
    }

    /** Closes the engine, and the runtime and model if the builder made them. */
    @Override
    public void close() {
        chat.close();
    }
}

package io.clusterkv.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import io.clusterkv.runtime.chat.ChatEngine;

/**
 * LangChain4j's {@link StreamingChatModel} on the ClusterKV runtime, in-process: as {@link ClusterKvChatModel},
 * with the answer's text passed to {@link StreamingChatResponseHandler#onPartialResponse(String)} as it is
 * generated (whole characters; text that may start a stop sequence is held back until decided), then the
 * whole response, with token usage and finish reason, to {@code onCompleteResponse}. Every error, the
 * request's own included, goes to {@code onError}. The handler is called on the runtime's threads.
 */
public final class ClusterKvStreamingChatModel implements StreamingChatModel, AutoCloseable {

    private final InProcessChat chat;

    private ClusterKvStreamingChatModel(InProcessChat chat) {
        this.chat = chat;
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link ClusterKvStreamingChatModel}s. */
    public static final class Builder extends ClusterKvModelBuilder<Builder, ClusterKvStreamingChatModel> {
        private Builder() {
        }

        @Override
        public ClusterKvStreamingChatModel build() {
            return new ClusterKvStreamingChatModel(InProcessChat.of(this));
        }
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        try {
            chat.engine().submit(chat.toEngine(request), handler::onPartialResponse).result().whenComplete((r, e) -> {
                if (e != null) {
                    handler.onError(InProcessChat.translate(e));
                } else {
                    handler.onCompleteResponse(chat.toResponse(r));
                }
            });
        } catch (RuntimeException e) {
            handler.onError(InProcessChat.translate(e));
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

package io.clusterkv.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.LangChain4jException;
import dev.langchain4j.exception.RateLimitException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.chat.ChatEngine;
import io.clusterkv.runtime.chat.ChatResult;
import io.clusterkv.runtime.chat.ChatTemplateException;
import io.clusterkv.runtime.chat.ContextOverflowException;
import io.clusterkv.runtime.chat.EngineOverloadedException;
import io.clusterkv.runtime.chat.InvalidChatRequestException;
import io.clusterkv.runtime.model.LlamaModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.CompletionException;

/**
 * What both models share: the engine (and the runtime and model when the builder made them), the
 * translation of LangChain4j requests to {@link io.clusterkv.runtime.chat.ChatRequest}s and of results
 * back, and the mapping of the engine's errors to LangChain4j's exceptions.
 */
final class InProcessChat implements AutoCloseable {

    private final ChatEngine engine;
    private final ClusterKvRuntime ownedRuntime;   // null when the caller's
    private final ChatEngine ownedEngine;          // null when the caller's
    private final Optional<String> policy;
    private final OptionalInt budget;
    private final OptionalLong seed;
    private final ChatRequestParameters defaults;

    private InProcessChat(ChatEngine engine, ClusterKvRuntime ownedRuntime, ChatEngine ownedEngine,
                          Optional<String> policy, OptionalInt budget, OptionalLong seed, ChatRequestParameters defaults) {
        this.engine = engine;
        this.ownedRuntime = ownedRuntime;
        this.ownedEngine = ownedEngine;
        this.policy = policy;
        this.budget = budget;
        this.seed = seed;
        this.defaults = defaults;
    }

    static InProcessChat of(ClusterKvModelBuilder<?, ?> b) {
        ChatRequestParameters defaults = ChatRequestParameters.builder()
                .temperature(b.temperature).topP(b.topP).maxOutputTokens(b.maxTokens).stopSequences(b.stop).build();
        if (b.engine != null) {
            return new InProcessChat(b.engine, null, null, Optional.ofNullable(b.policy),
                    b.budget == null ? OptionalInt.empty() : OptionalInt.of(b.budget), seedOf(b), defaults);
        }
        if (b.model == null) {
            throw new IllegalArgumentException("set model(pathOrSyntheticName) or engine(ChatEngine)");
        }
        ClusterKvRuntime runtime = b.runtime != null ? b.runtime : ClusterKvRuntime.create();
        try {
            LlamaModel model = runtime.loadModel(b.model);
            ChatEngine.Options options = new ChatEngine.Options(b.maxConcurrent, b.maxQueued, b.maxCachedConversations,
                    Optional.ofNullable(b.policy), b.budget == null ? OptionalInt.empty() : OptionalInt.of(b.budget));
            ChatEngine engine = ChatEngine.create(runtime, model, options);
            return new InProcessChat(engine, b.runtime == null ? runtime : null, engine, Optional.empty(),
                    OptionalInt.empty(), seedOf(b), defaults);
        } catch (IOException e) {
            closeQuietly(b.runtime == null ? runtime : null);
            throw new UncheckedIOException("cannot load model " + b.model, e);
        } catch (RuntimeException e) {
            closeQuietly(b.runtime == null ? runtime : null);
            throw e;
        }
    }

    private static OptionalLong seedOf(ClusterKvModelBuilder<?, ?> b) {
        return b.seed == null ? OptionalLong.empty() : OptionalLong.of(b.seed);
    }

    private static void closeQuietly(ClusterKvRuntime r) {
        if (r != null) {
            r.close();
        }
    }

    ChatEngine engine() {
        return engine;
    }

    ChatRequestParameters defaults() {
        return defaults;
    }

    /** @throws UnsupportedFeatureException for tools, JSON output, top-k and penalties; InvalidRequestException for bad messages */
    io.clusterkv.runtime.chat.ChatRequest toEngine(ChatRequest request) {
        ChatRequestParameters p = request.parameters();
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new UnsupportedFeatureException("tools are not supported by the ClusterKV chat model");
        }
        ResponseFormat format = p.responseFormat();
        if (format != null && format.type() == ResponseFormatType.JSON) {
            throw new UnsupportedFeatureException("JSON response format is not supported by the ClusterKV chat model");
        }
        if (p.topK() != null || p.frequencyPenalty() != null || p.presencePenalty() != null) {
            throw new UnsupportedFeatureException("topK, frequencyPenalty and presencePenalty are not supported by the "
                    + "ClusterKV chat model (it samples with temperature and topP)");
        }
        if (p.modelName() != null && !p.modelName().equals(engine.modelId())) {
            throw new InvalidRequestException("model '" + p.modelName() + "' is not this model's ('" + engine.modelId() + "')");
        }
        List<io.clusterkv.runtime.chat.ChatMessage> messages = new ArrayList<>();
        for (ChatMessage m : request.messages()) {
            messages.add(switch (m) {
                case SystemMessage s -> io.clusterkv.runtime.chat.ChatMessage.system(s.text());
                case UserMessage u -> io.clusterkv.runtime.chat.ChatMessage.user(textOf(u));
                case AiMessage a -> {
                    if (a.hasToolExecutionRequests()) {
                        throw new UnsupportedFeatureException("tool execution requests are not supported");
                    }
                    yield io.clusterkv.runtime.chat.ChatMessage.assistant(a.text() == null ? "" : a.text());
                }
                default -> throw new UnsupportedFeatureException("messages of type " + m.type()
                        + " are not supported (system, user and AI messages are)");
            });
        }
        try {
            return new io.clusterkv.runtime.chat.ChatRequest(messages, Optional.empty(),
                    p.maxOutputTokens() != null ? p.maxOutputTokens() : 256,
                    p.temperature() != null ? p.temperature() : 0.0,
                    p.topP() != null ? p.topP() : 1.0,
                    seed, p.stopSequences() == null ? List.of() : p.stopSequences(), policy, budget);
        } catch (InvalidChatRequestException e) {
            throw new InvalidRequestException(e.getMessage(), e);
        }
    }

    private static String textOf(UserMessage u) {
        if (u.hasSingleText()) {
            return u.singleText();
        }
        StringBuilder b = new StringBuilder();
        for (Content c : u.contents()) {
            if (!(c instanceof TextContent t)) {
                throw new UnsupportedFeatureException("user content of type " + c.type() + " is not supported (text is)");
            }
            b.append(t.text());
        }
        return b.toString();
    }

    ChatResponse toResponse(ChatResult r) {
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(r.text()))
                .modelName(engine.modelId())
                .tokenUsage(new TokenUsage(r.promptTokens(), r.completionTokens()))
                .finishReason(switch (r.finishReason()) {
                    case STOP -> FinishReason.STOP;
                    case LENGTH -> FinishReason.LENGTH;
                    case CANCELLED -> FinishReason.OTHER;
                })
                .build();
    }

    /** The engine's errors as LangChain4j's: bad requests, overload; others pass as they are. */
    static RuntimeException translate(Throwable e) {
        Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        return switch (t) {
            case LangChain4jException l -> l;
            case InvalidChatRequestException i -> new InvalidRequestException(i.getMessage(), i);
            case ChatTemplateException c -> new InvalidRequestException(c.getMessage(), c);
            case ContextOverflowException c -> new InvalidRequestException(c.getMessage(), c);
            case EngineOverloadedException o -> new RateLimitException(o.getMessage(), o);
            case RuntimeException r -> r;
            default -> new LangChain4jException(t.getMessage(), t);
        };
    }

    @Override
    public void close() {
        if (ownedEngine != null) {
            ownedEngine.close();
        }
        if (ownedRuntime != null) {
            ownedRuntime.close();
        }
    }
}

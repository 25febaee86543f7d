package io.clusterkv.runtime.server;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.chat.ChatCall;
import io.clusterkv.runtime.chat.ChatEngine;
import io.clusterkv.runtime.chat.ChatListener;
import io.clusterkv.runtime.chat.ChatResult;
import io.clusterkv.runtime.chat.ChatTemplateException;
import io.clusterkv.runtime.chat.ContextOverflowException;
import io.clusterkv.runtime.chat.EngineOverloadedException;
import io.clusterkv.runtime.chat.FinishReason;
import io.clusterkv.runtime.chat.InvalidChatRequestException;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.http.scaladsl.model.EntityStreamException;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * An OpenAI-compatible HTTP server over a {@link ChatEngine}, on Pekko HTTP in the runtime's actor system.
 *
 * <pre>{@code
 * try (ClusterKvRuntime runtime = ClusterKvRuntime.create()) {
 *     LlamaModel model = runtime.loadModel("synthetic:tiny-chat");
 *     try (ChatEngine engine = ChatEngine.create(runtime, model, ChatEngine.Options.defaults());
 *          OpenAiServer server = OpenAiServer.start(runtime, engine, ServerOptions.defaults().withPort(0))) {
 *         System.out.println(server.baseUri()); // http://127.0.0.1:<port>/v1/
 *     }
 * }
 * }</pre>
 *
 * <p>Endpoints: {@code POST /v1/chat/completions} and {@code POST /v1/completions} (server-sent events with
 * {@code "stream": true}, else one JSON answer with {@code usage}), {@code GET /v1/models},
 * {@code GET /v1/models/<id>}, {@code GET /health}, {@code GET /metrics} (Prometheus). A request may carry the
 * extension {@code "clusterkv": {"policy": "quest", "budget": 512}}; {@code usage.prompt_tokens_details.cached_tokens}
 * reports the prompt tokens reused from a cached conversation. Errors are OpenAI's
 * {@code {"error": {"message", "type", "param", "code"}}}: 400 for a malformed or unsupported request (the
 * field named in {@code param}) or a context overflow ({@code context_length_exceeded}), 401 without the
 * API key, 404 for an unknown model or URL, 413 for a body over the limit, 429 when the engine's queue is
 * full, 503 while stopping, 500 when decoding failed.
 *
 * <p>Design notes. Each connection's requests run through one handler flow materialized per connection;
 * when the connection ends, every call it started and that still runs is cancelled ({@link ConnectionScope}),
 * so a client that goes away frees its session whether it streamed or not; a stream's termination cancels
 * its call too. The engine's listener runs on a runtime thread and only offers a chunk to the stream's
 * bounded source queue, which is sized to hold every chunk a request can produce, so an offer never
 * blocks and never drops (should one fail, the client is taken as gone and the call cancelled). Errors found before a call starts (parsing, the
 * engine's synchronous checks) get their HTTP status; an error after a stream started is sent as a
 * {@code data: {"error": ...}} event, as OpenAI does. Concurrency limits and the queue are the engine's;
 * the server adds none.
 */
public final class OpenAiServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OpenAiServer.class);
    private static final Duration KEEP_ALIVE = Duration.ofSeconds(15);
    private static final ByteString KEEP_ALIVE_COMMENT = ByteString.fromString(": keep-alive\n\n");
    private static final ByteString DONE = ByteString.fromString("data: [DONE]\n\n");
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final ChatBackend backend;
    private final ServerOptions options;
    private final Materializer materializer;
    private final ServerMetrics metrics;
    private final ServerBinding binding;
    private final AtomicLong ids = new AtomicLong();
    private final String idPrefix = Long.toHexString(System.nanoTime() & 0xffffffL);
    private final AtomicBoolean stopping = new AtomicBoolean();

    private OpenAiServer(ActorSystem<?> system, ChatBackend backend, ServerOptions options) {
        this.backend = backend;
        this.options = options;
        this.materializer = Materializer.matFromSystem(system);
        this.metrics = new ServerMetrics(backend);
        Config config = ConfigFactory.parseString("pekko.http.server { request-timeout = infinite\n idle-timeout = "
                + options.idleTimeout().toMillis() + "ms\n parsing.max-content-length = " + options.maxRequestBytes()
                + "\n server-header = ckv-serve }").withFallback(system.settings().config());
        Flow<HttpRequest, HttpResponse, NotUsed> perConnection = Flow.<HttpRequest, HttpResponse, NotUsed>fromMaterializer(
                (mat, attributes) -> {
                    ConnectionScope scope = new ConnectionScope();
                    return Flow.of(HttpRequest.class)
                            // the requests' side ends when the client closes or resets its side: Pekko HTTP says so
                            // nowhere else while a response is pending (akka-http#1718)
                            .watchTermination((notUsed, done) -> {
                                done.whenComplete((d, e) -> scope.close());
                                return NotUsed.notUsed();
                            })
                            .mapAsync(1, request -> answer(request, scope))
                            .watchTermination((notUsed, done) -> {
                                done.whenComplete((d, e) -> scope.close());
                                return NotUsed.notUsed();
                            });
                }).mapMaterializedValue(m -> NotUsed.notUsed());
        CompletionStage<ServerBinding> bound = Http.get(system).newServerAt(options.host(), options.port())
                .withSettings(ServerSettings.create(config)).bindFlow(perConnection);
        try {
            this.binding = bound.toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            metrics.close();
            BindException b = new BindException("cannot listen on " + options.host() + ":" + options.port() + ": "
                    + (e.getCause() == null ? e : e.getCause()).getMessage());
            b.initCause(e.getCause());
            throw new UncheckedIOException(b);
        } catch (TimeoutException e) {
            metrics.close();
            throw new UncheckedIOException(new BindException("binding " + options.host() + ":" + options.port()
                    + " took longer than 30 s"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            metrics.close();
            throw new IllegalStateException("interrupted while binding " + options.host() + ":" + options.port(), e);
        }
    }

    /**
     * Starts serving the engine's model on the runtime's actor system; returns once the port is bound.
     *
     * @param runtime the runtime the engine decodes on (its actor system serves, its residency is measured)
     * @param engine  the engine (the server does not close it)
     * @param options where to listen
     * @return the running server
     * @throws UncheckedIOException wrapping a {@link BindException} naming the host and port if they cannot be bound
     */
    public static OpenAiServer start(ClusterKvRuntime runtime, ChatEngine engine, ServerOptions options) {
        Objects.requireNonNull(runtime, "runtime");
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(options, "options");
        return new OpenAiServer(runtime.actorSystem(), new ChatBackend.OnEngine(runtime, engine), options);
    }

    static OpenAiServer start(ActorSystem<?> system, ChatBackend backend, ServerOptions options) {
        return new OpenAiServer(system, backend, options);
    }

    /** @return the address bound (with the port picked when the options gave 0) */
    public InetSocketAddress address() {
        return binding.localAddress();
    }

    /** @return the base URL OpenAI clients take, {@code http://<host>:<port>/v1/} */
    public URI baseUri() {
        return URI.create("http://" + hostForUri() + ":" + address().getPort() + "/v1/");
    }

    private String hostForUri() {
        String h = options.host();
        if (h.equals("0.0.0.0") || h.equals("::")) {
            return "127.0.0.1";
        }
        return h.contains(":") ? "[" + h + "]" : h;
    }

    /** @return the server's meters (what {@code GET /metrics} shows) */
    public MeterRegistry meterRegistry() {
        return metrics.registry();
    }

    /**
     * Stops accepting connections, gives requests in flight up to 10 s to finish, then closes the rest of the
     * connections (cancelling their calls). Does not close the engine or the runtime. Idempotent.
     */
    @Override
    public void close() {
        if (!stopping.compareAndSet(false, true)) {
            return;
        }
        try {
            binding.terminate(Duration.ofSeconds(10)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("stopping the server on {}: {}", address(), e.toString());
        }
        metrics.close();
    }

    // ---- dispatch

    private CompletionStage<HttpResponse> answer(HttpRequest request, ConnectionScope scope) {
        String path = request.getUri().path();
        String endpoint = endpointLabel(path);
        CompletionStage<HttpResponse> response;
        try {
            response = route(request, path, scope);
        } catch (ApiError.Failure f) {
            request.discardEntityBytes(materializer);
            response = CompletableFuture.completedFuture(error(f.error()));
        } catch (RuntimeException e) {
            LOG.error("{} {} failed", request.method().value(), path, e);
            request.discardEntityBytes(materializer);
            response = CompletableFuture.completedFuture(error(ApiError.internal(e.toString())));
        }
        return response.exceptionally(e -> {
            Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            LOG.error("{} {} failed", request.method().value(), path, t);
            return error(ApiError.internal(t.toString()));
        }).thenApply(r -> {
            metrics.answered(endpoint, r.status().intValue());
            return r;
        });
    }

    private CompletionStage<HttpResponse> route(HttpRequest request, String path, ConnectionScope scope) {
        String method = request.method().value();
        switch (path) {
            case "/health" -> {
                requireMethod(request, path, "GET");
                request.discardEntityBytes(materializer);
                return done(health());
            }
            case "/metrics" -> {
                requireMethod(request, path, "GET");
                request.discardEntityBytes(materializer);
                return done(HttpResponse.create().withEntity(HttpEntities.create(
                        ContentTypes.parse("text/plain; version=0.0.4; charset=utf-8"), ByteString.fromString(metrics.scrape()))));
            }
            case "/v1/models" -> {
                requireMethod(request, path, "GET");
                authorize(request);
                request.discardEntityBytes(materializer);
                ObjectNode list = JSON.createObjectNode().put("object", "list");
                list.putArray("data").add(model());
                return done(json(200, list));
            }
            case "/v1/chat/completions" -> {
                requireMethod(request, path, "POST");
                authorize(request);
                return generate(request, OpenAiRequest.Endpoint.CHAT, scope);
            }
            case "/v1/completions" -> {
                requireMethod(request, path, "POST");
                authorize(request);
                return generate(request, OpenAiRequest.Endpoint.COMPLETION, scope);
            }
            default -> {
                if (path.startsWith("/v1/models/")) {
                    requireMethod(request, path, "GET");
                    authorize(request);
                    request.discardEntityBytes(materializer);
                    String id = java.net.URLDecoder.decode(path.substring("/v1/models/".length()), StandardCharsets.UTF_8);
                    if (!id.equals(backend.modelId())) {
                        throw ApiError.modelNotFound(id, backend.modelId()).failure();
                    }
                    return done(json(200, model()));
                }
                throw ApiError.notFound(method, path).failure();
            }
        }
    }

    private static String endpointLabel(String path) {
        return switch (path) {
            case "/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions" -> path;
            default -> path.startsWith("/v1/models/") ? "/v1/models/{id}" : "other";
        };
    }

    private static void requireMethod(HttpRequest request, String path, String allowed) {
        if (!request.method().value().equals(allowed)) {
            throw ApiError.methodNotAllowed(request.method().value(), path, allowed).failure();
        }
    }

    private void authorize(HttpRequest request) {
        if (options.apiKey().isEmpty()) {
            return;
        }
        Optional<String> header = request.getHeader("Authorization").map(h -> h.value().trim());
        if (header.isEmpty()) {
            throw ApiError.unauthorized("You didn't provide an API key: this server needs 'Authorization: Bearer <key>'.")
                    .failure();
        }
        String value = header.get();
        boolean bearer = value.regionMatches(true, 0, "Bearer ", 0, 7);
        byte[] given = (bearer ? value.substring(7).trim() : "").getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(given, options.apiKey().get().getBytes(StandardCharsets.UTF_8))) {
            throw ApiError.unauthorized("Incorrect API key provided.").failure();
        }
    }

    private ObjectNode model() {
        ObjectNode m = JSON.createObjectNode();
        m.put("id", backend.modelId()).put("object", "model").put("created", 0).put("owned_by", "clusterkv");
        m.putObject("clusterkv").put("context_length", backend.contextLength());
        return m;
    }

    private HttpResponse health() {
        ChatEngine.Stats s = backend.stats();
        ObjectNode h = JSON.createObjectNode();
        h.put("status", stopping.get() ? "stopping" : "ok").put("model", backend.modelId())
                .put("active", s.active()).put("queued", s.queued()).put("sessions", backend.openSessions());
        return json(stopping.get() ? 503 : 200, h);
    }

    // ---- generation

    private CompletionStage<HttpResponse> generate(HttpRequest request, OpenAiRequest.Endpoint endpoint,
                                                   ConnectionScope scope) {
        if (request.entity().getContentLengthOption().orElse(0L) > options.maxRequestBytes()) {
            request.discardEntityBytes(materializer);
            return done(error(ApiError.tooLarge(options.maxRequestBytes())));
        }
        return request.entity().toStrict(60_000, options.maxRequestBytes(), materializer)
                .thenCompose(strict -> {
                    try {
                        return start(endpoint, parse(endpoint, strict.getData()), scope);
                    } catch (ApiError.Failure f) {
                        return done(error(f.error()));
                    }
                })
                .exceptionally(e -> {
                    Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                    if (t instanceof EntityStreamSizeException || (t instanceof EntityStreamException x
                            && String.valueOf(x.getMessage()).contains("too large"))) {
                        return error(ApiError.tooLarge(options.maxRequestBytes()));
                    }
                    if (t instanceof ApiError.Failure f) {
                        return error(f.error());
                    }
                    throw e instanceof CompletionException c ? c : new CompletionException(e);
                });
    }

    private OpenAiRequest parse(OpenAiRequest.Endpoint endpoint, ByteString bytes) {
        if (bytes.isEmpty()) {
            throw ApiError.badJson("the body is empty").failure();
        }
        JsonNode body;
        try {
            body = JSON.readTree(bytes.toArray());
        } catch (JacksonException e) {
            // Jackson's message names its (redacted) source; the line and column say where
            String what = e.getOriginalMessage().replaceAll("\\s*\\([^()\\[]*\\[Source:[^\\]]*\\]\\)", "")
                    .lines().findFirst().orElse("malformed JSON");
            var at = e.getLocation();
            throw ApiError.badJson(at == null || at.getLineNr() < 1 ? what
                    : what + " at line " + at.getLineNr() + ", column " + at.getColumnNr()).failure();
        }
        OpenAiRequest r = OpenAiRequest.parse(endpoint, body);
        if (!r.model().equals(backend.modelId())) {
            throw ApiError.modelNotFound(r.model(), backend.modelId()).failure();
        }
        return r;
    }

    /** One request from its submission to its last byte. */
    private final class Generation implements ChatListener {
        final OpenAiRequest request;
        final String id;
        final long created = System.currentTimeMillis() / 1000;
        final long startNanos = System.nanoTime();
        volatile long firstNanos;
        final BoundedSourceQueue<ByteString> queue; // null unless streaming
        final AtomicReference<ChatCall> call = new AtomicReference<>();
        final AtomicBoolean clientGone = new AtomicBoolean();

        Generation(OpenAiRequest request, BoundedSourceQueue<ByteString> queue) {
            this.request = request;
            this.id = (request.endpoint() == OpenAiRequest.Endpoint.CHAT ? "chatcmpl-" : "cmpl-") + idPrefix
                    + Long.toHexString(ids.incrementAndGet());
            this.queue = queue;
        }

        @Override
        public void onText(String delta) {
            if (firstNanos == 0) {
                firstNanos = System.nanoTime();
            }
            if (queue != null) {
                offer(event(chunk(this, Optional.of(delta), false, Optional.empty())));
            }
        }

        void offer(ByteString bytes) {
            QueueOfferResult r = queue.offer(bytes);
            if (r != QueueOfferResult.enqueued()) {
                gone();
            }
        }

        /** The client will not read the rest: stop generating. */
        void gone() {
            if (clientGone.compareAndSet(false, true)) {
                ChatCall c = call.get();
                if (c != null) {
                    c.cancel();
                }
            }
        }

        String label() {
            return request.endpoint().path();
        }
    }

    private CompletionStage<HttpResponse> start(OpenAiRequest.Endpoint endpoint, OpenAiRequest r, ConnectionScope scope) {
        Source<ByteString, NotUsed> stream = null;
        BoundedSourceQueue<ByteString> queue = null;
        if (r.stream()) {
            // a token releases at most its own text and text held back before it (two pieces), plus the role,
            // the last chunk, the usage and [DONE]; the queue is linked, so its bound costs nothing until used
            int capacity = (int) Math.min(Integer.MAX_VALUE - 8,
                    2L * r.maxTokens().orElse(backend.contextLength()) + 8);
            Pair<BoundedSourceQueue<ByteString>, Source<ByteString, NotUsed>> pre =
                    Source.<ByteString>queue(capacity).preMaterialize(materializer);
            queue = pre.first();
            stream = pre.second();
        }
        Generation g = new Generation(r, queue);
        if (queue != null && endpoint == OpenAiRequest.Endpoint.CHAT) {
            g.offer(event(chunk(g, Optional.of(""), true, Optional.empty())));
        }
        ChatCall call;
        try {
            call = submit(g);
        } catch (RuntimeException e) {
            if (queue != null) {
                queue.complete();
            }
            metrics.failed(g.label());
            return done(error(apiError(e, r)));
        }
        g.call.set(call);
        scope.add(call);
        if (g.clientGone.get()) {
            call.cancel();
        }
        if (queue == null) {
            return call.result().handle((result, failure) -> {
                scope.remove(call);
                if (failure != null) {
                    metrics.failed(g.label());
                    return error(apiError(failure, r));
                }
                metrics.generated(g.label(), result, g.startNanos, g.firstNanos, System.nanoTime());
                if (result.finishReason() == FinishReason.CANCELLED) {
                    return error(ApiError.unavailable("The request was cancelled: the server is stopping or the client"
                            + " went away."));
                }
                return json(200, complete(g, result));
            });
        }
        call.result().whenComplete((result, failure) -> {
            scope.remove(call);
            if (failure != null) {
                metrics.failed(g.label());
                ApiError e = apiError(failure, r);
                g.offer(event(errorBody(e)));
            } else {
                metrics.generated(g.label(), result, g.startNanos, g.firstNanos, System.nanoTime());
                g.offer(event(chunk(g, Optional.empty(), false, Optional.of(result))));
                if (r.includeUsage()) {
                    ObjectNode usage = header(g);
                    usage.putArray("choices");
                    usage.set("usage", usage(result));
                    g.offer(event(usage));
                }
                g.offer(DONE);
            }
            g.queue.complete();
        });
        Source<ByteString, NotUsed> body = stream
                .keepAlive(KEEP_ALIVE, () -> KEEP_ALIVE_COMMENT)
                .watchTermination((notUsed, done) -> {
                    done.whenComplete((d, e) -> {
                        if (!call.result().isDone()) {
                            g.gone();
                        }
                    });
                    return NotUsed.notUsed();
                });
        return done(HttpResponse.create()
                .withEntity(HttpEntities.createChunked(MediaTypes.TEXT_EVENT_STREAM.toContentType(), body))
                .addHeader(RawHeader.create("Cache-Control", "no-cache"))
                .addHeader(RawHeader.create("X-Accel-Buffering", "no")));
    }

    /**
     * Submits; without {@code max_tokens} the request asks for its endpoint's default, and where that
     * does not fit the context left after the prompt, for the context left.
     */
    private ChatCall submit(Generation g) {
        OpenAiRequest r = g.request;
        if (r.maxTokens().isPresent()) {
            return backend.submit(r.toChatRequest(r.maxTokens().getAsInt()), g);
        }
        int wanted = r.endpoint() == OpenAiRequest.Endpoint.CHAT ? backend.contextLength()
                : OpenAiRequest.COMPLETION_DEFAULT_MAX_TOKENS;
        try {
            return backend.submit(r.toChatRequest(wanted), g);
        } catch (ContextOverflowException e) {
            int left = e.contextLength() - e.promptTokens();
            if (left < 1) {
                throw e;
            }
            return backend.submit(r.toChatRequest(Math.min(wanted, left)), g);
        }
    }

    private ApiError apiError(Throwable failure, OpenAiRequest r) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        String input = r.endpoint() == OpenAiRequest.Endpoint.CHAT ? "messages" : "prompt";
        return switch (t) {
            case ApiError.Failure f -> f.error();
            case ContextOverflowException o -> ApiError.contextOverflow(o.contextLength(), o.promptTokens(),
                    o.maxTokens(), r.maxTokens().isPresent() ? "max_tokens" : input);
            case InvalidChatRequestException i -> ApiError.invalid(i.getMessage(), paramOf(i.getMessage()),
                    "invalid_value");
            case ChatTemplateException c -> ApiError.invalid("The model's chat template failed: " + c.getMessage(),
                    input, "chat_template_error");
            case EngineOverloadedException o -> ApiError.overloaded(o.getMessage());
            case IllegalStateException s -> ApiError.unavailable("The server is not taking requests: " + s.getMessage());
            default -> {
                LOG.warn("request {} failed", r.endpoint().path(), t);
                yield ApiError.internal(t.toString());
            }
        };
    }

    /** @return the request field an engine message names first, for {@code param} */
    private static String paramOf(String message) {
        if (message == null) {
            return null;
        }
        String lower = message.toLowerCase(Locale.ROOT);
        for (String p : new String[] {"policy", "budget", "max_tokens", "temperature", "top_p", "stop", "messages", "prompt"}) {
            if (lower.contains(p)) {
                return p.equals("policy") || p.equals("budget") ? "clusterkv." + p : p;
            }
        }
        return null;
    }

    // ---- JSON of the answers

    private ObjectNode header(Generation g) {
        boolean chat = g.request.endpoint() == OpenAiRequest.Endpoint.CHAT;
        ObjectNode o = JSON.createObjectNode();
        o.put("id", g.id).put("object", chat ? (g.queue != null ? "chat.completion.chunk" : "chat.completion")
                : "text_completion").put("created", g.created).put("model", backend.modelId());
        return o;
    }

    /** A streamed chunk: a piece of text (the role too, in a chat's first), or the last one with its finish reason. */
    private ObjectNode chunk(Generation g, Optional<String> text, boolean role, Optional<ChatResult> last) {
        ObjectNode o = header(g);
        ObjectNode choice = o.putArray("choices").addObject().put("index", 0);
        if (g.request.endpoint() == OpenAiRequest.Endpoint.CHAT) {
            ObjectNode delta = choice.putObject("delta");
            if (role) {
                delta.put("role", "assistant");
            }
            text.ifPresent(t -> delta.put("content", t));
        } else {
            choice.put("text", text.orElse(""));
        }
        choice.putNull("logprobs");
        if (last.isPresent()) {
            choice.put("finish_reason", finishReason(last.get().finishReason()));
        } else {
            choice.putNull("finish_reason");
        }
        if (g.request.includeUsage()) {
            o.putNull("usage");
        }
        return o;
    }

    private ObjectNode complete(Generation g, ChatResult result) {
        ObjectNode o = header(g);
        ArrayNode choices = o.putArray("choices");
        ObjectNode choice = choices.addObject().put("index", 0);
        if (g.request.endpoint() == OpenAiRequest.Endpoint.CHAT) {
            choice.putObject("message").put("role", "assistant").put("content", result.text()).putNull("refusal");
        } else {
            choice.put("text", result.text());
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason(result.finishReason()));
        o.set("usage", usage(result));
        return o;
    }

    private static ObjectNode usage(ChatResult r) {
        ObjectNode u = JSON.createObjectNode();
        u.put("prompt_tokens", r.promptTokens()).put("completion_tokens", r.completionTokens())
                .put("total_tokens", r.promptTokens() + r.completionTokens());
        u.putObject("prompt_tokens_details").put("cached_tokens", r.reusedPromptTokens());
        return u;
    }

    private static String finishReason(FinishReason reason) {
        return switch (reason) {
            case STOP -> "stop";
            case LENGTH -> "length";
            case CANCELLED -> "cancelled";
        };
    }

    private static ByteString event(ObjectNode data) {
        return ByteString.fromString("data: " + JSON.writeValueAsString(data) + "\n\n");
    }

    private static ObjectNode errorBody(ApiError e) {
        ObjectNode o = JSON.createObjectNode();
        ObjectNode err = o.putObject("error");
        err.put("message", e.message()).put("type", e.type());
        if (e.param().isPresent()) {
            err.put("param", e.param().get());
        } else {
            err.putNull("param");
        }
        if (e.code().isPresent()) {
            err.put("code", e.code().get());
        } else {
            err.putNull("code");
        }
        return o;
    }

    private static HttpResponse error(ApiError e) {
        HttpResponse r = json(e.status(), errorBody(e));
        if (e.status() == 429 || e.status() == 503) {
            r = r.addHeader(RawHeader.create("Retry-After", "1"));
        }
        if (e.status() == 405) {
            r = r.addHeader(RawHeader.create("Allow", e.message().replaceAll(".*use (\\w+)\\.$", "$1")));
        }
        return r;
    }

    private static HttpResponse json(int status, ObjectNode body) {
        return HttpResponse.create().withStatus(status)
                .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(body)));
    }

    private static CompletionStage<HttpResponse> done(HttpResponse r) {
        return CompletableFuture.completedFuture(r);
    }

    static JsonMapper json() {
        return JSON;
    }
}

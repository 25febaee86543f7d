package io.clusterkv.runtime.chat;

import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.GenerationResult;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.SessionOptions;
import io.clusterkv.runtime.TokenListener;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.tokenizer.StreamingDecoder;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import io.clusterkv.runtime.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs chat requests on a {@link ClusterKvRuntime} for one model: template, tokens, a session (reused when
 * the new prompt extends a cached conversation's tokens, LRU-bounded), sampled tokens, text.
 * Thread-safe; each request decodes in its own session; at most {@code maxConcurrent} at once, further ones
 * wait in a bounded queue, beyond it they are rejected with {@link EngineOverloadedException}.
 *
 * <p><b>Prompts.</b> A chat is rendered by the model's {@link ChatTemplate} and tokenised with special
 * tokens parsed (so {@code <|im_start|>} is its control token, not text); BOS is put first when the model
 * asks for it ({@code tokenizer.ggml.add_bos_token}) and the template did not already write it. A
 * completion ({@link ChatRequest#prompt()}) is tokenised the same way, without a template. A model without
 * a template serves completions only: a chat request fails with {@link ChatTemplateException} (or pass a
 * template to {@link #create(ClusterKvRuntime, LlamaModel, Options, ChatTemplate)}).
 *
 * <p><b>Conversation reuse.</b> When a request ends normally (a stop token, a stop string, or its token
 * limit), its session is kept with the exact tokens its KV history holds: the prompt and every generated
 * token but the last, which was sampled and never fed back. A later request whose prompt tokens start with
 * all of those tokens (same policy and budget) continues that session and prefills only the rest; the
 * reused count is {@link ChatResult#reusedPromptTokens()}. This is llama-server's prompt caching, with one
 * difference: the runtime cannot cut a KV history back, so a conversation whose tokens diverge from a cached
 * one (e.g. a client that edited an answer, or an answer that re-tokenises differently) is prefilled again
 * in a fresh session instead of from the common prefix. Reuse never changes the tokens a request sees, so
 * a greedy answer is the same with or without it. At most {@code maxCachedConversations} idle sessions are
 * kept; the least recently used is closed first. A cancelled or failed request's session is closed.
 *
 * <p><b>Stopping.</b> A generation ends at the model's stop tokens, at the vocabulary's end-of-turn token
 * ({@link Tokenizer#eotId()}, e.g. {@code <|im_end|>}, {@code <|eot_id|>}), at {@code maxTokens}, at a full
 * context, or at the first stop string; the text never holds the stop token or the stop string, and the
 * listener never sees them.
 *
 * <p><b>Threads.</b> Requests start and finish on one engine thread; the listener is called on the
 * session's thread. {@link #submit} renders and tokenises on the caller's thread and never waits for
 * decoding.
 */
public final class ChatEngine implements AutoCloseable {

    private final ClusterKvRuntime runtime;
    private final LlamaModel model;
    private final Options options;
    private final Tokenizer tokenizer;
    private final Optional<ChatTemplate> template;
    private final int[] stopTokens;
    private final ExecutorService dispatcher;
    private final String modelId;

    // guarded by this
    private final ArrayDeque<Call> queue = new ArrayDeque<>();
    private final Set<Call> running = new LinkedHashSet<>();
    private final LinkedHashMap<Long, Conversation> cache = new LinkedHashMap<>(16, 0.75f, true);
    private long nextConversation;
    private long requests;
    private long promptTokens;
    private long reusedPromptTokens;
    private long completionTokens;
    private long rejected;
    private volatile boolean closed;

    private ChatEngine(ClusterKvRuntime runtime, LlamaModel model, Options options, Tokenizer tokenizer,
                       Optional<ChatTemplate> template) {
        this.runtime = runtime;
        this.model = model;
        this.options = options;
        this.tokenizer = tokenizer;
        this.template = template;
        int[] s = Arrays.copyOf(model.stopTokens(), model.stopTokens().length + 2);
        int n = model.stopTokens().length;
        if (tokenizer.eotId().isPresent()) {
            s[n++] = tokenizer.eotId().getAsInt();
        }
        if (tokenizer.eosId().isPresent()) {
            s[n++] = tokenizer.eosId().getAsInt();
        }
        this.stopTokens = Arrays.stream(s, 0, n).distinct().toArray();
        this.modelId = idOf(model);
        this.dispatcher = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "ckv-chat-" + modelId);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * What an engine allows.
     *
     * @param maxConcurrent          requests decoding at once, {@code >= 1}
     * @param maxQueued              requests waiting for a slot, {@code >= 0}
     * @param maxCachedConversations idle sessions kept for reuse, {@code >= 0} (0: no reuse)
     * @param defaultPolicy          the policy of requests that name none, or empty for the runtime's
     * @param defaultBudget          the budget of requests that give none, or empty for the runtime's
     */
    public record Options(int maxConcurrent, int maxQueued, int maxCachedConversations, Optional<String> defaultPolicy,
                          OptionalInt defaultBudget) {

        /**
         * Checks the values.
         *
         * @throws IllegalArgumentException if a bound is out of range, naming it
         */
        public Options {
            if (maxConcurrent < 1) {
                throw new IllegalArgumentException("maxConcurrent must be >= 1, was " + maxConcurrent);
            }
            if (maxQueued < 0) {
                throw new IllegalArgumentException("maxQueued must be >= 0, was " + maxQueued);
            }
            if (maxCachedConversations < 0) {
                throw new IllegalArgumentException("maxCachedConversations must be >= 0, was " + maxCachedConversations);
            }
            Objects.requireNonNull(defaultPolicy, "defaultPolicy");
            Objects.requireNonNull(defaultBudget, "defaultBudget");
            if (defaultBudget.isPresent() && defaultBudget.getAsInt() < 1) {
                throw new IllegalArgumentException("defaultBudget must be >= 1, was " + defaultBudget.getAsInt());
            }
        }

        /** @return 4 at once, 64 queued, 16 cached conversations, the runtime's policy and budget */
        public static Options defaults() {
            return new Options(4, 64, 16, Optional.empty(), OptionalInt.empty());
        }

        /** @param n requests decoding at once @return a copy with it */
        public Options withMaxConcurrent(int n) {
            return new Options(n, maxQueued, maxCachedConversations, defaultPolicy, defaultBudget);
        }

        /** @param n requests waiting for a slot @return a copy with it */
        public Options withMaxQueued(int n) {
            return new Options(maxConcurrent, n, maxCachedConversations, defaultPolicy, defaultBudget);
        }

        /** @param n idle sessions kept for reuse @return a copy with it */
        public Options withMaxCachedConversations(int n) {
            return new Options(maxConcurrent, maxQueued, n, defaultPolicy, defaultBudget);
        }

        /** @param policy the default policy @return a copy with it */
        public Options withDefaultPolicy(String policy) {
            return new Options(maxConcurrent, maxQueued, maxCachedConversations, Optional.of(policy), defaultBudget);
        }

        /** @param budget the default budget @return a copy with it */
        public Options withDefaultBudget(int budget) {
            return new Options(maxConcurrent, maxQueued, maxCachedConversations, defaultPolicy, OptionalInt.of(budget));
        }
    }

    /**
     * A snapshot of an engine's counters.
     *
     * @param requests            requests accepted
     * @param active              requests decoding now
     * @param queued              requests waiting now
     * @param promptTokens        prompt tokens of all requests started
     * @param reusedPromptTokens  of those, tokens not prefilled again (already in a cached conversation's KV)
     * @param completionTokens    tokens generated
     * @param cachedConversations idle sessions kept for reuse now
     * @param rejected            requests refused because the queue was full
     */
    public record Stats(long requests, int active, int queued, long promptTokens, long reusedPromptTokens,
                        long completionTokens, int cachedConversations, long rejected) {
    }

    /**
     * Creates an engine that uses the model's own chat template ({@link ChatTemplate#fromModel}).
     *
     * @param runtime the runtime whose sessions decode the requests (the engine does not close it)
     * @param model   the model (the engine does not close it)
     * @param options limits and defaults
     * @return the engine
     * @throws IllegalArgumentException    if the model has no vocabulary (its GGUF has no {@code tokenizer.ggml.*})
     * @throws InvalidChatRequestException if the default policy is unknown
     * @throws ChatTemplateException       if the model's template is not a string
     */
    public static ChatEngine create(ClusterKvRuntime runtime, LlamaModel model, Options options) {
        Objects.requireNonNull(model, "model");
        return create(runtime, model, options, ChatTemplate.fromModel(model).orElse(null));
    }

    /**
     * Creates an engine with a chat template of the caller's (e.g. for a model that has none).
     *
     * @param runtime  the runtime whose sessions decode the requests (the engine does not close it)
     * @param model    the model (the engine does not close it)
     * @param options  limits and defaults
     * @param template the template, or {@code null} for none (completions only)
     * @return the engine
     * @throws IllegalArgumentException    if the model has no vocabulary
     * @throws InvalidChatRequestException if the default policy is unknown
     */
    public static ChatEngine create(ClusterKvRuntime runtime, LlamaModel model, Options options, ChatTemplate template) {
        Objects.requireNonNull(runtime, "runtime");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(options, "options");
        var gguf = model.gguf().filter(f -> f.metadata().containsKey("tokenizer.ggml.model"));
        if (gguf.isEmpty()) {
            throw new IllegalArgumentException("model " + model.source() + " has no vocabulary (no tokenizer.ggml.* in a "
                    + "GGUF file): chat needs text; use a GGUF model or synthetic:tiny-chat");
        }
        options.defaultPolicy().ifPresent(p -> checkPolicy(runtime, "default policy", p));
        return new ChatEngine(runtime, model, options, Tokenizers.fromGguf(gguf.get()), Optional.ofNullable(template));
    }

    private static void checkPolicy(ClusterKvRuntime runtime, String what, String policy) {
        List<String> known = runtime.policies().names();
        if (!known.contains(policy)) {
            throw new InvalidChatRequestException(what + " '" + policy + "' is unknown; known: " + known);
        }
    }

    private static String idOf(LlamaModel model) {
        String source = String.valueOf(model.source());
        if (source.startsWith("synthetic:")) {
            return source;
        }
        try {
            Path name = Path.of(source).getFileName();
            return name != null ? name.toString() : source;
        } catch (RuntimeException e) {
            return source;
        }
    }

    /** @return the model's id: its file name, or its synthetic name */
    public String modelId() {
        return modelId;
    }

    /** @return the model's context length in tokens */
    public int contextLength() {
        return model.config().contextLength();
    }

    /** @return the model's tokenizer */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** @return the chat template, if the engine has one */
    public Optional<ChatTemplate> template() {
        return template;
    }

    /**
     * The tokens a request's prompt becomes: a chat rendered by the template, or the completion prompt, with
     * special tokens parsed and BOS first where the model asks for it.
     *
     * @param request the request
     * @return the prompt's token ids
     * @throws ChatTemplateException       if it is a chat and there is no template, or rendering failed
     * @throws InvalidChatRequestException if the prompt has no tokens
     */
    public int[] promptTokens(ChatRequest request) {
        Objects.requireNonNull(request, "request");
        String text;
        if (request.prompt().isPresent()) {
            text = request.prompt().get();
        } else {
            ChatTemplate t = template.orElseThrow(() -> new ChatTemplateException("model " + modelId
                    + " has no chat template (tokenizer.chat_template): send a completion prompt instead of messages,"
                    + " or give the engine a template"));
            text = t.render(request.messages(), true);
        }
        int[] ids = tokenizer.encode(text, false, true);
        OptionalInt bos = tokenizer.bosId();
        if (tokenizer.addBosByDefault() && bos.isPresent() && (ids.length == 0 || ids[0] != bos.getAsInt())) {
            int[] withBos = new int[ids.length + 1];
            withBos[0] = bos.getAsInt();
            System.arraycopy(ids, 0, withBos, 1, ids.length);
            ids = withBos;
        }
        if (ids.length == 0) {
            throw new InvalidChatRequestException("the prompt is empty: it gives no tokens");
        }
        return ids;
    }

    /**
     * Renders and tokenises the request, then starts or queues it; never waits for decoding.
     *
     * @param request  the request
     * @param listener receives the text as it is generated
     * @return the call
     * @throws InvalidChatRequestException if the request is invalid for this engine (unknown policy, empty prompt)
     * @throws ChatTemplateException       if it is a chat and the model has no template, or rendering failed
     * @throws ContextOverflowException    if the prompt plus {@code maxTokens} exceed the context
     * @throws EngineOverloadedException   if every slot is busy and the queue is full
     * @throws IllegalStateException       if the engine is closed
     */
    public ChatCall submit(ChatRequest request, ChatListener listener) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(listener, "listener");
        checkOpen();
        request.policy().ifPresent(p -> checkPolicy(runtime, "policy", p));
        int[] prompt = promptTokens(request);
        if ((long) prompt.length + request.maxTokens() > contextLength()) {
            throw new ContextOverflowException(prompt.length, request.maxTokens(), contextLength());
        }
        SessionKey key = new SessionKey(request.policy().or(options::defaultPolicy),
                request.budget().isPresent() ? request.budget() : options.defaultBudget());
        Call call = new Call(request, listener, prompt, key);
        boolean start;
        synchronized (this) {
            checkOpen();
            if (running.size() < options.maxConcurrent()) {
                running.add(call);
                call.state = State.RUNNING;
                start = true;
            } else if (queue.size() < options.maxQueued()) {
                queue.add(call);
                start = false;
            } else {
                rejected++;
                throw new EngineOverloadedException("model " + modelId + ": " + running.size()
                        + " requests decoding (max-concurrent) and " + queue.size() + " queued (max-queued); retry later");
            }
            requests++;
        }
        if (start) {
            dispatcher.execute(() -> start(call));
        }
        return call;
    }

    /** @return a snapshot of the counters */
    public synchronized Stats stats() {
        return new Stats(requests, running.size(), queue.size(), promptTokens, reusedPromptTokens, completionTokens,
                cache.size(), rejected);
    }

    /**
     * Completes every queued and running call exceptionally ({@link IllegalStateException}), closes every
     * session the engine holds, and waits (up to 30 s) for the running ones to stop. Idempotent.
     */
    @Override
    public void close() {
        List<Call> waiting;
        List<Call> active;
        List<Conversation> idle;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            waiting = new ArrayList<>(queue);
            queue.clear();
            active = new ArrayList<>(running);
            idle = new ArrayList<>(cache.values());
            cache.clear();
        }
        IllegalStateException gone = new IllegalStateException("the chat engine of " + modelId + " was closed");
        for (Call c : waiting) {
            c.state = State.DONE;
            c.result.completeExceptionally(gone);
        }
        for (Call c : active) {
            c.stopForClose();
        }
        List<CompletableFuture<?>> stopping = new ArrayList<>();
        for (Conversation c : idle) {
            stopping.add(c.session().closeAsync());
        }
        for (Call c : active) {
            stopping.add(c.result);
        }
        for (CompletableFuture<?> f : stopping) {
            try {
                f.handle((r, e) -> null).get(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (ExecutionException | TimeoutException e) {
                // left to the runtime's close
            }
        }
        dispatcher.shutdown();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the chat engine of " + modelId + " is closed");
        }
    }

    // ---- a request's life: start, decode, finish (on the dispatcher, the listener on the session's thread) ----

    private void start(Call call) {
        if (call.cancelled || call.closing) {
            finish(call, null, 0, null, null);
            return;
        }
        Conversation reused = takeConversation(call);
        Session session;
        try {
            session = reused != null ? reused.session() : runtime.openSession(model, sessionOptions(call.key));
        } catch (RuntimeException e) {
            finish(call, null, 0, null, e);
            return;
        }
        int reusedTokens = reused != null ? reused.tokens().length : 0;
        int[] feed = Arrays.copyOfRange(call.prompt, reusedTokens, call.prompt.length);
        call.begin(session);
        synchronized (this) {
            promptTokens += call.prompt.length;
            reusedPromptTokens += reusedTokens;
        }
        CompletableFuture<GenerationResult> done;
        try {
            done = session.generate(feed, call.request.maxTokens(), sampler(call.request), call);
        } catch (RuntimeException e) {
            done = CompletableFuture.failedFuture(e);
        }
        done.whenCompleteAsync((r, e) -> finish(call, session, reusedTokens, r, e), dispatcher);
        if (call.cancelled || call.closing) {
            call.closeSession();   // a cancel that came while the session was being opened
        }
    }

    private SessionOptions sessionOptions(SessionKey key) {
        SessionOptions.Builder b = SessionOptions.builder();
        key.policy().ifPresent(b::policy);
        key.budget().ifPresent(b::budget);
        return b.build();
    }

    private static Sampler sampler(ChatRequest r) {
        if (r.temperature() == 0) {
            return Sampler.greedy();
        }
        long seed = r.seed().isPresent() ? r.seed().getAsLong() : ThreadLocalRandom.current().nextLong();
        return Sampler.of(r.temperature(), 0, r.topP(), seed);
    }

    /** Takes the cached conversation whose tokens are the longest proper prefix of the call's prompt. */
    private synchronized Conversation takeConversation(Call call) {
        Long best = null;
        int bestLength = 0;
        for (Map.Entry<Long, Conversation> e : cache.entrySet()) {
            Conversation c = e.getValue();
            int n = c.tokens().length;
            if (c.key().equals(call.key) && n > bestLength && n < call.prompt.length
                    && Arrays.equals(c.tokens(), 0, n, call.prompt, 0, n)) {
                best = e.getKey();
                bestLength = n;
            }
        }
        return best == null ? null : cache.remove(best);
    }

    private void finish(Call call, Session session, int reusedTokens, GenerationResult r, Throwable error) {
        Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if ((e == null && r != null) || e instanceof StopSignal) {
            call.flushText();
        }
        FinishReason reason;
        List<Conversation> evicted = List.of();
        Call next;
        synchronized (this) {
            // decided under the lock: a cancel either came first (CANCELLED) or finds the call DONE (no effect)
            if (call.closing) {
                reason = null;
                e = new IllegalStateException("the chat engine of " + modelId + " was closed");
            } else if (call.cancelled) {
                reason = FinishReason.CANCELLED;
            } else if (e instanceof StopSignal) {
                reason = FinishReason.STOP;
            } else if (e != null) {
                reason = null;
            } else {
                reason = switch (r.stop()) {
                    case STOP_TOKEN -> FinishReason.STOP;
                    case MAX_TOKENS, CONTEXT_FULL -> FinishReason.LENGTH;
                };
            }
            boolean keep = reason == FinishReason.STOP || reason == FinishReason.LENGTH;
            completionTokens += call.generated.size();
            running.remove(call);
            if (keep && session != null && !closed && options.maxCachedConversations() > 0) {
                call.cached = true;
                cache.put(nextConversation++, new Conversation(session, call.kvTokens(), call.key));
                evicted = evictBeyond(options.maxCachedConversations());
            }
            next = closed ? null : queue.poll();
            if (next != null) {
                running.add(next);
                next.state = State.RUNNING;
            }
            call.state = State.DONE;
        }
        List<CompletableFuture<Void>> closes = new ArrayList<>();
        evicted.forEach(c -> closes.add(c.session().closeAsync()));
        if (session != null && !call.cached) {
            closes.add(call.closeSession());
        }
        CompletableFuture<?> closing = CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new));
        if (next != null) {
            Call n = next;
            dispatcher.execute(() -> start(n));
        }
        if (reason != null) {
            ChatResult res = new ChatResult(call.text(), reason, call.prompt.length, call.generated.size(), reusedTokens);
            closing.whenComplete((v, x) -> call.result.complete(res));   // closed sessions are freed first
        } else {
            Throwable failure = e;
            closing.whenComplete((v, x) -> call.result.completeExceptionally(failure));
        }
    }

    private List<Conversation> evictBeyond(int max) {
        List<Conversation> out = new ArrayList<>();
        Iterator<Conversation> it = cache.values().iterator();
        while (cache.size() - out.size() > max && it.hasNext()) {
            out.add(it.next());
        }
        for (int i = 0; i < out.size(); i++) {
            cache.values().remove(out.get(i));
        }
        return out;
    }

    /** Thrown by the token listener to end a generation at an end-of-turn token or a stop string. */
    private static final class StopSignal extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StopSignal() {
            super("stop", null, false, false);
        }
    }

    /** Thrown by the token listener once a call is cancelled. */
    private static final class CancelSignal extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CancelSignal() {
            super("cancelled", null, false, false);
        }
    }

    /** The settings a session is opened with; a cached conversation serves only requests with the same. */
    private record SessionKey(Optional<String> policy, OptionalInt budget) {
    }

    /** An idle session and the tokens its KV history holds. */
    private record Conversation(Session session, int[] tokens, SessionKey key) {
    }

    private enum State { QUEUED, RUNNING, DONE }

    /** One request: its future, its text so far, and the token listener its session calls. */
    private final class Call implements ChatCall, TokenListener {
        final ChatRequest request;
        final ChatListener listener;
        final int[] prompt;
        final SessionKey key;
        final CompletableFuture<ChatResult> result = new CompletableFuture<>();
        final List<Integer> generated = new ArrayList<>();   // sampled tokens, written on the session's thread
        private final StreamingDecoder decoder = tokenizer.decoder(false, false);
        private final StopStrings stops;
        volatile State state = State.QUEUED;
        volatile boolean cancelled;
        volatile boolean closing;
        boolean cached;                                     // guarded by the engine
        private volatile Session session;
        private CompletableFuture<Void> sessionClosed;      // guarded by this

        Call(ChatRequest request, ChatListener listener, int[] prompt, SessionKey key) {
            this.request = request;
            this.listener = listener;
            this.prompt = prompt;
            this.key = key;
            this.stops = new StopStrings(request.stop(), listener::onText);
        }

        void begin(Session s) {
            session = s;
        }

        @Override
        public void onToken(int token, int position) {
            if (cancelled || closing) {
                throw new CancelSignal();
            }
            generated.add(token);
            for (int s : stopTokens) {
                if (s == token) {
                    if (Arrays.stream(model.stopTokens()).noneMatch(m -> m == token)) {
                        throw new StopSignal();   // the vocabulary's end of turn, which the session does not know
                    }
                    return;                       // the session stops by itself
                }
            }
            String piece = decoder.next(token);
            if (!piece.isEmpty() && stops.accept(piece)) {
                throw new StopSignal();
            }
        }

        /** After the last token: passes on what the decoder and the stop strings held back. */
        void flushText() {
            if (stops.stopped()) {
                return;
            }
            String rest = decoder.flush();
            if (rest.isEmpty() || !stops.accept(rest)) {
                stops.flush();
            }
        }

        String text() {
            return stops.text();
        }

        /** @return what the session's KV history holds: the prompt and every generated token but the last */
        int[] kvTokens() {
            int fed = Math.max(0, generated.size() - 1);
            int[] out = Arrays.copyOf(prompt, prompt.length + fed);
            for (int i = 0; i < fed; i++) {
                out[prompt.length + i] = generated.get(i);
            }
            return out;
        }

        @Override
        public CompletableFuture<ChatResult> result() {
            return result;
        }

        @Override
        public void cancel() {
            boolean wasQueued;
            synchronized (ChatEngine.this) {
                if (state == State.DONE || cancelled) {
                    return;
                }
                cancelled = true;
                wasQueued = queue.remove(this);
                if (wasQueued) {
                    state = State.DONE;
                }
            }
            if (wasQueued) {
                result.complete(new ChatResult("", FinishReason.CANCELLED, prompt.length, 0, 0));
                return;
            }
            closeSession();
        }

        void stopForClose() {
            closing = true;
            closeSession();
        }

        /** Closes the call's session once; @return completes when it is closed and gone from the runtime */
        synchronized CompletableFuture<Void> closeSession() {
            if (sessionClosed == null && session != null) {
                sessionClosed = session.closeAsync();
            }
            return sessionClosed != null ? sessionClosed : CompletableFuture.completedFuture(null);
        }
    }
}

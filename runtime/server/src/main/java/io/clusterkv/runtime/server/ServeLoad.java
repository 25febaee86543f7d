package io.clusterkv.runtime.server;

import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.chat.ChatEngine;
import io.clusterkv.runtime.model.LlamaModel;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.management.ObjectName;
import tools.jackson.databind.JsonNode;

/**
 * A load test of {@link OpenAiServer} on loopback: {@code clients} concurrent streaming clients, each sending
 * {@code requestsPerClient} chat requests one after another, every response checked for OpenAI's event
 * format (one id, the role first, one finish reason, the usage, {@code [DONE]} last); every
 * {@code cancelEvery}-th request is abandoned after its first text (the client closes the stream). Before and
 * after the load, once the engine is idle, the resources that must come back are measured: open sessions
 * (beyond the conversations the engine caches), the device tier's resident bytes, native memory ("Other" in
 * Native Memory Tracking, where the JVM runs with {@code -XX:NativeMemoryTracking=summary}: the KV stores'
 * off-heap arenas) and live threads. Run by {@code ckv bench serve} (figures in docs/BENCHMARKS.md) and,
 * smaller, by the tests.
 */
public final class ServeLoad {

    private ServeLoad() {
    }

    /**
     * The load.
     *
     * @param clients           concurrent clients
     * @param requestsPerClient requests each sends, one after another
     * @param maxTokens         {@code max_tokens} of each request
     * @param cancelEvery       every n-th request (over all clients) is abandoned after its first text; 0: none
     * @param requestTimeout    the most one request may take
     */
    public record Options(int clients, int requestsPerClient, int maxTokens, int cancelEvery, Duration requestTimeout) {

        /**
         * Checks the values.
         *
         * @throws IllegalArgumentException naming the value out of range
         */
        public Options {
            if (clients < 1 || requestsPerClient < 1 || maxTokens < 1 || cancelEvery < 0) {
                throw new IllegalArgumentException("clients, requests per client and max tokens must be >= 1 and cancelEvery"
                        + " >= 0; got " + clients + ", " + requestsPerClient + ", " + maxTokens + ", " + cancelEvery);
            }
        }
    }

    /**
     * What the clients saw.
     *
     * @param requests          requests sent
     * @param completed         complete, well-formed streams
     * @param cancelled         streams the clients abandoned on purpose
     * @param problems          what was wrong with the others (empty when all were right)
     * @param seconds           wall time of the load
     * @param completionTokens  tokens the completed streams reported in their usage
     * @param ttftMillis        time to first text of each completed request, sorted
     */
    public record Report(int requests, int completed, int cancelled, List<String> problems, double seconds,
                         long completionTokens, List<Double> ttftMillis) {

        /** @return completed and cancelled requests per second of wall time */
        public double requestsPerSecond() {
            return (completed + cancelled) / seconds;
        }

        /** @return completion tokens of the completed requests per second of wall time */
        public double tokensPerSecond() {
            return completionTokens / seconds;
        }

        /** @param q a quantile in [0, 1] @return the time to first text at that quantile (nearest rank), ms */
        public double ttftQuantile(double q) {
            if (ttftMillis.isEmpty()) {
                return Double.NaN;
            }
            int rank = (int) Math.ceil(q * ttftMillis.size());
            return ttftMillis.get(Math.max(0, Math.min(ttftMillis.size() - 1, rank - 1)));
        }

        /** @return one line of figures */
        public String summary() {
            return String.format(Locale.ROOT, "%d requests: %d complete, %d cancelled, %d wrong; %.2f s; %.1f requests/s;"
                            + " %.0f tokens/s; time to first token p50 %.1f ms, p99 %.1f ms", requests, completed, cancelled,
                    problems.size(), seconds, requestsPerSecond(), tokensPerSecond(), ttftQuantile(0.5), ttftQuantile(0.99));
        }
    }

    /**
     * Resources that go back to their idle values when no request runs.
     *
     * @param sessions       sessions open in the runtime
     * @param cached         of those, conversations the engine keeps for reuse
     * @param active         requests decoding
     * @param queued         requests waiting
     * @param residentBytes  bytes held in the device tier
     * @param nativeOther    native memory of NMT's "Other" category (FFM arenas and direct buffers), or -1 without NMT
     * @param directBuffers  bytes of direct NIO buffers (Pekko's I/O pools them: a pool that grew is not a leak)
     * @param threads        live threads of the JVM
     * @param pools          live threads by name, less its number (e.g. {@code clusterkv-compute}), sorted
     */
    public record Resources(int sessions, int cached, int active, int queued, long residentBytes, long nativeOther,
                            long directBuffers, int threads, java.util.SortedMap<String, Integer> pools) {

        /**
         * @param runtime the runtime
         * @param engine  the engine
         * @return the values now
         */
        public static Resources of(ClusterKvRuntime runtime, ChatEngine engine) {
            ChatEngine.Stats s = engine.stats();
            return new Resources(runtime.sessions().size(), s.cachedConversations(), s.active(), s.queued(),
                    runtime.residency().stats().residentBytes(), nativeOtherBytes(), directBufferBytes(),
                    ManagementFactory.getThreadMXBean().getThreadCount(), threadPools());
        }

        private static java.util.SortedMap<String, Integer> threadPools() {
            java.util.SortedMap<String, Integer> pools = new java.util.TreeMap<>();
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                pools.merge(t.getName().replaceAll("[-#]?\\d+$", ""), 1, Integer::sum);
            }
            return pools;
        }

        /**
         * @param earlier resources measured before
         * @return the thread pools that have more threads now than then, with both counts
         */
        public String threadsGrownSince(Resources earlier) {
            StringBuilder b = new StringBuilder();
            pools.forEach((name, n) -> {
                int was = earlier.pools().getOrDefault(name, 0);
                if (n > was) {
                    b.append(b.isEmpty() ? "" : ", ").append(name).append(' ').append(was).append(" -> ").append(n);
                }
            });
            return b.isEmpty() ? "none" : b.toString();
        }

        /**
         * @return off-heap bytes outside direct buffers: the KV stores' and the device tier's FFM arenas (and any
         *         other native allocation of the JVM's "Other" category), or -1 without Native Memory Tracking
         */
        public long arenaBytes() {
            return nativeOther < 0 ? -1 : nativeOther - directBuffers;
        }

        /** @return sessions open beyond the cached conversations: requests' sessions not yet closed */
        public int uncachedSessions() {
            return sessions - cached;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "sessions %d (%d cached), active %d, queued %d, device tier %d B, off-heap"
                    + " arenas %s, direct buffers %d B, threads %d", sessions, cached, active, queued, residentBytes,
                    nativeOther < 0 ? "n/a (run with -XX:NativeMemoryTracking=summary)" : arenaBytes() + " B", directBuffers,
                    threads);
        }
    }

    /**
     * Waits until no request decodes or waits, and every session open is a cached conversation.
     *
     * @param runtime the runtime
     * @param engine  the engine
     * @param timeout the most to wait
     * @return the resources then (or at the timeout)
     * @throws InterruptedException if interrupted
     */
    public static Resources awaitIdle(ClusterKvRuntime runtime, ChatEngine engine, Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        Resources r = Resources.of(runtime, engine);
        while ((r.active() > 0 || r.queued() > 0 || r.uncachedSessions() > 0) && System.nanoTime() < end) {
            Thread.sleep(20);
            r = Resources.of(runtime, engine);
        }
        return r;
    }

    /**
     * Runs the load against a server.
     *
     * @param baseUri the server's base URL ({@link OpenAiServer#baseUri()})
     * @param model   the model to name
     * @param apiKey  the key, if the server needs one
     * @param options the load
     * @return what the clients saw
     * @throws InterruptedException if interrupted
     */
    public static Report run(URI baseUri, String model, Optional<String> apiKey, Options options) throws InterruptedException {
        URI url = baseUri.resolve("chat/completions");
        List<Double> ttft = Collections.synchronizedList(new ArrayList<>());
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        long[] counts = new long[3]; // completed, cancelled, completion tokens
        long start = System.nanoTime();
        try (ExecutorService clients = Executors.newFixedThreadPool(options.clients())) {
            List<Future<?>> running = new ArrayList<>();
            for (int c = 0; c < options.clients(); c++) {
                int client = c;
                running.add(clients.submit(() -> {
                    try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                            .connectTimeout(Duration.ofSeconds(10)).build()) {
                        for (int i = 0; i < options.requestsPerClient(); i++) {
                            int n = client * options.requestsPerClient() + i;
                            boolean cancel = options.cancelEvery() > 0 && n % options.cancelEvery() == options.cancelEvery() - 1;
                            Outcome o = request(http, url, model, apiKey, options, n, cancel);
                            synchronized (counts) {
                                switch (o) {
                                    case Outcome.Complete done -> {
                                        counts[0]++;
                                        counts[2] += done.completionTokens();
                                        ttft.add(done.ttftMillis());
                                    }
                                    case Outcome.Cancelled x -> counts[1]++;
                                    case Outcome.Wrong wrong -> problems.add("request " + n + ": " + wrong.problem());
                                }
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : running) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    problems.add("client failed: " + e.getCause());
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        List<Double> sorted = new ArrayList<>(ttft);
        Collections.sort(sorted);
        return new Report(options.clients() * options.requestsPerClient(), (int) counts[0], (int) counts[1],
                List.copyOf(problems), seconds, counts[2], List.copyOf(sorted));
    }

    private sealed interface Outcome {
        record Complete(long completionTokens, double ttftMillis) implements Outcome {
        }

        record Cancelled() implements Outcome {
        }

        record Wrong(String problem) implements Outcome {
        }
    }

    private static final String[] TOPICS = {"the sea", "a red fox", "winter", "old maps", "trains", "bees", "the moon",
            "a lighthouse", "bread", "a violin", "deserts", "clocks", "rain", "owls", "bridges", "paper boats"};

    private static Outcome request(HttpClient http, URI url, String model, Optional<String> apiKey, Options options, int n,
                                   boolean cancel) {
        String prompt = "Request " + n + ": tell me about " + TOPICS[n % TOPICS.length] + (n % 3 == 0 ? ", briefly." : ".");
        String body = "{\"model\": " + OpenAiServer.json().writeValueAsString(model) + ", \"messages\": [{\"role\": \"user\","
                + " \"content\": " + OpenAiServer.json().writeValueAsString(prompt) + "}], \"max_tokens\": " + options.maxTokens()
                + ", \"temperature\": 0.7, \"seed\": " + n + ", \"stream\": true, \"stream_options\": {\"include_usage\": true}}";
        HttpRequest.Builder b = HttpRequest.newBuilder(url).timeout(options.requestTimeout())
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        apiKey.ifPresent(k -> b.header("Authorization", "Bearer " + k));
        long sent = System.nanoTime();
        HttpResponse<Stream<String>> response;
        try {
            response = http.send(b.build(), HttpResponse.BodyHandlers.ofLines());
        } catch (IOException e) {
            return new Outcome.Wrong("I/O error " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome.Wrong("interrupted");
        }
        try (Stream<String> lines = response.body()) {
            if (response.statusCode() != 200) {
                return new Outcome.Wrong("status " + response.statusCode() + ": " + String.join("\n", lines.toList()));
            }
            if (!response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")) {
                return new Outcome.Wrong("content type " + response.headers().firstValue("Content-Type"));
            }
            return read(lines.iterator(), sent, options, cancel);
        } catch (RuntimeException e) {
            return new Outcome.Wrong("reading the stream: " + e);
        }
    }

    /** Checks one event stream as OpenAI's clients read it. */
    private static Outcome read(Iterator<String> lines, long sent, Options options, boolean cancel) {
        String id = null;
        int chunks = 0;
        int finishes = 0;
        double ttft = -1;
        JsonNode usage = null;
        boolean done = false;
        while (lines.hasNext()) {
            String line = lines.next();
            if (line.isEmpty() || line.startsWith(":")) {
                continue; // event separator, keep-alive comment
            }
            if (!line.startsWith("data: ")) {
                return new Outcome.Wrong("not a data line: " + line);
            }
            if (done) {
                return new Outcome.Wrong("data after [DONE]: " + line);
            }
            String data = line.substring(6);
            if (data.equals("[DONE]")) {
                done = true;
                continue;
            }
            JsonNode chunk;
            try {
                chunk = OpenAiServer.json().readTree(data);
            } catch (RuntimeException e) {
                return new Outcome.Wrong("not JSON: " + data);
            }
            if (chunk.has("error")) {
                return new Outcome.Wrong("error event: " + data);
            }
            if (!chunk.path("object").asString("").equals("chat.completion.chunk")) {
                return new Outcome.Wrong("object is not chat.completion.chunk: " + data);
            }
            if (id == null) {
                id = chunk.path("id").asString("");
            } else if (!id.equals(chunk.path("id").asString(""))) {
                return new Outcome.Wrong("the id changed: " + data);
            }
            if (chunks == 0 && !chunk.path("choices").path(0).path("delta").path("role").asString("").equals("assistant")) {
                return new Outcome.Wrong("the first chunk has no assistant role: " + data);
            }
            chunks++;
            JsonNode choice = chunk.path("choices").path(0);
            if (!chunk.path("usage").isMissingNode() && !chunk.path("usage").isNull()) {
                usage = chunk.path("usage");
                continue;
            }
            if (ttft < 0 && (!choice.path("delta").path("content").asString("").isEmpty()
                    || !choice.path("finish_reason").isNull())) {
                ttft = (System.nanoTime() - sent) / 1e6;
                if (cancel) {
                    return new Outcome.Cancelled(); // closing the stream closes the connection
                }
            }
            if (!choice.path("finish_reason").isNull() && !choice.path("finish_reason").isMissingNode()) {
                finishes++;
                String reason = choice.path("finish_reason").asString("");
                if (!reason.equals("stop") && !reason.equals("length")) {
                    return new Outcome.Wrong("finish_reason " + reason);
                }
            }
        }
        if (!done) {
            return new Outcome.Wrong("no [DONE] after " + chunks + " chunks");
        }
        if (finishes != 1) {
            return new Outcome.Wrong(finishes + " chunks with a finish_reason");
        }
        if (usage == null) {
            return new Outcome.Wrong("no usage chunk");
        }
        long completion = usage.path("completion_tokens").asLong(-1);
        long prompt = usage.path("prompt_tokens").asLong(-1);
        if (completion < 0 || completion > options.maxTokens() || prompt < 1
                || usage.path("total_tokens").asLong(-1) != prompt + completion) {
            return new Outcome.Wrong("usage " + usage);
        }
        return new Outcome.Complete(completion, ttft);
    }

    /**
     * A whole run as {@code ckv bench serve} does it: a runtime, an engine and a server on a free loopback port;
     * one request per client to warm up; the idle resources; the load; the idle resources again.
     *
     * @param model         the model ({@code synthetic:tiny-chat}, or a GGUF file with a chat template)
     * @param engineOptions the engine's limits
     * @param options       the load
     * @param log           where progress lines go
     * @return the report and the resources before and after
     * @throws IOException          if the model cannot be read
     * @throws InterruptedException if interrupted
     */
    public static BenchResult bench(String model, ChatEngine.Options engineOptions, Options options,
                                    java.util.function.Consumer<String> log) throws IOException, InterruptedException {
        try (ClusterKvRuntime runtime = ClusterKvRuntime.create()) {
            LlamaModel m = runtime.loadModel(model);
            try (ChatEngine engine = ChatEngine.create(runtime, m, engineOptions);
                 OpenAiServer server = OpenAiServer.start(runtime, engine, ServerOptions.defaults().withPort(0))) {
                log.accept("serving " + engine.modelId() + " at " + server.baseUri() + "; warming up");
                Report warm = run(server.baseUri(), engine.modelId(), Optional.empty(),
                        new Options(options.clients(), 1, options.maxTokens(), 0, options.requestTimeout()));
                Resources before = awaitIdle(runtime, engine, Duration.ofSeconds(30));
                log.accept("warm-up: " + warm.summary());
                log.accept("idle before: " + before);
                Report report = run(server.baseUri(), engine.modelId(), Optional.empty(), options);
                Resources after = awaitIdle(runtime, engine, Duration.ofSeconds(30));
                log.accept("load: " + report.summary());
                log.accept("idle after: " + after + "; thread pools grown: " + after.threadsGrownSince(before));
                return new BenchResult(report, before, after);
            }
        }
    }

    /**
     * A bench run's figures.
     *
     * @param report what the clients saw
     * @param before the idle resources before the load (after the warm-up)
     * @param after  the idle resources after it
     */
    public record BenchResult(Report report, Resources before, Resources after) {
    }

    private static long directBufferBytes() {
        return ManagementFactory.getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class).stream()
                .filter(p -> p.getName().equals("direct")).mapToLong(java.lang.management.BufferPoolMXBean::getMemoryUsed)
                .sum();
    }

    private static long nativeOtherBytes() {
        try {
            String summary = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[] {new String[] {"summary", "scale=B"}}, new String[] {String[].class.getName()});
            for (String line : summary.split("\n")) {
                int at = line.indexOf("Other (reserved=");
                if (at >= 0) {
                    int from = at + "Other (reserved=".length();
                    int to = line.indexOf(',', from);
                    return Long.parseLong(line.substring(from, to).trim());
                }
            }
            return -1;
        } catch (Exception e) {
            return -1;
        }
    }
}

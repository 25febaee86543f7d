package io.clusterkv.runtime.server;

import io.clusterkv.runtime.chat.ChatEngine;
import io.clusterkv.runtime.chat.ChatResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The server's meters, in a Prometheus registry of its own (scraped at {@code GET /metrics}). Counters
 * of the engine and the runtime are read when scraped (function counters and gauges), so they cost the
 * hot path nothing; the per-request meters are updated once a request ends. Names, as Prometheus shows them:
 * <ul>
 * <li>{@code ckv_http_requests_total{endpoint,status}}: requests answered (a stream counts when it starts)</li>
 * <li>{@code ckv_completions_total{endpoint,finish_reason}}: generations ended (stop, length, cancelled, error)</li>
 * <li>{@code ckv_tokens_prompt_total}, {@code ckv_tokens_prompt_reused_total}, {@code ckv_tokens_completion_total}:
 *     the engine's token counters; tokens/s is {@code rate(ckv_tokens_completion_total[1m])}</li>
 * <li>{@code ckv_completion_tokens_per_second}: per request, completion tokens over the time from the first
 *     text to the end</li>
 * <li>{@code ckv_time_to_first_token_seconds}: per request, from the body parsed to the first text</li>
 * <li>{@code ckv_requests_active}, {@code ckv_requests_queued} (the queue length), {@code ckv_requests_rejected_total},
 *     {@code ckv_conversations_cached}, {@code ckv_sessions_open}</li>
 * <li>{@code ckv_residency_hit_rate}, {@code ckv_residency_hits_total}, {@code ckv_residency_misses_total},
 *     {@code ckv_residency_resident_bytes}: the runtime's device tier</li>
 * </ul>
 */
final class ServerMetrics {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Timer firstToken;
    private final DistributionSummary tokensPerSecond;

    ServerMetrics(ChatBackend backend) {
        stat(backend, "ckv.tokens.prompt", "prompt tokens of all requests", s -> s.promptTokens());
        stat(backend, "ckv.tokens.prompt.reused", "prompt tokens not prefilled again (a cached conversation's KV)",
                s -> s.reusedPromptTokens());
        stat(backend, "ckv.tokens.completion", "tokens generated", s -> s.completionTokens());
        stat(backend, "ckv.requests.rejected", "requests refused because the queue was full", s -> s.rejected());
        gauge(backend, "ckv.requests.active", "requests decoding now", b -> b.stats().active());
        gauge(backend, "ckv.requests.queued", "requests waiting for a decoding slot (the queue length)",
                b -> b.stats().queued());
        gauge(backend, "ckv.conversations.cached", "idle sessions kept for reuse", b -> b.stats().cachedConversations());
        gauge(backend, "ckv.sessions.open", "sessions open in the runtime", ChatBackend::openSessions);
        gauge(backend, "ckv.residency.hit.rate", "device-tier hits over requests since the runtime started",
                b -> b.residency().hitRate());
        gauge(backend, "ckv.residency.resident.bytes", "bytes held in the device tier", b -> b.residency().residentBytes());
        FunctionCounter.builder("ckv.residency.hits", backend, b -> b.residency().hits())
                .description("device-tier requests served from resident rows").register(registry);
        FunctionCounter.builder("ckv.residency.misses", backend, b -> b.residency().misses())
                .description("device-tier requests that copied rows").register(registry);
        firstToken = Timer.builder("ckv.time.to.first.token").description("from the request parsed to its first text")
                .publishPercentiles(0.5, 0.99).register(registry);
        tokensPerSecond = DistributionSummary.builder("ckv.completion.tokens.per.second")
                .description("a request's completion tokens over the time from its first text to its end")
                .register(registry);
    }

    private void stat(ChatBackend backend, String name, String description, ToDoubleFunction<ChatEngine.Stats> f) {
        FunctionCounter.builder(name, backend, b -> f.applyAsDouble(b.stats())).description(description).register(registry);
    }

    private void gauge(ChatBackend backend, String name, String description, ToDoubleFunction<ChatBackend> f) {
        Gauge.builder(name, backend, f).description(description).register(registry);
    }

    void answered(String endpoint, int status) {
        Counter.builder("ckv.http.requests").description("requests answered, by endpoint and status")
                .tag("endpoint", endpoint).tag("status", Integer.toString(status)).register(registry).increment();
    }

    /**
     * @param endpoint     the endpoint
     * @param result       the result
     * @param startNanos   when the request was parsed
     * @param firstNanos   when its first text came, or 0 if none did
     * @param endNanos     when it ended
     */
    void generated(String endpoint, ChatResult result, long startNanos, long firstNanos, long endNanos) {
        finished(endpoint, result.finishReason().name().toLowerCase(Locale.ROOT));
        if (firstNanos != 0) {
            firstToken.record(Duration.ofNanos(firstNanos - startNanos));
            if (endNanos > firstNanos && result.completionTokens() > 1) {
                tokensPerSecond.record(result.completionTokens() / ((endNanos - firstNanos) / 1e9));
            }
        }
    }

    void failed(String endpoint) {
        finished(endpoint, "error");
    }

    private void finished(String endpoint, String reason) {
        Counter.builder("ckv.completions").description("generations ended, by endpoint and finish reason")
                .tag("endpoint", endpoint).tag("finish_reason", reason).register(registry).increment();
    }

    /** @return the Prometheus text exposition */
    String scrape() {
        return registry.scrape();
    }

    PrometheusMeterRegistry registry() {
        return registry;
    }

    void close() {
        registry.close();
    }
}

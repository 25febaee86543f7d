package io.clusterkv.runtime.server;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Where and how {@link OpenAiServer} listens. The engine's own limits (requests decoding at once, the queue
 * beyond them) are {@link io.clusterkv.runtime.chat.ChatEngine.Options}.
 *
 * @param host            the interface to bind, e.g. {@code 127.0.0.1} (loopback only) or {@code 0.0.0.0}
 * @param port            the TCP port, or 0 for any free one ({@link OpenAiServer#address()} tells which)
 * @param apiKey          if present, every {@code /v1/} request needs {@code Authorization: Bearer <apiKey>};
 *                        {@code /health} and {@code /metrics} stay open
 * @param maxRequestBytes the largest request body accepted; a larger one gets 413
 * @param idleTimeout     a connection with no bytes either way for this long is closed (a streaming response
 *                        sends a keep-alive comment every 15 s, so only idle keep-alive connections and
 *                        non-streaming requests waiting longer are affected)
 */
public record ServerOptions(String host, int port, Optional<String> apiKey, int maxRequestBytes, Duration idleTimeout) {

    /**
     * Checks the values.
     *
     * @throws IllegalArgumentException naming the value out of range
     */
    public ServerOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(apiKey, "apiKey");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        if (host.isBlank()) {
            throw new IllegalArgumentException("host is blank");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in [0, 65535], was " + port);
        }
        if (apiKey.isPresent() && apiKey.get().isBlank()) {
            throw new IllegalArgumentException("apiKey is blank: give a key or none");
        }
        if (maxRequestBytes < 1) {
            throw new IllegalArgumentException("maxRequestBytes must be >= 1, was " + maxRequestBytes);
        }
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("idleTimeout must be positive, was " + idleTimeout);
        }
    }

    /** @return loopback, port 8080, no key, bodies up to 8 MiB, 5 minutes idle */
    public static ServerOptions defaults() {
        return new ServerOptions("127.0.0.1", 8080, Optional.empty(), 8 << 20, Duration.ofMinutes(5));
    }

    /** @param host the interface @return a copy with it */
    public ServerOptions withHost(String host) {
        return new ServerOptions(host, port, apiKey, maxRequestBytes, idleTimeout);
    }

    /** @param port the port, 0 for any free one @return a copy with it */
    public ServerOptions withPort(int port) {
        return new ServerOptions(host, port, apiKey, maxRequestBytes, idleTimeout);
    }

    /** @param apiKey the bearer token every /v1/ request must carry @return a copy with it */
    public ServerOptions withApiKey(String apiKey) {
        return new ServerOptions(host, port, Optional.of(apiKey), maxRequestBytes, idleTimeout);
    }

    /** @param maxRequestBytes the largest body accepted @return a copy with it */
    public ServerOptions withMaxRequestBytes(int maxRequestBytes) {
        return new ServerOptions(host, port, apiKey, maxRequestBytes, idleTimeout);
    }
}

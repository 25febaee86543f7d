package io.clusterkv.examples.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.ConfigValueException;
import io.clusterkv.runtime.chat.ChatEngine;
import io.clusterkv.runtime.chat.InvalidChatRequestException;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.policy.UnknownPolicyException;
import io.clusterkv.runtime.server.OpenAiServer;
import io.clusterkv.runtime.server.ServerOptions;
import io.clusterkv.spi.PolicyConfigException;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ckv serve}: an OpenAI-compatible HTTP server for one model ({@link OpenAiServer} over a
 * {@link ChatEngine}) until interrupted (Ctrl-C, SIGTERM), then closes the server, the engine and the runtime.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a model over OpenAI's HTTP API: POST /v1/chat/completions and /v1/completions (streaming",
                "or not), GET /v1/models, /health and /metrics (Prometheus). Each request decodes in its own session",
                "with --policy and --budget, or the request's \"clusterkv\": {\"policy\": ..., \"budget\": ...}.",
                "At most --max-concurrent requests decode at once, --max-queued wait; beyond that 429."},
        footer = {"", "Examples:", "  ckv serve --model synthetic:tiny-chat --port 8080",
                "  ckv serve --model qwen2.5-0.5b-instruct-q8_0.gguf --policy quest --budget 512 --api-key sk-local",
                "  curl -s localhost:8080/v1/chat/completions -H 'Content-Type: application/json' \\",
                "    -d '{\"model\": \"synthetic:tiny-chat\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 16}'"})
final class ServeCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "A GGUF file with a chat template (tokenizer.chat_template), or synthetic:tiny-chat.")
    String model;

    @Option(names = "--host", paramLabel = "HOST", description = "Interface to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for all).")
    String host = "127.0.0.1";

    @Option(names = "--port", paramLabel = "PORT", description = "TCP port, 0 for any free one (default: ${DEFAULT-VALUE}).")
    int port = 8080;

    @Option(names = "--policy", paramLabel = "NAME", description = "Default recall policy of requests (default: clusterkv.runtime.policy).")
    String policy;

    @Option(names = "--budget", paramLabel = "N", description = "Default budget of requests (default: clusterkv.runtime.budget).")
    Integer budget;

    @Option(names = "--max-concurrent", paramLabel = "N", description = "Requests decoding at once (default: ${DEFAULT-VALUE}).")
    int maxConcurrent = ChatEngine.Options.defaults().maxConcurrent();

    @Option(names = "--max-queued", paramLabel = "N", description = "Requests waiting beyond those; more get 429 (default: ${DEFAULT-VALUE}).")
    int maxQueued = ChatEngine.Options.defaults().maxQueued();

    @Option(names = "--cached-conversations", paramLabel = "N",
            description = "Idle sessions kept so that a conversation's next turn reuses its KV (default: ${DEFAULT-VALUE}).")
    int cachedConversations = ChatEngine.Options.defaults().maxCachedConversations();

    @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:CKV_API_KEY}",
            description = "Require 'Authorization: Bearer KEY' on /v1/ (default: $CKV_API_KEY, else none).")
    String apiKey;

    @Option(names = "--max-request-bytes", paramLabel = "N", description = "Largest request body (default: ${DEFAULT-VALUE}).")
    int maxRequestBytes = ServerOptions.defaults().maxRequestBytes();

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Any clusterkv.* configuration value of the runtime; repeatable.")
    Map<String, String> settings = new LinkedHashMap<>();

    @CommandLine.Mixin
    PluginOptions plugins = new PluginOptions();

    /** Counted down when the server should stop; the JVM's shutdown hook and {@link #stop()} do. */
    private final CountDownLatch stop = new CountDownLatch(1);
    /** Counted down once the server, engine and runtime are closed: the shutdown hook waits for it. */
    private final CountDownLatch closed = new CountDownLatch(1);

    /** Stops a running {@code serve} (as Ctrl-C does); for embedding and tests. */
    void stop() {
        stop.countDown();
    }

    @Override
    public Integer call() throws Exception {
        if (budget != null && budget < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--budget must be >= 1, got " + budget);
        }
        ChatEngine.Options engineOptions;
        ServerOptions serverOptions;
        try {
            engineOptions = new ChatEngine.Options(maxConcurrent, maxQueued, cachedConversations, Optional.ofNullable(policy),
                    budget == null ? OptionalInt.empty() : OptionalInt.of(budget));
            serverOptions = new ServerOptions(host, port, Optional.ofNullable(apiKey).filter(k -> !k.isBlank()),
                    maxRequestBytes, ServerOptions.defaults().idleTimeout());
        } catch (IllegalArgumentException e) { // name the options, not the parameters
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage()
                    .replace("maxConcurrent", "--max-concurrent").replace("maxQueued", "--max-queued")
                    .replace("maxCachedConversations", "--cached-conversations").replace("maxRequestBytes", "--max-request-bytes")
                    .replace("port", "--port").replace("host", "--host"));
        }
        PrintWriter out = spec.commandLine().getOut();
        Config config;
        try {
            config = ConfigFactory.parseMap(settings, "--set").withFallback(ConfigFactory.load());
        } catch (RuntimeException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--set: " + e.getMessage());
        }
        ClusterKvRuntime built;
        try {
            built = ClusterKvRuntime.builder().config(config)
                    .policies(plugins.registry(spec.commandLine())).build();
        } catch (ConfigValueException | PolicyConfigException | UnknownPolicyException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Thread hook = new Thread(() -> {
            stop.countDown();
            try { // the JVM halts when its hooks end: let the main thread close the server and the sessions first
                closed.await(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "ckv-serve-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (ClusterKvRuntime runtime = built) {
            LlamaModel m = runtime.loadModel(model);
            ChatEngine created;
            try {
                created = ChatEngine.create(runtime, m, engineOptions);
            } catch (InvalidChatRequestException e) { // an unknown --policy, a bad --budget
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            try (ChatEngine engine = created; OpenAiServer server = OpenAiServer.start(runtime, engine, serverOptions)) {
                out.printf("ckv serve: %s (context %d) at %s%s; Ctrl-C stops%n", engine.modelId(), engine.contextLength(),
                        server.baseUri(), serverOptions.apiKey().isPresent() ? " (API key required)" : "");
                out.flush();
                stop.await();
                out.println("ckv serve: stopping");
                out.flush();
            }
        } finally {
            closed.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook has run
            }
        }
        return 0;
    }
}

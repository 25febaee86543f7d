package io.clusterkv.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.residency.ResidencyCache;
import io.clusterkv.runtime.tensor.ComputePool;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The ClusterKV runtime: decodes Llama-family models with a bounded KV working set, one
 * {@link Session} per conversation, one shard actor per (session, layer, kvHead).
 *
 * <pre>{@code
 * try (ClusterKvRuntime runtime = ClusterKvRuntime.create()) {
 *     LlamaModel model = runtime.loadModel("synthetic:tiny");
 *     try (Session session = runtime.openSession(model, SessionOptions.builder().policy("quest").budget(256).build())) {
 *         GenerationResult r = session.generate(prompt, 32, Sampler.greedy(), (token, pos) -> print(token)).join();
 *     }
 * }
 * }</pre>
 *
 * <p>Configuration: the {@code clusterkv} section of a Typesafe {@link Config}: by default
 * {@code ConfigFactory.load()} (application.conf, system properties, the runtime's reference.conf), or
 * the one given to the {@link Builder}. A policy's section {@code clusterkv.policy.<name>} holds
 * overrides only: its defaults are the {@link io.clusterkv.spi.ConfigKey}s its provider declares. It is
 * validated when the runtime starts ({@link RuntimeSettings}) and again, with a session's overrides and
 * its policy's section, when a session opens; an error names the key, the value and what was expected.
 *
 * <p>Threads: an actor system (the runtime's own, or one the application supplies, whose config must
 * include the runtime's reference.conf), a ForkJoinPool of {@code compute-threads} for matrix products
 * (never the common pool), and the dispatchers {@code clusterkv.shard-dispatcher} (session and shard
 * actors alike: a session's tells to its shards and their replies are queued on the same pool's
 * workers, not handed to another pool's sleeping threads) and {@code clusterkv.maintenance-dispatcher}.
 *
 * <p>Closing closes every open session, the models this runtime loaded, its pool, and its actor system
 * if it made it; an application's actor system is left running.
 */
public final class ClusterKvRuntime implements AutoCloseable {

    private static final AtomicInteger RUNTIMES = new AtomicInteger();

    private final Config config;
    private final RuntimeSettings settings;
    private final PolicyRegistry policies;
    private final ActorSystem<?> system;
    private final boolean ownSystem;
    private final ForkJoinPool pool;
    private final ResidencyCache residency;
    private final SessionWiring wiring;
    private final ResourceGauges gauges = new ResourceGauges();
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final List<LlamaModel> models = new CopyOnWriteArrayList<>();
    private final AtomicLong sessionIds = new AtomicLong();
    private volatile boolean closed;

    private ClusterKvRuntime(Config config, ActorSystem<?> supplied, PolicyRegistry policies) {
        this.config = config;
        this.settings = RuntimeSettings.from(config);
        this.policies = policies;
        // an unknown default policy fails here, listing the known ones, and so does a bad key of its section
        new ConfigReader(config).policySection(policies.provider(settings.policy()));
        if (supplied != null && !supplied.settings().config().hasPath("clusterkv.shard-dispatcher")) {
            throw new IllegalArgumentException("the actor system's config has no clusterkv dispatchers: create it"
                    + " with a config that includes the runtime's reference.conf (e.g. ConfigFactory.load())");
        }
        this.ownSystem = supplied == null;
        this.system = supplied != null ? supplied
                : ActorSystem.create(Behaviors.empty(), "clusterkv-" + RUNTIMES.incrementAndGet(),
                        // an embedded library must not end the application's JVM on a fatal error
                        ConfigFactory.parseString("pekko.jvm-exit-on-fatal-error = off").withFallback(config));
        this.pool = new ComputePool(settings.computeThreads(), "clusterkv-compute",
                settings.computeSpin());
        this.residency = ResidencyCache.create(settings.residency());
        Executor maintenance = system.dispatchers().lookup(DispatcherSelector.fromConfig("clusterkv.maintenance-dispatcher"));
        this.wiring = new SessionWiring(system, pool, maintenance, residency, policies, gauges);
    }

    /**
     * @return a runtime on {@code ConfigFactory.load()}, with its own actor system and every policy the
     *         class path provides
     * @throws ConfigValueException if a configuration value is bad
     */
    public static ClusterKvRuntime create() {
        return builder().build();
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /** Configures a {@link ClusterKvRuntime}. */
    public static final class Builder {
        private Config config;
        private ActorSystem<?> system;
        private PolicyRegistry policies;

        private Builder() {
        }

        /**
         * @param config overrides; the runtime's reference.conf fills in the rest
         * @return this
         */
        public Builder config(Config config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /**
         * @param system an actor system of the application's; its config must include the runtime's
         *               reference.conf. The runtime leaves it running when it closes.
         * @return this
         */
        public Builder actorSystem(ActorSystem<?> system) {
            this.system = Objects.requireNonNull(system, "system");
            return this;
        }

        /**
         * @param policies the policies sessions may use; {@link PolicyRegistry#load()} by default
         * @return this
         */
        public Builder policies(PolicyRegistry policies) {
            this.policies = Objects.requireNonNull(policies, "policies");
            return this;
        }

        /**
         * @return the runtime, started
         * @throws ConfigValueException if a configuration value is bad
         * @throws io.clusterkv.runtime.policy.UnknownPolicyException if the default policy is unknown
         */
        public ClusterKvRuntime build() {
            Config c = (config == null ? ConfigFactory.load() : config.withFallback(ConfigFactory.load())).resolve();
            return new ClusterKvRuntime(c, system, policies == null ? PolicyRegistry.load() : policies);
        }
    }

    /** @return the validated runtime settings */
    public RuntimeSettings settings() {
        return settings;
    }

    /** @return the resolved configuration */
    public Config config() {
        return config;
    }

    /** @return the policies sessions may use */
    public PolicyRegistry policies() {
        return policies;
    }

    /** @return the device tier all sessions share */
    public ResidencyCache residency() {
        return residency;
    }

    /** @return the actor system the runtime's actors run in */
    public ActorSystem<?> actorSystem() {
        return system;
    }

    /**
     * Loads a model that this runtime owns and closes when it closes.
     *
     * @param pathOrSyntheticName a GGUF or llama2.c file, or {@code synthetic:<shape>[:<type>]}
     * @return the model
     * @throws IOException if the file cannot be read; {@link io.clusterkv.runtime.model.ModelFormatException}
     *                     if it is not a supported model
     */
    public LlamaModel loadModel(String pathOrSyntheticName) throws IOException {
        checkOpen();
        LlamaModel m = Models.load(pathOrSyntheticName);
        models.add(m);
        return m;
    }

    /**
     * @param model a model (this runtime's, or one the application loaded and keeps open)
     * @return a session with the runtime's settings
     */
    public Session openSession(LlamaModel model) {
        return openSession(model, SessionOptions.defaults());
    }

    /**
     * Opens a session: validates the settings with the options' overrides, creates one policy instance
     * per sparse shard (any configuration error surfaces here), and starts the actors.
     *
     * @param model   a model (this runtime's, or one the application keeps open)
     * @param options the session's policy, budget and overrides
     * @return the session
     * @throws ConfigValueException                                 if a runtime value is bad
     * @throws io.clusterkv.spi.PolicyConfigException              if a policy value is bad
     * @throws io.clusterkv.runtime.policy.UnknownPolicyException   if the policy is unknown
     * @throws io.clusterkv.runtime.policy.PolicyCreationException  if the policy failed to start
     * @throws IllegalStateException                                if the runtime is closed
     */
    public Session openSession(LlamaModel model, SessionOptions options) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(options, "options");
        checkOpen();
        Config sessionConfig = options.over(config);
        RuntimeSettings s = RuntimeSettings.from(sessionConfig);
        if (s.denseLayers() > model.config().layers()) {
            throw new ConfigValueException("clusterkv.runtime.dense-layers", Integer.toString(s.denseLayers()),
                    "an integer in [0, " + model.config().layers() + "]: the model has " + model.config().layers() + " layers");
        }
        Map<String, String> policySection = new ConfigReader(sessionConfig).policySection(policies.provider(s.policy()));
        long number = sessionIds.incrementAndGet();
        String id = "s" + number;
        Session session = wiring.open(id, number, model, s, policySection, () -> sessions.remove(id));
        sessions.put(id, session);
        if (!session.isOpen()) { // its actors stopped before it was listed
            sessions.remove(id);
        }
        return session;
    }

    /** @return the sessions open now */
    public List<Session> sessions() {
        return List.copyOf(sessions.values());
    }

    /**
     * What the runtime's sessions hold now: open sessions, live session and shard actors, KV and
     * device-tier bytes. All 0 once every session is closed and its actors have stopped (a KV store a
     * maintenance task still reads is freed when the task ends), which is what leak checks compare.
     *
     * @return a snapshot; readable at any time from any thread
     */
    public RuntimeResources resources() {
        return new RuntimeResources(sessions.size(), gauges.sessionActors.get(), gauges.shardActors.get(),
                gauges.kvBytes.sum(), residency.residentBytes());
    }

    /**
     * Closes every session, the models this runtime loaded, the pool, and the actor system if the
     * runtime made it. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<CompletableFuture<Void>> stopping = new ArrayList<>();
        for (Session s : sessions.values()) {
            stopping.add(s.closeAsync());
        }
        try {
            CompletableFuture.allOf(stopping.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            // go on closing the rest
        }
        if (ownSystem) {
            system.terminate();
            try {
                system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                // nothing more to do
            }
        }
        residency.close();
        pool.shutdown();
        try {
            pool.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (LlamaModel m : models) {
            m.close();
        }
        models.clear();
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the runtime is closed");
        }
    }
}

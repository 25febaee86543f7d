package io.clusterkv.langchain4j;

import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.chat.ChatEngine;
import java.util.List;
import java.util.Objects;

/**
 * The options of {@link ClusterKvChatModel} and {@link ClusterKvStreamingChatModel}. Either
 * {@link #model(String)} (the builder loads it on a runtime, its own unless {@link #runtime} is given, and
 * the built model owns what it made) or {@link #engine(ChatEngine)} (shared, not closed by the model).
 *
 * @param <B> the builder
 * @param <M> the model it builds
 */
public abstract class ClusterKvModelBuilder<B extends ClusterKvModelBuilder<B, M>, M> {

    String model;
    ClusterKvRuntime runtime;
    ChatEngine engine;
    String policy;
    Integer budget;
    int maxConcurrent = ChatEngine.Options.defaults().maxConcurrent();
    int maxQueued = ChatEngine.Options.defaults().maxQueued();
    int maxCachedConversations = ChatEngine.Options.defaults().maxCachedConversations();
    Double temperature = 0.0;
    Double topP = 1.0;
    Integer maxTokens = 256;
    Long seed;
    List<String> stop = List.of();

    ClusterKvModelBuilder() {
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** @param pathOrSyntheticName a GGUF file, or e.g. {@code synthetic:tiny-chat} @return this */
    public B model(String pathOrSyntheticName) {
        this.model = Objects.requireNonNull(pathOrSyntheticName, "pathOrSyntheticName");
        return self();
    }

    /** @param runtime the runtime to load the model on (not closed by the model) @return this */
    public B runtime(ClusterKvRuntime runtime) {
        this.runtime = Objects.requireNonNull(runtime, "runtime");
        return self();
    }

    /** @param engine an engine to share (not closed by the model); instead of {@link #model} @return this */
    public B engine(ChatEngine engine) {
        this.engine = Objects.requireNonNull(engine, "engine");
        return self();
    }

    /** @param policy the recall policy, as {@code ckv policies} lists them @return this */
    public B policy(String policy) {
        this.policy = Objects.requireNonNull(policy, "policy");
        return self();
    }

    /** @param budget the KV budget: positions attended per query head and step @return this */
    public B budget(int budget) {
        this.budget = budget;
        return self();
    }

    /** @param n requests decoding at once @return this */
    public B maxConcurrent(int n) {
        this.maxConcurrent = n;
        return self();
    }

    /** @param n requests waiting for a slot @return this */
    public B maxQueued(int n) {
        this.maxQueued = n;
        return self();
    }

    /** @param n idle conversations kept for reuse (0: none) @return this */
    public B maxCachedConversations(int n) {
        this.maxCachedConversations = n;
        return self();
    }

    /** @param temperature the default temperature, 0 (greedy) unless set @return this */
    public B temperature(double temperature) {
        this.temperature = temperature;
        return self();
    }

    /** @param topP the default nucleus mass, 1 unless set @return this */
    public B topP(double topP) {
        this.topP = topP;
        return self();
    }

    /** @param maxTokens the default most tokens to generate, 256 unless set @return this */
    public B maxTokens(int maxTokens) {
        this.maxTokens = maxTokens;
        return self();
    }

    /** @param seed the sampler's seed (for temperature above 0) @return this */
    public B seed(long seed) {
        this.seed = seed;
        return self();
    }

    /** @param stop default stop strings @return this */
    public B stopSequences(List<String> stop) {
        this.stop = List.copyOf(stop);
        return self();
    }

    /**
     * @return the model
     * @throws IllegalArgumentException if neither a model nor an engine is set, or the model has no vocabulary
     * @throws java.io.UncheckedIOException if the model file cannot be read
     */
    public abstract M build();
}

package io.clusterkv.examples.embed;

import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.GenerationResult;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.SessionOptions;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Sampler;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Embedding the runtime: one runtime, one model, two sessions with different policies decoding at the
 * same time, tokens streamed to a callback, statistics at the end.
 * Run: {@code java -cp examples/target/ckv.jar --add-modules jdk.incubator.vector
 * io.clusterkv.examples.embed.EmbeddingExample [MODEL]} (default {@code synthetic:tiny}).
 */
public final class EmbeddingExample {

    private EmbeddingExample() {
    }

    /** @param args an optional model: a GGUF or llama2.c file, or synthetic:&lt;shape&gt; */
    public static void main(String[] args) throws Exception {
        String modelName = args.length > 0 ? args[0] : "synthetic:tiny";
        var overrides = ConfigFactory.parseMap(Map.of("clusterkv.runtime.dense-layers", 1));
        try (ClusterKvRuntime runtime = ClusterKvRuntime.builder().config(overrides).build()) {
            LlamaModel model = runtime.loadModel(modelName);           // closed with the runtime
            int[] prompt = {1, 20, 30, 40, 50, 60, 70, 80};
            try (Session quest = runtime.openSession(model, SessionOptions.builder().policy("quest").budget(32).build());
                 Session clusterKv = runtime.openSession(model, SessionOptions.builder()
                         .policy("clusterkv").budget(32)
                         .set("clusterkv.policy.clusterkv.tokens-per-cluster", 8).build())) {
                CompletableFuture<GenerationResult> a = quest.generate(prompt, 48, Sampler.greedy(),
                        (token, position) -> System.out.println("quest     @" + position + ": " + token));
                CompletableFuture<GenerationResult> b = clusterKv.generate(prompt, 48, Sampler.greedy(),
                        (token, position) -> System.out.println("clusterkv @" + position + ": " + token));
                CompletableFuture.allOf(a, b).join();
                System.out.printf("quest: %d tokens, %.1f tok/s, %s%n", a.join().tokens().length,
                        a.join().decodeTokensPerSecond(), quest.stats());
                System.out.printf("clusterkv: %d tokens, %.1f tok/s, %s%n", b.join().tokens().length,
                        b.join().decodeTokensPerSecond(), clusterKv.stats());
            }
        }
    }
}

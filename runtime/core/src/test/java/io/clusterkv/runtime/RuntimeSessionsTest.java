package io.clusterkv.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.model.fixtures.TestModelFiles;
import io.clusterkv.runtime.policy.FullPolicy;
import io.clusterkv.runtime.policy.OraclePolicy;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.StreamingPolicy;
import io.clusterkv.runtime.policy.UnknownPolicyException;
import io.clusterkv.spi.PolicyConfigException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Sessions through the public API: supervision, concurrency, errors. */
@ExtendWith(LogCapturingExtension.class)
class RuntimeSessionsTest {

    private static ClusterKvRuntime runtime;
    private static LlamaModel model;

    @BeforeAll
    static void start() throws Exception {
        PolicyRegistry policies = PolicyRegistry.of(List.of(new FullPolicy.Provider(), new StreamingPolicy.Provider(),
                new OraclePolicy.Provider(), new TestPolicies.Provider("throwing", TestPolicies.ThrowingSelect::new)));
        runtime = ClusterKvRuntime.builder()
                .config(ConfigFactory.parseMap(Map.of(
                        "clusterkv.runtime.policy", "full",
                        "clusterkv.runtime.dense-layers", 1,
                        "clusterkv.runtime.max-policy-failures", 5)))
                .policies(policies)
                .build();
        model = Models.load(TestModelFiles.stories260K());
    }

    @AfterAll
    static void stop() {
        if (runtime != null) {
            runtime.close();
        }
        if (model != null) {
            model.close();
        }
    }

    @Test
    void aPolicyThatKeepsThrowingFailsItsSessionOnlyAndWithTheCause() {
        int[] prompt = RuntimeExactnessTest.randomTokens(model.config().vocab(), 24, 3);
        try (Session bad = runtime.openSession(model, SessionOptions.builder().policy("throwing").budget(8).build());
             Session good = runtime.openSession(model, SessionOptions.builder().policy("streaming").budget(8).build())) {
            CompletableFuture<GenerationResult> failing = bad.generate(prompt, 50, Sampler.greedy(), TokenListener.none());
            CompletableFuture<GenerationResult> fine = good.generate(prompt, 50, Sampler.greedy(), TokenListener.none());
            CompletionException e = assertThrows(CompletionException.class, failing::join);
            SessionFailedException failed = assertInstanceOf(SessionFailedException.class, e.getCause());
            assertInstanceOf(PolicyFailureException.class, failed.getCause());
            assertTrue(failed.getMessage().contains("max-policy-failures = 5"), failed.getMessage());
            int failures = bad.stats().policyFailures();
            int kvHeads = model.config().kvHeads();
            assertTrue(failures > 5 && failures <= 5 + kvHeads,
                    "checked after every layer: ended within one layer past the limit, was " + failures);
            GenerationResult other = fine.join(); // the other session went on to a normal end
            assertTrue(other.tokens().length > 0);
            assertEquals(0, good.stats().policyFailures());
            // the failed session refuses further work with the same cause
            CompletionException again = assertThrows(CompletionException.class,
                    () -> bad.generate(prompt, 5, Sampler.greedy(), TokenListener.none()).join());
            assertInstanceOf(SessionFailedException.class, again.getCause());
        }
    }

    @Test
    void policyFailuresWithinTheLimitFallBackToExactAttention() {
        int[] prompt = RuntimeExactnessTest.randomTokens(model.config().vocab(), 12, 4);
        int[] full = tokens("full", 4096, prompt, 10);
        // budget 1 for 2 query heads a KV head: past 2 * 1 / exact-coverage (0.25) = 8 positions the shards
        // select, so every decode step of this 12-token prompt does
        try (Session s = runtime.openSession(model, SessionOptions.builder().policy("throwing").budget(1)
                .set("clusterkv.runtime.max-policy-failures", 100_000).build())) {
            int[] throwing = s.generate(prompt, 10, Sampler.greedy(), TokenListener.none()).join().tokens();
            assertArrayEquals(full, throwing, "every failing shard step attended exactly");
            SessionStats st = s.stats();
            int sparseLayers = model.config().layers() - 1;
            assertEquals(9L * sparseLayers * model.config().kvHeads(), st.policyFailures(), "one per sparse shard step");
            assertEquals(0, st.sparseShardSteps());
        }
    }

    @Test
    void concurrentSessionsGiveTheSameTokensAsSequentialOnes() {
        String[] policies = {"full", "streaming", "oracle", "streaming"};
        int[] budgets = {4096, 16, 16, 32};
        int[][] prompts = new int[policies.length][];
        int[][] sequential = new int[policies.length][];
        for (int i = 0; i < policies.length; i++) {
            prompts[i] = RuntimeExactnessTest.randomTokens(model.config().vocab(), 20 + 7 * i, 10 + i);
            sequential[i] = tokens(policies[i], budgets[i], prompts[i], 40);
        }
        List<Session> sessions = new ArrayList<>();
        List<CompletableFuture<GenerationResult>> runs = new ArrayList<>();
        try {
            for (int i = 0; i < policies.length; i++) {
                Session s = runtime.openSession(model,
                        SessionOptions.builder().policy(policies[i]).budget(budgets[i]).build());
                sessions.add(s);
                runs.add(s.generate(prompts[i], 40, Sampler.greedy(), TokenListener.none()));
            }
            for (int i = 0; i < policies.length; i++) {
                assertArrayEquals(sequential[i], runs.get(i).join().tokens(), policies[i] + " #" + i);
            }
        } finally {
            sessions.forEach(Session::close);
        }
    }

    @Test
    void aSecondGenerateContinuesTheConversation() {
        int[] prompt = RuntimeExactnessTest.randomTokens(model.config().vocab(), 10, 5);
        try (Session s = runtime.openSession(model, SessionOptions.builder().policy("full").build())) {
            int[] first = s.generate(prompt, 5, Sampler.greedy(), TokenListener.none()).join().tokens();
            int[] second = s.generate(new int[] {first[4]}, 5, Sampler.greedy(), TokenListener.none()).join().tokens();
            int[] whole = tokens("full", 1024, prompt, 10);
            for (int i = 0; i < 5; i++) {
                assertEquals(whole[i], first[i]);
                assertEquals(whole[5 + i], second[i]);
            }
            assertEquals(prompt.length + 1, s.stats().promptTokens());
        }
    }

    @Test
    void theListenerSeesEveryTokenAndItsFailureEndsOnlyThatCall() {
        int[] prompt = RuntimeExactnessTest.randomTokens(model.config().vocab(), 10, 6);
        try (Session s = runtime.openSession(model, SessionOptions.builder().policy("full").build())) {
            List<Integer> seen = new ArrayList<>();
            int[] tokens = s.generate(prompt, 6, Sampler.greedy(), (t, p) -> seen.add(t)).join().tokens();
            assertEquals(tokens.length, seen.size());
            for (int i = 0; i < tokens.length; i++) {
                assertEquals(tokens[i], seen.get(i));
            }
            CompletionException e = assertThrows(CompletionException.class, () -> s.generate(prompt, 3, Sampler.greedy(),
                    (t, p) -> {
                        throw new IllegalArgumentException("listener says no");
                    }).join());
            assertEquals("listener says no", e.getCause().getMessage());
            assertEquals(2, s.generate(new int[] {1}, 2, Sampler.greedy(), TokenListener.none()).join().tokens().length,
                    "still usable");
        }
    }

    @Test
    void badConfigurationAndBadUseGiveClearErrors() {
        ConfigValueException budget = assertThrows(ConfigValueException.class,
                () -> runtime.openSession(model, SessionOptions.builder().budget(0).build()));
        assertEquals("clusterkv.runtime.budget", budget.key());
        assertTrue(budget.getMessage().contains("clusterkv.runtime.budget = 0"), budget.getMessage());

        UnknownPolicyException unknown = assertThrows(UnknownPolicyException.class,
                () -> runtime.openSession(model, SessionOptions.builder().policy("nope").build()));
        assertTrue(unknown.getMessage().contains("nope") && unknown.getMessage().contains("streaming"), unknown.getMessage());

        PolicyConfigException policyKey = assertThrows(PolicyConfigException.class, () -> runtime.openSession(model,
                SessionOptions.builder().policy("streaming").set("clusterkv.policy.streaming.sinks", 3).build()));
        assertTrue(policyKey.getMessage().contains("clusterkv.policy.streaming.sinks"), policyKey.getMessage());

        ConfigValueException format = assertThrows(ConfigValueException.class, () -> runtime.openSession(model,
                SessionOptions.builder().set("clusterkv.runtime.kv-format", "f8").build()));
        assertEquals("clusterkv.runtime.kv-format", format.key());
        assertEquals("f8", format.value());

        ConfigValueException dense = assertThrows(ConfigValueException.class, () -> runtime.openSession(model,
                SessionOptions.builder().set("clusterkv.runtime.dense-layers", "two").build()));
        assertEquals("clusterkv.runtime.dense-layers", dense.key());

        // regressions (issue 16): more dense layers than the model has, and a misspelt key, were accepted
        ConfigValueException tooDense = assertThrows(ConfigValueException.class, () -> runtime.openSession(model,
                SessionOptions.builder().set("clusterkv.runtime.dense-layers", model.config().layers() + 1).build()));
        assertEquals("clusterkv.runtime.dense-layers", tooDense.key());
        assertTrue(tooDense.getMessage().contains(model.config().layers() + " layers"), tooDense.getMessage());
        ConfigValueException misspelt = assertThrows(ConfigValueException.class, () -> runtime.openSession(model,
                SessionOptions.builder().set("clusterkv.runtime.selection-scop", "group").build()));
        assertEquals("clusterkv.runtime.selection-scop", misspelt.key());
        assertTrue(misspelt.getMessage().contains("did you mean clusterkv.runtime.selection-scope"), misspelt.getMessage());
        ConfigValueException residencyKey = assertThrows(ConfigValueException.class, () -> ClusterKvRuntime.builder()
                .config(ConfigFactory.parseMap(Map.of("clusterkv.residency.capacty", "1MiB",
                        "clusterkv.runtime.policy", "full")))
                .policies(runtime.policies()).build());
        assertTrue(residencyKey.getMessage().contains("did you mean clusterkv.residency.capacity"), residencyKey.getMessage());

        assertThrows(ConfigValueException.class, () -> SessionOptions.builder().set("clusterkv.residency.capacity", 1));

        ConfigValueException capacity = assertThrows(ConfigValueException.class, () -> ClusterKvRuntime.builder()
                .config(ConfigFactory.parseMap(Map.of("clusterkv.residency.capacity", "lots",
                        "clusterkv.runtime.policy", "full")))
                .policies(runtime.policies()).build());
        assertEquals("clusterkv.residency.capacity", capacity.key());

        Session s = runtime.openSession(model, SessionOptions.builder().policy("full").build());
        CompletionException empty = assertThrows(CompletionException.class,
                () -> s.generate(new int[0], 3, Sampler.greedy(), TokenListener.none()).join());
        assertInstanceOf(IllegalArgumentException.class, empty.getCause());
        CompletionException vocab = assertThrows(CompletionException.class,
                () -> s.generate(new int[] {model.config().vocab()}, 3, Sampler.greedy(), TokenListener.none()).join());
        assertInstanceOf(IndexOutOfBoundsException.class, vocab.getCause());
        s.close();
        IllegalStateException closed = assertThrows(IllegalStateException.class,
                () -> s.generate(new int[] {1}, 3, Sampler.greedy(), TokenListener.none()));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
        s.close(); // idempotent
    }

    private static int[] tokens(String policy, int budget, int[] prompt, int n) {
        try (Session s = runtime.openSession(model, SessionOptions.builder().policy(policy).budget(budget).build())) {
            return s.generate(prompt, n, Sampler.greedy(), TokenListener.none()).join().tokens();
        }
    }
}

package io.clusterkv.runtime.arena;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.decode.ReferenceDecoder;
import io.clusterkv.runtime.model.GgufModelWriter;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.RetrievalVocabulary;
import io.clusterkv.runtime.model.RopeLayout;
import io.clusterkv.runtime.model.RopeScaling;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.model.SyntheticModels;
import io.clusterkv.runtime.policy.FullPolicy;
import io.clusterkv.runtime.policy.OraclePolicy;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.StreamingPolicy;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.runtime.tasks.Task;
import io.clusterkv.runtime.tasks.TaskContextException;
import io.clusterkv.runtime.tasks.TaskInstance;
import io.clusterkv.runtime.tasks.TaskLexicon;
import io.clusterkv.runtime.tasks.TaskVocabularyException;
import io.clusterkv.runtime.tensor.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The task mode on a stand-in for synthetic:retrieval (random weights, its vocabulary size, written as a
 * GGUF file without a tokenizer): the figures' layout and schema, the protocol (an exact history filled
 * into a session, then the question teacher-forced) against a token-by-token exact decode, and the
 * typed errors.
 */
class TaskArenaTest {

    @TempDir
    static Path dir;

    static Path standIn;

    /** A 2-layer model of synthetic:retrieval's vocabulary size with random weights, as a GGUF file. */
    static Path writeStandIn(Path dir) throws Exception {
        ModelConfig c = new ModelConfig("llama", 64, 172, 2, 4, 2, 16, RetrievalVocabulary.SIZE, 2048, 1e-5, 10000.0,
                RopeScaling.None.INSTANCE, RopeLayout.ADJACENT_PAIRS, false, false);
        Path file = dir.resolve("retrieval-stand-in.gguf");
        try (LlamaModel m = SyntheticModels.create(c, "retrieval stand-in", GgmlType.F32, 42)) {
            GgufModelWriter.of(m).withoutVocabulary().write(file);
        }
        return file;
    }

    @BeforeAll
    static void model() throws Exception {
        standIn = writeStandIn(dir);
    }

    static final PolicyRegistry REGISTRY = PolicyRegistry.of(List.of(new FullPolicy.Provider(),
            new StreamingPolicy.Provider(), new OraclePolicy.Provider()));

    static ArenaSpec spec(String model, List<Integer> contexts, List<Integer> budgets, List<String> policies) {
        return new ArenaSpec(new ArenaInput.Model(model, new ArenaInput.Prompt.Generated()), contexts, 32, budgets, policies,
                Map.of(), 0, 1, ArenaSpec.DEFAULT_RESIDENCY, SelectionScope.HEAD, 9);
    }

    @Test
    void oneEntryPerTaskContextPolicyAndBudgetAndFullRunsOnce(@TempDir Path out) throws Exception {
        List<String> policies = List.of("full", "streaming", "oracle");
        ArenaResult r = TaskArena.run(spec(standIn.toString(), List.of(300, 500), List.of(16, 64), policies),
                new TaskSpec(List.of(Task.PASSKEY, Task.VARIABLE_TRACKING), List.of(), 2), REGISTRY, ArenaProgress.NONE);
        assertEquals(List.of(), r.failures());
        assertEquals(List.of(), r.runs(), "task mode replays nothing");
        assertEquals(2 * 2 * 3 * 2, r.tasks().size());
        assertEquals("task", r.setup().prompt());
        assertTrue(r.setup().source().contains("synthetic:retrieval token ids"), r.setup().source());
        int longest = Math.max(Task.PASSKEY.generate(TaskLexicon.retrieval(), 300, 0.5, 1).continuation().length,
                Task.VARIABLE_TRACKING.generate(TaskLexicon.retrieval(), 300, 0.5, 1).continuation().length);
        assertEquals(longest, r.setup().steps(), "steps: the longest question and answer");
        int i = 0;
        for (String task : List.of("passkey", "variable-tracking")) {
            for (int context : List.of(300, 500)) {
                for (String policy : policies) {
                    for (int budget : List.of(16, 64)) {
                        ArenaResult.TaskEntry e = r.tasks().get(i++);
                        assertEquals(List.of(task, context, policy, budget), List.of(e.task(), e.context(), e.policy(), e.budget()));
                        assertEquals(2, e.instances());
                        assertEquals(List.of(0.25, 0.75), e.depths());
                    }
                }
            }
        }
        String table = r.toTable();
        assertTrue(table.contains("task accuracy") && table.matches("(?s).*variable-tracking\\s+500 oracle\\s+\\d\\.\\d\\d\\s+\\d\\.\\d\\d.*"),
                table);
        ArenaReport.write(r.withCommand("ckv arena --task passkey,variable-tracking"), out);
        assertEquals(List.of(), ArenaSyntheticTest.validate(Files.readString(out.resolve("results.json"))));
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("\"tasks\":[{\"task\":\"passkey\",\"context\":300,\"policy\":\"full\",\"budget\":16"), "results inlined");
    }

    /** Exact decoding, token by token on the caller's thread: the argmax after each continuation prefix. */
    static int[] exactArgmax(LlamaModel model, TaskInstance t) {
        int[] all = new int[t.contextLength() + t.continuation().length];
        System.arraycopy(t.context(), 0, all, 0, t.contextLength());
        System.arraycopy(t.continuation(), 0, all, t.contextLength(), t.continuation().length);
        int[] out = new int[t.continuation().length];
        try (ReferenceDecoder g = ReferenceDecoder.create(model, null)) {
            for (int p = 0; p < all.length - 1; p++) {
                float[] logits = g.next(all[p]);
                if (p >= t.contextLength() - 1) {
                    out[p - t.contextLength() + 1] = Sampler.argmax(logits);
                }
            }
        }
        return out;
    }

    @Test
    void theProtocolGivesExactDecodingsArgmaxWhereAttentionIsExact() throws Exception {
        TaskInstance t = Task.NIAH_MULTIVALUE.generate(TaskLexicon.retrieval(), 400, 0.3, 5);
        int n = t.contextLength();
        try (LlamaModel model = Models.load(standIn.toString());
             SessionDriveMode sessions = new SessionDriveMode(REGISTRY);
             var pool = new java.util.concurrent.ForkJoinPool(2);
             ReferenceDecoder prefill = ReferenceDecoder.create(model, pool)) {
            int[] exact = exactArgmax(model, t);
            prefill.prefill(Arrays.copyOf(t.context(), n - 1));
            var history = new TaskArena.DecoderHistory(prefill, n - 1);
            // full at any budget, and the other policies where the budget covers every position, attend exactly
            for (String policy : List.of("full", "oracle", "streaming")) {
                int budget = policy.equals("full") ? 8 : 1024;
                try (Session s = sessions.open(model, policy, budget, Map.of(), "lru", SelectionScope.HEAD, 1, 9)) {
                    assertArrayEquals(exact, TaskArena.argmax(s, history, t.context()[n - 1], t.continuation()),
                            policy + " at budget " + budget);
                }
            }
            // a small budget is not exact: the sparse layer's selections change the logits somewhere
            try (Session s = sessions.open(model, "streaming", 8, Map.of(), "lru", SelectionScope.HEAD, 1, 9)) {
                int[] sparse = TaskArena.argmax(s, history, t.context()[n - 1], t.continuation());
                assertTrue(!Arrays.equals(exact, sparse), "streaming at budget 8 agrees with exact everywhere: "
                        + Arrays.toString(sparse));
            }
        }
    }

    @Test
    void contextsVocabulariesAndInputsThatDoNotFitAreTypedErrors() {
        TaskSpec passkey = TaskSpec.of(List.of(Task.PASSKEY));
        var small = assertThrows(TaskContextException.class, () -> TaskArena.run(spec(standIn.toString(), List.of(40),
                List.of(16), List.of("full")), passkey, REGISTRY, ArenaProgress.NONE));
        assertTrue(small.getMessage().contains("passkey") && small.getMessage().contains("got 40"), small.getMessage());
        var big = assertThrows(TaskContextException.class, () -> TaskArena.run(spec(standIn.toString(), List.of(2040),
                List.of(16), List.of("full")), passkey, REGISTRY, ArenaProgress.NONE));
        assertTrue(big.getMessage().contains("2040") && big.getMessage().contains("holds 2048"), big.getMessage());
        var vocab = assertThrows(TaskVocabularyException.class, () -> TaskArena.run(spec("synthetic:tiny", List.of(300),
                List.of(16), List.of("full")), passkey, REGISTRY, ArenaProgress.NONE));
        assertTrue(vocab.getMessage().contains("synthetic:tiny") && vocab.getMessage().contains("256"), vocab.getMessage());
        var synthetic = assertThrows(IllegalArgumentException.class, () -> TaskArena.run(ArenaSpec.defaults(), passkey,
                REGISTRY, ArenaProgress.NONE));
        assertTrue(synthetic.getMessage().contains("needs a model"), synthetic.getMessage());
        var depth = assertThrows(IllegalArgumentException.class, () -> passkey.withDepths(List.of(0.5, 1.2)));
        assertTrue(depth.getMessage().contains("1.2"), depth.getMessage());
        assertEquals(List.of(0.1, 0.1, 0.9, 0.9), passkey.withDepths(List.of(0.1, 0.9)).withInstances(2).instanceDepths());
    }
}

package io.clusterkv.runtime.arena;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.decode.ReferenceDecoder;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.SelectionScope;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The arena replaying a model (synthetic:tiny: 2 layers, 2 KV heads of 2 query heads, head dim 16), and the drive seam. */
class ArenaModelTest {

    private static final PolicyRegistry REGISTRY = ArenaSyntheticTest.REGISTRY;

    private static ArenaSpec tiny(ArenaInput.Prompt prompt) {
        return new ArenaSpec(new ArenaInput.Model("synthetic:tiny", prompt), List.of(40, 100), 4, List.of(8, 32, 200),
                List.of("full", "streaming", "oracle"), Map.of(), 0, 1, ArenaSpec.DEFAULT_RESIDENCY, SelectionScope.HEAD, 3);
    }

    @Test
    void replaysEveryShardOfEveryLayerAndFullIsExact() throws Exception {
        ArenaResult r = PolicyArena.run(tiny(new ArenaInput.Prompt.Generated()), REGISTRY, ArenaProgress.NONE);
        assertEquals("model", r.setup().input());
        assertEquals(2, r.setup().layers());
        assertEquals(ArenaResult.DriveStatus.NOT_RUN, r.setup().drive());
        assertEquals(List.of(), r.failures());
        for (ArenaResult.Run run : r.runs()) {
            assertTrue(run.exactPerplexity().orElseThrow() >= 1, "exact perplexity of the teacher-forced steps");
            for (int budget : List.of(8, 32, 200)) {
                var full = run.entry("full", budget).orElseThrow().replay();
                assertEquals(1.0, full.quality().topBudgetRecall().min());
                assertEquals(0.0, full.quality().outputError().max(), 1e-12);
                assertEquals(4 * 2 * 2, full.quality().count(), "one sparse layer x 2 KV heads x 2 query heads x 4 steps");
                assertEquals(2, full.layers().size());
                assertTrue(full.layers().get(0).dense() && !full.layers().get(1).dense());
                assertEquals(16, full.layers().get(0).quality().count(), "dense layers are scored too, per layer");
                assertEquals(1.0, run.entry("oracle", budget).orElseThrow().replay().quality().topBudgetRecall().min());
            }
            for (String p : List.of("streaming", "oracle")) { // 200 >= 100 + 4 positions
                var q = run.entry(p, 200).orElseThrow().replay().quality();
                assertEquals(1.0, q.top10Recall().min(), p);
                assertEquals(0.0, q.outputError().max(), 1e-12, p);
            }
            assertTrue(run.entry("streaming", 8).orElseThrow().replay().quality().attentionMass().mean() < 1);
        }
        assertEquals(List.of(), ArenaSyntheticTest.validate(ResultsJson.write(r)));
    }

    @Test
    void driveModeIsCalledPerContextPolicyAndBudgetWithTheExactReference() throws Exception {
        int[] prompt = {1, 5, 9, 200, 7};
        List<DriveRequest> requests = new ArrayList<>();
        DriveMode fake = req -> {
            requests.add(req);
            if (req.policy().equals("streaming") && req.budget() == 8) {
                throw new IllegalStateException("session failed");
            }
            return new DriveFigures(req.policy().equals("full") ? 2.0 : 3.0, 0.5, 100, 4096, 0.25);
        };
        ArenaSpec spec = tiny(new ArenaInput.Prompt.Tokens(prompt)).withContexts(List.of(40));
        ArenaResult r = PolicyArena.run(spec, REGISTRY, ArenaProgress.NONE, fake);
        assertEquals(ArenaResult.DriveStatus.RUN, r.setup().drive());
        assertEquals(9, requests.size(), "3 policies x 3 budgets x 1 context");
        DriveRequest first = requests.getFirst();
        assertEquals(40, first.prompt().length);
        assertArrayEquals(prompt, Arrays.copyOf(first.prompt(), prompt.length));
        assertEquals(4, first.continuation().length);
        // the reference beyond the given prompt is the exact model's greedy continuation, and exactArgmax agrees
        try (LlamaModel m = Models.load("synthetic:tiny"); ReferenceDecoder g = ReferenceDecoder.create(m, null)) {
            float[] logits = g.prefill(first.prompt());
            for (int t = 0; t < 4; t++) {
                assertEquals(Sampler.argmax(logits), first.exactArgmax()[t]);
                assertEquals(first.exactArgmax()[t], first.continuation()[t], "greedy reference");
                logits = g.next(first.continuation()[t]);
            }
        }
        ArenaResult.Run run = r.runs().getFirst();
        double exact = run.exactPerplexity().orElseThrow();
        assertEquals(2.0 / exact, run.entry("full", 32).orElseThrow().perplexityRatio().orElseThrow(), 1e-12);
        assertEquals(4096, run.entry("oracle", 8).orElseThrow().drive().orElseThrow().bytesMoved());
        assertTrue(run.entry("streaming", 8).orElseThrow().drive().isEmpty());
        assertEquals(List.of(new ArenaResult.Failure(40, "streaming", 8, "drive", "IllegalStateException: session failed")),
                r.failures());
        assertTrue(r.toTable().contains("ppl ratio"), r.toTable());
        assertEquals(List.of(), ArenaSyntheticTest.validate(ResultsJson.write(r)));
    }

    @Test
    void defaultsFollowTheModelAndThePrompt() throws Exception {
        ArenaSpec spec = tiny(new ArenaInput.Prompt.Tokens(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))
                .withContexts(List.of()).withBudgets(List.of()).withDenseLayers(ArenaSpec.DEFAULT_DENSE_LAYERS)
                .withPolicies(List.of("full"));
        ArenaResult r = PolicyArena.run(spec, REGISTRY, ArenaProgress.NONE);
        assertEquals(List.of(12), r.setup().contexts(), "the prompt's length");
        assertEquals(List.of(16), r.setup().budgets(), "powers of two from 16 to a quarter of the context");
        assertEquals(1, r.setup().denseLayers(), "2 layers: one stays sparse");
        assertEquals(12, r.setup().promptTokens());
    }

    @Test
    void inputsThatDoNotFitTheModelAreRejectedNamingThem() {
        var noSparse = assertThrows(IllegalArgumentException.class, () -> PolicyArena.run(
                tiny(new ArenaInput.Prompt.Generated()).withDenseLayers(2), REGISTRY, ArenaProgress.NONE));
        assertTrue(noSparse.getMessage().contains("dense layers 2"), noSparse.getMessage());
        var tooLong = assertThrows(IllegalArgumentException.class, () -> PolicyArena.run(
                tiny(new ArenaInput.Prompt.Generated()).withContexts(List.of(1022)), REGISTRY, ArenaProgress.NONE));
        assertTrue(tooLong.getMessage().contains("exceed the context length"), tooLong.getMessage());
        var vocab = assertThrows(IllegalArgumentException.class, () -> PolicyArena.run(
                tiny(new ArenaInput.Prompt.Tokens(new int[] {1, 999})), REGISTRY, ArenaProgress.NONE));
        assertTrue(vocab.getMessage().contains("999"), vocab.getMessage());
        var text = assertThrows(IllegalArgumentException.class, () -> PolicyArena.run(
                tiny(new ArenaInput.Prompt.Text("hello")), REGISTRY, ArenaProgress.NONE));
        assertTrue(text.getMessage().contains("no tokenizer"), text.getMessage());
        var missing = assertThrows(NoSuchFileException.class, () -> PolicyArena.run(
                tiny(new ArenaInput.Prompt.Generated()).withInput(new ArenaInput.Model("no/such.gguf",
                        new ArenaInput.Prompt.Generated())), REGISTRY, ArenaProgress.NONE));
        assertTrue(missing.getMessage().contains("no/such.gguf"), missing.getMessage());
    }
}

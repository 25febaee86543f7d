package io.clusterkv.runtime.arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.clusterkv.runtime.metrics.QualitySummary;
import io.clusterkv.runtime.policy.FullPolicy;
import io.clusterkv.runtime.policy.OraclePolicy;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.runtime.policy.StreamingPolicy;
import io.clusterkv.runtime.policy.UnknownPolicyException;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The arena in replay mode over the synthetic KV workload, its results.json and report.html. */
class ArenaSyntheticTest {

    /** Throws from select, as a buggy plugin would. */
    static final class Throwing implements RecallPolicyProvider {
        @Override public String name() { return "throwing"; }
        @Override public String description() { return "throws"; }
        @Override public RecallPolicy create(PolicyContext context) {
            return (q, keys, budget, out) -> { throw new IllegalStateException("plugin bug"); };
        }
    }

    static final PolicyRegistry REGISTRY = PolicyRegistry.of(List.of(new FullPolicy.Provider(),
            new StreamingPolicy.Provider(), new OraclePolicy.Provider(), new Throwing()));

    static ArenaSpec small() {
        return new ArenaSpec(new ArenaInput.SyntheticKv(WorkloadParams.defaults().withHeadDim(64), 2), List.of(1500, 600),
                4, List.of(2000, 32, 128), List.of(), Map.of(), 0, 2, ArenaSpec.DEFAULT_RESIDENCY, SelectionScope.HEAD, 7);
    }

    /** Validates results.json text against the schema shipped in the runtime. */
    static List<Error> validate(String json) {
        var schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(ResultsJson.schema(), InputFormat.JSON);
        return schema.validate(json, InputFormat.JSON);
    }

    @Test
    void fullIsExactBigBudgetsMatchFullAndOracleLeadsTopB(@TempDir Path dir) throws Exception {
        ArenaResult r = PolicyArena.run(small(), REGISTRY, ArenaProgress.NONE);
        assertEquals(List.of(600, 1500), r.runs().stream().map(ArenaResult.Run::context).toList());
        assertEquals(ArenaResult.DriveStatus.NOT_APPLICABLE, r.setup().drive());
        for (ArenaResult.Run run : r.runs()) {
            for (int budget : List.of(32, 128, 2000)) {
                QualitySummary full = run.entry("full", budget).orElseThrow().replay().quality();
                assertEquals(1.0, full.top10Recall().min());
                assertEquals(1.0, full.topBudgetRecall().min());
                assertEquals(0.0, full.outputError().max(), 1e-12);
                assertEquals(2 * 4 * 4, full.count(), "2 KV heads x 4 query heads x 4 steps");
                var oracle = run.entry("oracle", budget).orElseThrow().replay().quality();
                var streaming = run.entry("streaming", budget).orElseThrow().replay().quality();
                assertEquals(1.0, oracle.topBudgetRecall().min(), "oracle selects the top-B by construction");
                assertTrue(oracle.attentionMass().mean() >= streaming.attentionMass().mean() - 1e-12);
            }
            // a budget not smaller than the context (prompt + steps) matches full for every policy
            for (String p : List.of("oracle", "streaming")) {
                var q = run.entry(p, 2000).orElseThrow().replay().quality();
                assertEquals(1.0, q.top10Recall().min(), p);
                assertEquals(1.0, q.attentionMass().min(), 1e-12, p);
                assertEquals(0.0, q.outputError().max(), 1e-12, p);
            }
            var e = run.entry("streaming", 128).orElseThrow().replay();
            assertEquals(e.quality().attended().mean() * 2 * 64 * 4, e.kvBytesPerHead(), 1e-9);
            assertEquals(1, e.layers().size());
            assertFalse(e.layers().get(0).dense());
        }
        assertEquals(6, r.failures().size(), "throwing fails at 3 budgets x 2 contexts: " + r.failures());
        assertTrue(r.failures().get(0).message().contains("plugin bug"));
        assertTrue(r.toTable().contains("FAILED (replay)"), r.toTable());

        String json = ResultsJson.write(r.withCommand("ckv arena --test"));
        assertEquals(List.of(), validate(json));
        Path report = ArenaReport.write(r, dir);
        assertEquals(json.length() > 0, Files.size(dir.resolve("results.json")) > 0);
        assertEquals(List.of(), validate(Files.readString(dir.resolve("results.json"))));
        String html = Files.readString(report);
        assertTrue(html.contains("Chart.js v4.5.1") && html.contains("\"schemaVersion\":1"), "chart.js and data inlined");
        assertFalse(html.contains("{{") || html.contains("sourceMappingURL") || html.contains("http://")
                || html.matches("(?s).*src=\"http.*"), "self-contained, nothing to fetch");
        assertFalse(Files.exists(dir.resolve("report.html.tmp")));
    }

    @Test
    void theSchemaRejectsWhatItShould() {
        ArenaResult r = new ArenaResult(ArenaResultFixtures.setup(), List.of(), List.of());
        String json = ResultsJson.write(r);
        assertEquals(List.of(), validate(json));
        assertFalse(validate(json.replace("\"schemaVersion\" : 1", "\"schemaVersion\" : 2")).isEmpty());
        assertFalse(validate(json.replace("\"drive\" : \"not-run\"", "\"drive\" : \"maybe\"")).isEmpty());
        assertFalse(validate(json.replace("\"steps\" : 3", "\"steps\" : 0")).isEmpty());
    }

    @Test
    void theSchemaChecksTaskEntries() {
        var entry = new ArenaResult.TaskEntry("passkey", 16, "full", 8, 2, 1, List.of(0.25, 0.75));
        ArenaResult r = new ArenaResult(ArenaResultFixtures.setup(), List.of(), List.of(
                new ArenaResult.Failure(16, "quest", 8, "task", "passkey instance 1: boom")), List.of(entry));
        String json = ResultsJson.write(r);
        assertEquals(List.of(), validate(json));
        assertTrue(json.contains("\"accuracy\" : 0.5"), json);
        assertFalse(validate(json.replace("\"task\" : \"passkey\"", "\"task\" : \"needle\"")).isEmpty(), "unknown task");
        assertFalse(validate(json.replace("\"accuracy\" : 0.5", "\"accuracy\" : 1.5")).isEmpty(), "accuracy above 1");
        assertFalse(validate(json.replace("\"depths\" : [ 0.25, 0.75 ]", "\"depths\" : [ ]")).isEmpty(), "no depths");
        assertFalse(validate(json.replace("\"mode\" : \"task\"", "\"mode\" : \"other\"")).isEmpty(), "failure mode");
        String before = json.replaceAll("(?s),\\s*\"tasks\" : \\[.*\\]", "");
        assertFalse(before.contains("\"tasks\""), before);
        assertEquals(List.of(), validate(before), "files written before task mode have no tasks array");
        var e = assertThrows(IllegalArgumentException.class,
                () -> new ArenaResult.TaskEntry("passkey", 16, "full", 8, 2, 3, List.of(0.5, 0.5)));
        assertTrue(e.getMessage().contains("3 of 2"), e.getMessage());
    }

    @Test
    void badSpecsAreRejectedNamingTheValue() {
        assertThrows(UnknownPolicyException.class,
                () -> PolicyArena.run(small().withPolicies(List.of("nope")), REGISTRY, ArenaProgress.NONE));
        var e = assertThrows(IllegalArgumentException.class, () -> small().withBudgets(List.of(64, 0)));
        assertTrue(e.getMessage().contains("was 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> small().withContexts(List.of(0)));
        assertTrue(e.getMessage().contains("context must be >= 1 position, was 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> small().withSteps(0));
    }
}

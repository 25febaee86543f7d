package io.clusterkv.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.clusterkv.runtime.arena.PolicyArena;
import io.clusterkv.runtime.arena.ArenaInput;
import io.clusterkv.runtime.arena.ArenaProgress;
import io.clusterkv.runtime.arena.ArenaReport;
import io.clusterkv.runtime.arena.ArenaResult;
import io.clusterkv.runtime.arena.ArenaSpec;
import io.clusterkv.runtime.arena.ResultsJson;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The arena end to end with every competitor the issue names: full, streaming, oracle (built in),
 * clusterkv and quest (plugins on the class path), and page-mean, the example plugin, loaded from its own
 * jar (examples/custom-policy, built earlier in the reactor and kept off this test's class path). On the
 * synthetic workload through the API, and on stories260K through {@code ckv arena --plugin} (skipped
 * where the model is absent). Checks: full is exact (recall 1; perplexity ratio 1 once drive mode
 * exists), every policy at a budget not smaller than the context matches full, and results.json
 * validates against its schema.
 */
@ExtendWith(LogCapturingExtension.class)
class ArenaEndToEndTest {

    static final List<String> COMPETITORS = List.of("full", "streaming", "oracle", "clusterkv", "quest", "page-mean");

    /** The custom policy's jar from the reactor build (its classes folder when only 'test' ran). */
    static Path pluginJar() {
        for (String property : List.of("ckv.test.plugin.jar", "ckv.test.plugin.classes")) {
            String p = System.getProperty(property);
            if (p != null && Files.exists(Path.of(p))) {
                return Path.of(p);
            }
        }
        return fail("the custom-policy plugin was not built: expected " + System.getProperty("ckv.test.plugin.jar")
                + " (build with ./mvnw -pl examples -am verify)");
    }

    private static PolicyRegistry registryWithPlugin() throws Exception {
        URL url = pluginJar().toUri().toURL();
        var loader = new URLClassLoader("custom-policy", new URL[] {url}, ArenaEndToEndTest.class.getClassLoader());
        PolicyRegistry registry = PolicyRegistry.load(loader);
        assertEquals(List.of(), registry.problems());
        assertTrue(registry.names().containsAll(COMPETITORS), registry.names().toString());
        assertEquals(loader, registry.provider("page-mean").getClass().getClassLoader(),
                "page-mean comes from its own jar, not from the test class path");
        assertNotSame(loader, registry.provider("quest").getClass().getClassLoader());
        return registry;
    }

    private static JsonNode validated(String json) {
        var schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(ResultsJson.schema(), InputFormat.JSON);
        assertEquals(List.of(), schema.validate(json, InputFormat.JSON), "results.json must validate against its schema");
        return JsonMapper.builder().build().readTree(json);
    }

    /** The issue's checks on results.json: full exact, big budgets match full, drive full ratio 1 when present. */
    private static void checkFullAndBigBudgets(JsonNode root) {
        List<String> seen = new java.util.ArrayList<>();
        for (JsonNode run : root.get("runs")) {
            int positions = run.get("context").asInt() + run.get("steps").asInt();
            for (JsonNode e : run.get("entries")) {
                String policy = e.get("policy").asString();
                seen.add(policy);
                JsonNode r = e.get("replay");
                boolean mustBeExact = policy.equals("full") || e.get("budget").asInt() >= positions;
                if (mustBeExact) {
                    String what = policy + "@" + e.get("budget").asInt() + ", context " + run.get("context").asInt();
                    assertEquals(1.0, r.get("top10Recall").get("min").asDouble(), what);
                    assertEquals(1.0, r.get("topBudgetRecall").get("min").asDouble(), what);
                    assertEquals(1.0, r.get("attentionMass").get("min").asDouble(), 1e-9, what);
                    assertEquals(0.0, r.get("outputError").get("max").asDouble(), 1e-9, what);
                    if (!e.get("drive").isNull()) {
                        // decoding on its own through the actor runtime: exact attention at every step
                        JsonNode d = e.get("drive");
                        assertEquals(1.0, d.get("perplexityRatio").asDouble(), 1e-4, what + ": perplexity ratio");
                        assertEquals(1.0, d.get("greedyAgreement").asDouble(), what + ": greedy agreement");
                        assertEquals(0, d.get("bytesMoved").asLong(), what + ": nothing moved at a covering budget");
                    }
                }
            }
        }
        assertTrue(seen.containsAll(COMPETITORS), "every competitor has entries: " + seen);
        assertEquals(0, root.get("failures").size(), root.get("failures").toString());
    }

    @Test
    void syntheticWorkloadWithEveryCompetitorAndThePluginFromItsJar(@TempDir Path out) throws Exception {
        ArenaSpec spec = new ArenaSpec(new ArenaInput.SyntheticKv(WorkloadParams.defaults().withHeadDim(64), 1),
                List.of(1024, 2048), 4, List.of(64, 256, 4096), COMPETITORS, Map.of(), 0,
                ArenaSpec.DEFAULT_DENSE_LAYERS, ArenaSpec.DEFAULT_RESIDENCY, SelectionScope.HEAD, 42);
        ArenaResult result = PolicyArena.run(spec, registryWithPlugin(), ArenaProgress.NONE);
        ArenaReport.write(result, out);
        JsonNode root = validated(Files.readString(out.resolve("results.json")));
        checkFullAndBigBudgets(root);
        assertEquals("not-applicable", root.get("setup").get("drive").asString());
        // below the context, the policies that look at the query beat the one that does not
        ArenaResult.Run longest = result.runs().getLast();
        double streaming = longest.entry("streaming", 256).orElseThrow().replay().quality().attentionMass().mean();
        for (String p : List.of("oracle", "clusterkv", "quest", "page-mean")) {
            double mass = longest.entry(p, 256).orElseThrow().replay().quality().attentionMass().mean();
            assertTrue(mass > streaming, p + " recalls more attention mass than streaming: " + mass + " vs " + streaming);
        }
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("page-mean") && html.contains("Chart.js"), "report holds the data and the chart library");
    }

    @Test
    void stories260kThroughTheCommandLineWithAPluginJar(@TempDir Path out) throws Exception {
        Path model = ModelCommandsTest.shared("models/stories260K.bin");
        assumeTrue(model != null, "shared/models/stories260K.bin not found above the working directory: skipped");
        StringWriter stdout = new StringWriter();
        StringWriter stderr = new StringWriter();
        var cl = Ckv.commandLine();
        cl.setOut(new PrintWriter(stdout));
        cl.setErr(new PrintWriter(stderr));
        int code = cl.execute("arena", "--model", model.toString(), "--plugin", pluginJar().toString(),
                "--policies=" + String.join(",", COMPETITORS), "--context=64,160", "--steps=4", "--budgets=16,256",
                "--out", out.toString());
        assertEquals(0, code, stderr.toString());
        assertTrue(stdout.toString().contains("exact perplexity"), stdout.toString());
        JsonNode root = validated(Files.readString(out.resolve("results.json")));
        checkFullAndBigBudgets(root);
        JsonNode setup = root.get("setup");
        assertEquals("model", setup.get("input").asString());
        assertEquals(5, setup.get("layers").asInt());
        assertEquals(2, setup.get("denseLayers").asInt());
        assertEquals("run", setup.get("drive").asString());
        int driven = 0;
        for (JsonNode run : root.get("runs")) {
            for (JsonNode e : run.get("entries")) {
                driven += e.get("drive").isNull() ? 0 : 1;
                if (e.get("budget").asInt() == 16 && !e.get("policy").asString().equals("full")
                        && !e.get("policy").asString().equals("oracle")) {
                    assertTrue(e.get("drive").get("residencyHitRate").isNumber(),
                            "a sparse policy requests units: " + e);
                }
            }
        }
        assertEquals(2 * COMPETITORS.size() * 2, driven, "drive figures for every context, policy and budget");
        assertTrue(setup.get("command").asString().startsWith("ckv arena --model"), setup.get("command").asString());
        for (JsonNode run : root.get("runs")) {
            assertTrue(run.get("exactPerplexity").asDouble() > 1, "a trained model is not certain of every token");
            JsonNode full = run.get("entries").get(0);
            assertEquals(5, full.get("replay").get("layers").size(), "every layer is reported, dense ones flagged");
            assertEquals(4L * 4 * 2 * 3, full.get("replay").get("evaluations").asLong(),
                    "4 steps x 4 KV heads x 2 query heads x 3 sparse layers");
        }
        assertTrue(Files.size(out.resolve("report.html")) > 100_000, "Chart.js is inlined");
    }
}

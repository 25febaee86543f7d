package io.clusterkv.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import io.clusterkv.runtime.arena.ResultsJson;
import io.clusterkv.runtime.model.GgufModelWriter;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.RetrievalVocabulary;
import io.clusterkv.runtime.model.RopeLayout;
import io.clusterkv.runtime.model.RopeScaling;
import io.clusterkv.runtime.model.SyntheticModels;
import io.clusterkv.runtime.tensor.GgmlType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code ckv arena --task}: a smoke run on a stand-in for synthetic:retrieval (its vocabulary size,
 * random weights, synthetic:tiny's size, a GGUF file without a tokenizer), results.json against its
 * schema, and the usage errors (exit code 2, one line naming the input).
 */
@ExtendWith(LogCapturingExtension.class)
class ArenaTaskCommandTest {

    @TempDir
    static Path dir;

    static Path standIn;

    @BeforeAll
    static void model() throws Exception {
        ModelConfig c = new ModelConfig("llama", 64, 172, 2, 4, 2, 16, RetrievalVocabulary.SIZE, 1024, 1e-5, 10000.0,
                RopeScaling.None.INSTANCE, RopeLayout.ADJACENT_PAIRS, false, false);
        standIn = dir.resolve("retrieval-stand-in.gguf");
        try (LlamaModel m = SyntheticModels.create(c, "retrieval stand-in", GgmlType.F32, 42)) {
            GgufModelWriter.of(m).withoutVocabulary().write(standIn);
        }
    }

    @Test
    void tasksGiveAnAccuracyTableAndATasksArrayThatValidates(@TempDir Path out) throws Exception {
        CliRun r = CliRun.of("arena", "--model", standIn.toString(), "--task", "passkey,niah-multikey", "--context", "300",
                "--budgets", "16,64", "--instances", "2", "--policies", "full,streaming,quest", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("task accuracy") && r.out().contains("B=16") && r.out().contains("B=64"), r.out());
        assertTrue(r.out().matches("(?s).*niah-multikey\\s+300 quest\\s+\\d\\.\\d\\d\\s+\\d\\.\\d\\d.*"), r.out());
        String json = Files.readString(out.resolve("results.json"));
        var schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(ResultsJson.schema(), InputFormat.JSON);
        assertEquals(List.of(), schema.validate(json, InputFormat.JSON));
        JsonNode root = JsonMapper.builder().build().readTree(json);
        assertEquals(0, root.get("runs").size());
        List<String> rows = new ArrayList<>();
        for (JsonNode t : root.get("tasks")) {
            rows.add(t.get("task").asString() + " " + t.get("policy").asString() + "@" + t.get("budget").asInt());
            assertEquals(2, t.get("instances").asInt());
            assertEquals(t.get("correct").asDouble() / 2, t.get("accuracy").asDouble(), 1e-12);
        }
        assertEquals(List.of("passkey full@16", "passkey full@64", "passkey streaming@16", "passkey streaming@64",
                "passkey quest@16", "passkey quest@64", "niah-multikey full@16", "niah-multikey full@64",
                "niah-multikey streaming@16", "niah-multikey streaming@64", "niah-multikey quest@16",
                "niah-multikey quest@64"), rows);
        assertTrue(root.get("setup").get("command").asString().startsWith("ckv arena --model"));
        assertTrue(Files.readString(out.resolve("report.html")).contains("Task accuracy against budget"));
    }

    @Test
    void badTaskUsageIsExitCode2NamingTheInput() {
        String model = standIn.toString();
        CliRun.of("arena", "--model", model, "--task", "passkey,needle").isOneLineError(2,
                "--task: unknown task 'needle'; tasks: passkey, niah-single, niah-multikey, niah-multivalue, "
                        + "niah-multiquery, variable-tracking");
        CliRun.of("arena", "--task", "passkey").isOneLineError(2, "--task needs --model");
        CliRun.of("arena", "--model", model, "--task", "passkey", "--prompt-ids", "1 2").isOneLineError(2,
                "--task makes its own prompts");
        CliRun.of("arena", "--model", model, "--instances", "3").isOneLineError(2, "give --task too");
        CliRun.of("arena", "--model", model, "--task", "passkey", "--maintenance-lag", "2").isOneLineError(2,
                "--maintenance-lag 2: task mode runs sessions with synchronous maintenance");
        CliRun.of("arena", "--model", model, "--task", "passkey", "--depths", "0.5,2").isOneLineError(2,
                "--depths: a needle depth must be in [0, 1], was 2.0");
        CliRun.of("arena", "--model", model, "--task", "passkey", "--instances", "0").isOneLineError(2,
                "--instances: instances must be >= 1, was 0");
        CliRun.of("arena", "--model", model, "--task", "niah-multikey", "--context", "50", "--budgets", "16")
                .isOneLineError(2, "task niah-multikey needs a context of at least");
        CliRun.of("arena", "--model", model, "--task", "passkey", "--context", "1020", "--budgets", "16")
                .isOneLineError(2, "holds 1024");
        CliRun.of("arena", "--model", "synthetic:tiny", "--task", "passkey", "--context", "300", "--budgets", "16")
                .isOneLineError(2, "model synthetic:tiny (vocabulary of 256 tokens, no tokenizer) cannot write the tasks");
    }
}

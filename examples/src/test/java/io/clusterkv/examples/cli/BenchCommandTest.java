package io.clusterkv.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code ckv bench decode} and {@code ckv bench prefill} end to end on synthetic:tiny: the table, the JSON rows, usage errors. */
@ExtendWith(LogCapturingExtension.class)
class BenchCommandTest {

    private static CliRun ckv(String... args) {
        return CliRun.of(args);
    }

    private static final List<String> FIELDS = List.of("benchmark", "policy", "context", "budget", "kvFormat",
            "residency", "tokensPerSecond", "tokensPerSecondMin", "tokensPerSecondMax", "kvBytesPerToken",
            "weightBytesPerToken", "bandwidthBytesPerSecond", "boundTokensPerSecond", "model", "threads");

    /** @return rows by "policy@context" */
    private static Map<String, JsonNode> rows(Path json, int expected) throws Exception {
        JsonNode array = JsonMapper.builder().build().readTree(Files.readString(json));
        assertTrue(array.isArray(), array.toString());
        assertEquals(expected, array.size(), array.toString());
        Map<String, JsonNode> byKey = new HashMap<>();
        for (JsonNode row : array) {
            for (String f : FIELDS) {
                assertTrue(row.has(f) && !row.get(f).isNull(), f + " missing from " + row);
            }
            double median = row.get("tokensPerSecond").asDouble();
            assertTrue(median > 0, row.toString());
            assertTrue(row.get("tokensPerSecondMin").asDouble() <= median
                    && median <= row.get("tokensPerSecondMax").asDouble(), row.toString());
            assertTrue(row.get("bandwidthBytesPerSecond").asDouble() > 0, row.toString());
            assertTrue(row.get("boundTokensPerSecond").asDouble() > 0, row.toString());
            assertTrue(byKey.put(row.get("policy").asString() + "@" + row.get("context").asInt(), row) == null,
                    "one row per policy and context: " + array);
        }
        return byKey;
    }

    @Test
    void decodeWritesOneRowPerPolicyAndContext(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("decode.json");
        CliRun r = ckv("bench", "decode", "--model", "synthetic:tiny", "--context", "0,64", "--policy", "full,clusterkv",
                "--budget", "16", "--steps", "2", "--repetitions", "1", "--baseline-mib", "16",
                "--set", "clusterkv.runtime.dense-layers=0", "--set", "clusterkv.runtime.exact-coverage=1",
                "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        Map<String, JsonNode> rows = rows(json, 4);
        for (String key : List.of("full@0", "clusterkv@0", "full@64", "clusterkv@64")) {
            JsonNode row = rows.get(key);
            assertNotNull(row, key + " missing: " + rows.keySet());
            assertEquals("decode", row.get("benchmark").asString());
            assertEquals("synthetic:tiny", row.get("model").asString());
            assertEquals(16, row.get("budget").asInt());
            assertEquals("f16", row.get("kvFormat").asString(), "the runtime's default KV format");
            assertEquals("lru", row.get("residency").asString(), "the runtime's default residency rule");
            assertEquals(1, row.get("repetitions").asInt());
        }
        // the history is there: full reads every position of each of the 2 x 2 shards (f16 key and value of 16 channels)
        double fullKv = rows.get("full@64").get("kvBytesPerToken").asDouble();
        assertTrue(fullKv >= 64 * 2 * 2 * (16 * 2 * 2), "full at 64 positions read " + fullKv + " bytes a token");
        assertTrue(rows.get("full@0").get("kvBytesPerToken").asDouble() < fullKv);
        // clusterkv attends at most its budget (and whole clusters): fewer bytes than exact attention
        assertTrue(rows.get("clusterkv@64").get("kvBytesPerToken").asDouble() < fullKv, rows.get("clusterkv@64").toString());
        assertEquals(1.0, rows.get("full@64").get("vsFull").asDouble(), 1e-12);
        assertEquals(rows.get("clusterkv@64").get("tokensPerSecond").asDouble()
                / rows.get("full@64").get("tokensPerSecond").asDouble(), rows.get("clusterkv@64").get("vsFull").asDouble(), 1e-9);
        assertEquals(rows.get("full@0").get("weightBytesPerToken").asLong(), rows.get("full@64").get("weightBytesPerToken").asLong());

        // the table: the machine first, then one line per row
        assertTrue(r.out().startsWith("cpu: "), r.out());
        assertTrue(r.out().contains("jdk: "), r.out());
        assertTrue(r.out().contains("memory bandwidth"), r.out());
        List<String> lines = new ArrayList<>(r.out().lines().filter(l -> l.startsWith("full ") || l.startsWith("clusterkv ")).toList());
        assertEquals(4, lines.size(), r.out());
        assertTrue(r.err().contains("rows written to " + json), r.err());
    }

    @Test
    void decodeWithOtherFormatAndRuleSaysSoInEveryRow(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("d.json");
        CliRun r = ckv("bench", "decode", "--model", "synthetic:tiny", "--context", "32", "--policy", "quest",
                "--budget", "8", "--steps", "2", "--repetitions", "2", "--kv-format", "f32", "--residency", "last-r",
                "--threads", "1", "--prefill", "--baseline-mib", "16", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode row = rows(json, 1).get("quest@32");
        assertEquals("f32", row.get("kvFormat").asString());
        assertEquals("last-r", row.get("residency").asString());
        assertEquals(1, row.get("threads").asInt());
        assertTrue(row.get("prefilled").asBoolean());
        assertEquals(2, row.get("tokensPerSecondRuns").size());
        assertTrue(row.get("vsFull").isNull(), "no full in the run: " + row);
    }

    @Test
    void prefillMeasuresPromptTokensPerSecond(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("prefill.json");
        CliRun r = ckv("bench", "prefill", "--model", "synthetic:tiny", "--tokens", "16,100", "--policy", "full",
                "--repetitions", "1", "--baseline-mib", "16", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        Map<String, JsonNode> rows = rows(json, 2);
        JsonNode longer = rows.get("full@100");
        assertEquals("prefill", longer.get("benchmark").asString());
        // two chunks of 64 tokens: the weights are read twice for 100 tokens
        assertEquals(2 * rows.get("full@16").get("weightBytesPerToken").asLong() * 16 / 100,
                longer.get("weightBytesPerToken").asLong(), 1);
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("policy") && l.contains("tokens")), r.out());
    }

    @Test
    void badValuesAreUsageErrorsNamingTheOption(@TempDir Path dir) {
        String[] base = {"bench", "decode", "--model", "synthetic:tiny"};
        ckv(with(base, "--context", "-1")).isOneLineError(2, "--context");
        ckv(with(base, "--context", "x")).isOneLineError(2, "--context");
        ckv(with(base, "--budget", "0")).isOneLineError(2, "--budget must be >= 1, got 0");
        ckv(with(base, "--steps", "0")).isOneLineError(2, "--steps must be >= 1");
        ckv(with(base, "--repetitions", "0")).isOneLineError(2, "--repetitions must be >= 1");
        ckv(with(base, "--threads", "0")).isOneLineError(2, "--threads must be >= 1");
        ckv(with(base, "--policy", "full,nope")).isOneLineError(2, "--policy: unknown policy 'nope'");
        ckv(with(base, "--kv-format", "q4")).isOneLineError(2, "--kv-format: expected one of f32, f16, got 'q4'");
        ckv(with(base, "--residency", "mru")).isOneLineError(2, "--residency: expected one of none, caffeine, lru, last-r");
        ckv(with(base, "--set", "runtime.budget=3")).isOneLineError(2, "--set runtime.budget");
        ckv(with(base, "--json", dir.resolve("no/such/dir/f.json").toString())).isOneLineError(2, "--json");
        ckv(with(base, "--context", "5000", "--baseline-mib", "16")).isOneLineError(2, "--context: context 5000 needs");
        ckv("bench", "prefill", "--model", "synthetic:tiny", "--tokens", "0").isOneLineError(2, "--tokens");
        ckv("bench", "prefill", "--model", "synthetic:tiny", "--tokens", "2000", "--baseline-mib", "16")
                .isOneLineError(2, "--tokens: a prompt of 2000 needs");
        ckv("bench", "decode", "--model", "no/such/model.gguf").isOneLineError(1, "no/such/model.gguf");
        ckv(with(base, "--set", "clusterkv.runtime.dense-layers=-1", "--baseline-mib", "16"))
                .isOneLineError(1, "clusterkv.runtime.dense-layers");
    }

    @Test
    void helpShowsExamples() {
        for (String sub : List.of("decode", "prefill")) {
            CliRun r = ckv("bench", sub, "--help");
            assertEquals(0, r.code());
            assertTrue(r.out().contains("Example"), r.out());
        }
    }

    private static String[] with(String[] base, String... more) {
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }
}

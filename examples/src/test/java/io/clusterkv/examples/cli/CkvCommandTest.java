package io.clusterkv.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

@ExtendWith(LogCapturingExtension.class)
class CkvCommandTest {

    private static CliRun ckv(String... args) {
        return CliRun.of(args);
    }

    @Test
    void arenaRunsEveryPolicyFoundAndWritesTheReport(@TempDir Path dir) throws Exception {
        CliRun r = ckv("arena", "--context=700", "--steps=2", "--head-dim=64", "--kv-heads=1", "--budgets=64,1024",
                "--out=" + dir);
        assertEquals(0, r.code(), r.err());
        for (String p : new String[] {"full", "streaming", "oracle", "quest", "clusterkv"}) {
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(p + " ")), p + " missing from\n" + r.out());
        }
        assertTrue(Files.size(dir.resolve("results.json")) > 0 && Files.size(dir.resolve("report.html")) > 0);
        assertTrue(r.err().contains("report: " + dir.resolve("report.html")), r.err());
        // 'compare', the command's old name, still works
        assertEquals(0, ckv("compare", "--context=300", "--steps=1", "--head-dim=64", "--kv-heads=1", "--budgets=64",
                "--policies=full", "--out=" + dir).code());
    }

    @Test
    void arenaSelectionScopeGroupIsRecordedAndABadScopeIsAUsageError(@TempDir Path dir) throws Exception {
        ckv("arena", "--selection-scope", "nope").isOneLineError(2, "--selection-scope: expected head or group, got 'nope'");
        CliRun r = ckv("arena", "--context=512", "--steps=2", "--budgets=64", "--head-dim=64", "--kv-heads=1",
                "--policies=full,oracle,clusterkv,quest", "--selection-scope", "group", "--out=" + dir);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("selection scope: group"), r.out());
        JsonNode setup = JsonMapper.builder().build().readTree(Files.readString(dir.resolve("results.json"))).get("setup");
        assertEquals("group", setup.get("selectionScope").asString());
        assertEquals(4, setup.get("groupSize").asInt());
        assertTrue(Files.readString(dir.resolve("report.html")).contains("\"selectionScope\":\"group\""));
    }

    @Test
    void arenaVariantsCompareOnePolicyUnderSeveralConfigurations(@TempDir Path dir) throws Exception {
        CliRun r = ckv("arena", "--context=700", "--steps=2", "--head-dim=64", "--kv-heads=1", "--budgets=128",
                "--policies=clusterkv", "--variant", "clusterkv-topp=clusterkv:top-p=0.5",
                "--variant", "clusterkv-ref=clusterkv:preset=reference", "--variant", "quest-topp=quest:top-p=0.5",
                "--out=" + dir);
        assertEquals(0, r.code(), r.err());
        for (String p : new String[] {"clusterkv", "clusterkv-topp", "clusterkv-ref", "quest-topp"}) {
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(p + " ")), p + " missing from\n" + r.out());
        }
        assertTrue(r.out().contains("variant clusterkv-topp: clusterkv with top-p=0.5"), r.out());
        JsonNode policies = JsonMapper.builder().build().readTree(Files.readString(dir.resolve("results.json")))
                .get("setup").get("policies");
        assertEquals(4, policies.size());
        assertEquals("clusterkv-ref", policies.get(2).get("name").asString());
        assertEquals("clusterkv", policies.get(2).get("policy").asString());
        assertEquals("reference", policies.get(2).get("overrides").get("preset").asString());
        assertEquals("quest", policies.get(3).get("policy").asString());
    }

    @Test
    void badVariantsAreUsageErrorsNamingWhatIsWrong(@TempDir Path dir) {
        ckv("arena", "--variant", "clusterkv").isOneLineError(2, "expected LABEL=POLICY[:KEY=VALUE[,KEY=VALUE...]]");
        ckv("arena", "--variant", "x=nope:a=1").isOneLineError(2, "unknown policy 'nope'");
        ckv("arena", "--variant", "x=clusterkv:topp=0.9").isOneLineError(2, "clusterkv.policy.clusterkv.topp");
        ckv("arena", "--set", "clusterkv.topp=0.9").isOneLineError(2, "clusterkv.policy.clusterkv.topp");
        ckv("arena", "--variant", "quest=clusterkv:top-p=0.9").isOneLineError(2, "'quest' is the name of a policy found");
        ckv("arena", "--variant", "x=full", "--variant", "x=oracle").isOneLineError(2, "two variants are labelled 'x'");
        ckv("arena", "--context=600", "--steps=1", "--policies=full", "--variant", "x=clusterkv:top-p=2", "--out=" + dir)
                .isOneLineError(1, "clusterkv.policy.clusterkv.top-p");
    }

    @Test
    void policiesListsNamesDescriptionsAndConfigKeys() {
        CliRun r = ckv("policies");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("clusterkv.policy.streaming.sink = 4"), r.out());
        assertTrue(r.out().contains("clusterkv.policy.quest.page-size = 16"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("quest ") && l.contains("arXiv 2406.10774")), r.out());
        for (String key : new String[] {"clusterkv.policy.clusterkv.top-p = 0", "clusterkv.policy.quest.top-p = 0",
                "clusterkv.policy.clusterkv.preset = paper", "clusterkv.policy.clusterkv.prefill-clusters = 0",
                "clusterkv.runtime.selection-scope = head", "clusterkv.runtime.budget = 1024"}) {
            assertTrue(r.out().contains(key), key + " missing from\n" + r.out());
        }
        CliRun plugin = ckv("policies", "--plugin", ArenaEndToEndTest.pluginJar().toString());
        assertEquals(0, plugin.code(), plugin.err());
        assertTrue(plugin.out().contains("clusterkv.policy.page-mean.page-size = 16"), plugin.out());
    }

    @Test
    void everySubcommandHasHelpWithExamples() {
        for (String[] cmd : new String[][] {{"arena"}, {"generate"}, {"inspect"}, {"policies"}, {"bench"},
                {"bench", "selection"}, {"tokenize"}, {}}) {
            String[] args = java.util.Arrays.copyOf(cmd, cmd.length + 1);
            args[cmd.length] = "--help";
            CliRun r = ckv(args);
            assertEquals(0, r.code(), String.join(" ", args));
            assertTrue(r.out().contains("Example"), String.join(" ", args) + ":\n" + r.out());
        }
    }

    @Test
    void badInputGivesOneLineErrorsAndExitCodes(@TempDir Path dir) throws Exception {
        ckv("arena", "--budgets=64,0").isOneLineError(2, "every budget must be >= 1, got 0");
        ckv("arena", "--context=600", "--steps=1", "--policies=nope").isOneLineError(2, "unknown policy 'nope'");
        ckv("arena", "--set", "nope.x=1").isOneLineError(2, "unknown policy 'nope'");
        ckv("frobnicate").isOneLineError(2, "frobnicate");
        ckv("arena", "--context=abc").isOneLineError(2, "abc");
        ckv("arena", "--model", "no/such/model.gguf").isOneLineError(1, "no/such/model.gguf");
        ckv("arena", "--model", "synthetic:tiny", "--prompt-file", dir.resolve("absent.txt").toString())
                .isOneLineError(2, "absent.txt");
        Path binary = dir.resolve("binary.txt");
        Files.write(binary, new byte[] {(byte) 0xff, (byte) 0xfe, 0});
        ckv("arena", "--model", "synthetic:tiny", "--prompt-file", binary.toString()).isOneLineError(2, "not UTF-8");
        ckv("arena", "--plugin", dir.resolve("none.jar").toString()).isOneLineError(2, "none.jar");
        // regression (issue 16): a file that is not a jar was loaded as one, silently, with exit 0
        Path notAJar = Files.writeString(dir.resolve("policy.txt"), "not a jar");
        ckv("policies", "--plugin", notAJar.toString()).isOneLineError(2, "not a jar");
        // regression (issue 16): arena ran on without a provider that failed to load, while policies failed on
        // the same jar; now every command that runs policies refuses it, and policies lists what did load
        Path broken = dir.resolve("broken.jar");
        try (var jar = new java.util.jar.JarOutputStream(Files.newOutputStream(broken))) {
            jar.putNextEntry(new java.util.zip.ZipEntry("META-INF/services/io.clusterkv.spi.RecallPolicyProvider"));
            jar.write("com.example.MissingPolicyProvider\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            jar.closeEntry();
        }
        ckv("arena", "--context=600", "--steps=1", "--plugin", broken.toString(), "--out=" + dir)
                .isOneLineError(2, "com.example.MissingPolicyProvider");
        ckv("bench", "selection", "--plugin", broken.toString()).isOneLineError(2, "com.example.MissingPolicyProvider");
        CliRun listing = ckv("policies", "--plugin", broken.toString());
        assertEquals(1, listing.code(), listing.err());
        assertTrue(listing.out().lines().anyMatch(l -> l.startsWith("quest ")), "what loads is listed: " + listing.out());
        assertTrue(listing.err().contains("com.example.MissingPolicyProvider"), listing.err());
        ckv("arena", "--model", "synthetic:tiny", "--prompt", "hello", "--context=2", "--dense-layers=0")
                .isOneLineError(1, "has no tokenizer");
        ckv("arena", "--context=600", "--steps=1", "--set", "quest.page-size=0", "--out=" + dir)
                .isOneLineError(1, "clusterkv.policy.quest.page-size");

        CliRun verbose = ckv("arena", "--model", "no/such/model.gguf", "--verbose");
        assertEquals(1, verbose.code());
        assertTrue(verbose.err().contains("\tat "), "--verbose prints the stack trace");
    }
}

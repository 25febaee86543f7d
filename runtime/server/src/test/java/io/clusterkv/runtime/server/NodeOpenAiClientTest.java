package io.clusterkv.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.chat.ChatEngine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The official {@code openai} npm package against a running server: {@code src/test/node/chat-test.mjs}
 * calls {@code models.list}, {@code chat.completions.create} (plain and streaming), {@code completions.create}
 * and two errors, and prints one JSON line per check. {@code npm ci} installs the locked version into
 * {@code target/node-client} (once; reused while the lock file is unchanged). Skipped, saying why, where
 * {@code node} or {@code npm} is not on the PATH; CI machines have both.
 */
class NodeOpenAiClientTest {

    private static final String KEY = "sk-node-test";
    private static final Path SOURCES = Path.of("src/test/node");
    private static final Path WORK = Path.of("target/node-client");

    @Test
    void theOfficialClientTalksToTheServer() throws Exception {
        Assumptions.assumeTrue(onPath("node") && onPath("npm"), "node and npm are not on the PATH: install Node.js 20+ to run this test");
        install();
        try (TinyChatServer tiny = new TinyChatServer(ChatEngine.Options.defaults(), ServerOptions.defaults().withApiKey(KEY))) {
            Run run = run(List.of("node", "chat-test.mjs", tiny.baseUri().toString(), TinyChatServer.MODEL, KEY), 180);
            Map<String, JsonNode> checks = new LinkedHashMap<>();
            for (String line : run.output.split("\n")) {
                if (line.startsWith("{\"check\"")) {
                    JsonNode j = OpenAiServer.json().readTree(line);
                    checks.put(j.path("check").asString(), j);
                }
            }
            assertEquals(0, run.code, run.output);
            for (String name : List.of("models.list", "chat.completions.create", "chat.completions.create stream",
                    "completions.create", "unknown model", "negative max_tokens")) {
                assertTrue(checks.containsKey(name) && checks.get(name).path("ok").asBoolean(), name + ": " + run.output);
            }
            Http.Reply reference = new Http(tiny.baseUri()).post("/v1/chat/completions", "{\"model\": \"" + TinyChatServer.MODEL
                    + "\", \"messages\": [{\"role\": \"system\", \"content\": \"You are terse.\"}, {\"role\": \"user\","
                    + " \"content\": \"Name three colours.\"}], \"max_tokens\": 16, \"temperature\": 0}", "Authorization", "Bearer " + KEY);
            String expected = reference.json().path("choices").get(0).path("message").path("content").asString();
            assertEquals(expected, checks.get("chat.completions.create").path("text").asString());
            assertEquals(expected, checks.get("chat.completions.create stream").path("text").asString());
        }
    }

    private record Run(int code, String output) {
    }

    private static void install() throws IOException, InterruptedException {
        Files.createDirectories(WORK);
        boolean fresh = Files.exists(WORK.resolve("node_modules/openai/package.json"))
                && Files.exists(WORK.resolve("package-lock.json"))
                && Files.mismatch(SOURCES.resolve("package-lock.json"), WORK.resolve("package-lock.json")) == -1;
        for (String f : List.of("package.json", "package-lock.json", "chat-test.mjs")) {
            Files.copy(SOURCES.resolve(f), WORK.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        if (!fresh) {
            Run npm = run(List.of("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"), 300);
            assertEquals(0, npm.code, "npm ci in " + WORK + " failed:\n" + npm.output);
        }
    }

    private static Run run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Path log = Files.createTempFile("ckv-node", ".log");
        try {
            Process p = new ProcessBuilder(new ArrayList<>(command)).directory(WORK.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s:\n"
                        + Files.readString(log, StandardCharsets.UTF_8));
            }
            return new Run(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static boolean onPath(String program) {
        try {
            Process p = new ProcessBuilder(program, "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}

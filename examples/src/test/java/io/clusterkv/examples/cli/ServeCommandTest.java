package io.clusterkv.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code ckv serve}: starts a working server, stops cleanly; bad options are usage errors. */
class ServeCommandTest {

    private static final Pattern URL = Pattern.compile("at (http://\\S+/v1/)");

    @Test
    void serveStartsAWorkingServerAndStops() throws Exception {
        CommandLine cl = Ckv.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(
                () -> cl.execute("serve", "--model", "synthetic:tiny-chat", "--port", "0", "--api-key", "sk-cli"),
                r -> Thread.ofPlatform().name("ckv-serve-test").start(r));
        URI base = null;
        for (int i = 0; i < 600 && base == null && !exit.isDone(); i++) {
            Matcher m = URL.matcher(out.toString());
            if (m.find()) {
                base = URI.create(m.group(1));
            } else {
                Thread.sleep(100);
            }
        }
        assertNotNull(base, "no URL printed; out: " + out + " err: " + err);
        assertTrue(out.toString().contains("synthetic:tiny-chat"), out.toString());
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> health = http.send(HttpRequest.newBuilder(base.resolve("/health")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, health.statusCode(), health.body());
        HttpResponse<String> chat = http.send(HttpRequest.newBuilder(base.resolve("chat/completions"))
                .header("Authorization", "Bearer sk-cli").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"synthetic:tiny-chat\", \"messages\": [{\"role\":"
                        + " \"user\", \"content\": \"Hi\"}], \"max_tokens\": 4}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, chat.statusCode(), chat.body());
        assertTrue(chat.body().contains("\"usage\""), chat.body());

        ServeCommand serve = cl.getSubcommands().get("serve").getCommand();
        serve.stop();
        assertEquals(0, exit.get(60, java.util.concurrent.TimeUnit.SECONDS), err.toString());
        URI stopped = base;
        org.junit.jupiter.api.Assertions.assertThrows(ConnectException.class, () -> http.send(
                HttpRequest.newBuilder(stopped.resolve("/health")).build(), HttpResponse.BodyHandlers.ofString()));
    }

    @Test
    void badOptionsAreUsageErrors() {
        CliRun.of("serve", "--model", "synthetic:tiny-chat", "--port", "70000").isOneLineError(2, "--port");
        CliRun.of("serve", "--model", "synthetic:tiny-chat", "--max-concurrent", "0").isOneLineError(2, "--max-concurrent");
        CliRun.of("serve", "--model", "synthetic:tiny-chat", "--budget", "0").isOneLineError(2, "--budget");
        CliRun.of("serve", "--model", "synthetic:tiny-chat", "--port", "0", "--policy", "no-such-policy")
                .isOneLineError(2, "no-such-policy");
    }
}

package io.clusterkv.runtime.server;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/** A plain HTTP client for the tests: JSON in, status and body out; server-sent events split into their data. */
final class Http {

    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    private final URI root;

    Http(URI baseUri) {
        this.root = baseUri.resolve("/");
    }

    record Reply(int status, String body, HttpResponse<String> raw) {
        JsonNode json() {
            return OpenAiServer.json().readTree(body);
        }

        /** @return the data of each event, in order ({@code [DONE]} included); comments skipped */
        List<String> events() {
            List<String> data = new ArrayList<>();
            for (String event : body.split("\n\n")) {
                for (String line : event.split("\n")) {
                    if (line.startsWith("data: ")) {
                        data.add(line.substring(6));
                    }
                }
            }
            return data;
        }
    }

    Reply post(String path, String body, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(root.resolve(path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r);
    }

    Reply get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(root.resolve(path)).timeout(Duration.ofSeconds(60)).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body(), r);
    }

    Reply send(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest r = HttpRequest.newBuilder(root.resolve(path)).timeout(Duration.ofSeconds(60))
                .method(method, HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> reply = CLIENT.send(r, HttpResponse.BodyHandlers.ofString());
        return new Reply(reply.statusCode(), reply.body(), reply);
    }
}

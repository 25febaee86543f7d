package io.clusterkv.runtime.server;

import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.chat.ChatEngine;
import io.clusterkv.runtime.model.LlamaModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;

/** A real {@link ChatEngine} on {@code synthetic:tiny-chat} behind an {@link OpenAiServer} on a free loopback port. */
final class TinyChatServer implements AutoCloseable {

    static final String MODEL = "synthetic:tiny-chat";

    final ClusterKvRuntime runtime;
    final ChatEngine engine;
    final OpenAiServer server;

    TinyChatServer(ChatEngine.Options engineOptions, ServerOptions serverOptions) {
        runtime = ClusterKvRuntime.create();
        try {
            LlamaModel model = runtime.loadModel(MODEL);
            engine = ChatEngine.create(runtime, model, engineOptions);
            server = OpenAiServer.start(runtime, engine, serverOptions.withPort(0));
        } catch (IOException e) {
            runtime.close();
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            runtime.close();
            throw e;
        }
    }

    TinyChatServer() {
        this(ChatEngine.Options.defaults(), ServerOptions.defaults());
    }

    URI baseUri() {
        return server.baseUri();
    }

    @Override
    public void close() {
        server.close();
        engine.close();
        runtime.close();
    }
}

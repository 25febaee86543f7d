package io.clusterkv.runtime.server;

import io.clusterkv.runtime.chat.ChatCall;
import io.clusterkv.runtime.chat.ChatEngine;
import io.clusterkv.runtime.chat.ChatListener;
import io.clusterkv.runtime.chat.ChatRequest;
import io.clusterkv.runtime.chat.ChatResult;
import io.clusterkv.runtime.chat.FinishReason;
import io.clusterkv.runtime.residency.ResidencyStats;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.function.BiFunction;

/**
 * A backend whose calls the test scripts: each submission runs {@link #script}, which gets the request and
 * the listener and returns a {@link Call} it completes when it likes. Records every request and call.
 */
final class ScriptedBackend implements ChatBackend {

    static final String MODEL = "scripted-model";
    static final int CONTEXT = 64;

    final List<ChatRequest> requests = new CopyOnWriteArrayList<>();
    final List<Call> calls = new CopyOnWriteArrayList<>();
    volatile BiFunction<ChatRequest, ChatListener, Call> script = ScriptedBackend::echo;

    /** A call the test completes; {@code cancel()} completes it with CANCELLED and counts down {@link #cancelled}. */
    static final class Call implements ChatCall {
        final CompletableFuture<ChatResult> result = new CompletableFuture<>();
        final CountDownLatch cancelled = new CountDownLatch(1);
        final StringBuilder text = new StringBuilder();

        @Override
        public CompletableFuture<ChatResult> result() {
            return result;
        }

        @Override
        public void cancel() {
            if (result.complete(new ChatResult(text.toString(), FinishReason.CANCELLED, 3, 0, 0))) {
                cancelled.countDown();
            }
        }
    }

    /** Answers at once: the pieces "Hello", ", ", "world" (two tokens each), stop, 5 prompt tokens of which 2 reused. */
    static Call echo(ChatRequest request, ChatListener listener) {
        Call call = new Call();
        for (String piece : List.of("Hello", ", ", "world")) {
            listener.onText(piece);
            call.text.append(piece);
        }
        call.result.complete(new ChatResult(call.text.toString(), FinishReason.STOP, 5, 6, 2));
        return call;
    }

    @Override
    public String modelId() {
        return MODEL;
    }

    @Override
    public int contextLength() {
        return CONTEXT;
    }

    @Override
    public ChatCall submit(ChatRequest request, ChatListener listener) {
        requests.add(request);
        Call call = script.apply(request, listener);
        calls.add(call);
        return call;
    }

    @Override
    public ChatEngine.Stats stats() {
        return new ChatEngine.Stats(requests.size(), 0, 0, 5L * requests.size(), 2L * requests.size(),
                6L * requests.size(), 0, 0);
    }

    @Override
    public ResidencyStats residency() {
        return new ResidencyStats(3, 1, 0, 0, 0, 0, 0);
    }

    @Override
    public int openSessions() {
        return 0;
    }
}

package io.clusterkv.runtime.server;

import io.clusterkv.runtime.chat.ChatCall;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The calls running for one HTTP connection. When the connection ends (the client went away, or the
 * server is stopping) every call still running is cancelled, streaming or not: a client that
 * disconnects frees its session. The client's going is seen as the end of the connection's requests
 * (Pekko HTTP ends them when the client closes or resets its side; after a request with
 * {@code Connection: close} it stops reading but does not end them, so that request still gets its answer).
 */
final class ConnectionScope {

    private final Set<ChatCall> calls = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /** @param call a call answering a request of this connection; cancelled at once if the connection has ended */
    void add(ChatCall call) {
        calls.add(call);
        if (closed) {
            cancelAll();
        }
    }

    /** @param call a call that has ended */
    void remove(ChatCall call) {
        calls.remove(call);
    }

    /** The connection ended. */
    void close() {
        closed = true;
        cancelAll();
    }

    private void cancelAll() {
        for (ChatCall call : calls) {
            calls.remove(call);
            call.cancel();
        }
    }
}

package io.clusterkv.runtime.server;

import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.chat.ChatCall;
import io.clusterkv.runtime.chat.ChatEngine;
import io.clusterkv.runtime.chat.ChatListener;
import io.clusterkv.runtime.chat.ChatRequest;
import io.clusterkv.runtime.residency.ResidencyStats;

/**
 * What the server needs of the engine behind it: the {@link ChatEngine} on a runtime in production, a
 * scripted one in the protocol tests (which need calls that block, fail or trickle on cue).
 */
interface ChatBackend {

    /** @return the one model served */
    String modelId();

    /** @return the model's context in tokens */
    int contextLength();

    /** As {@link ChatEngine#submit}: never blocks; throws the engine's typed exceptions. */
    ChatCall submit(ChatRequest request, ChatListener listener);

    /** @return the engine's counters */
    ChatEngine.Stats stats();

    /** @return the runtime's device-tier counters */
    ResidencyStats residency();

    /** @return sessions open in the runtime (decoding, or cached for reuse) */
    int openSessions();

    /** A {@link ChatEngine} on its runtime. */
    record OnEngine(ClusterKvRuntime runtime, ChatEngine engine) implements ChatBackend {

        @Override
        public String modelId() {
            return engine.modelId();
        }

        @Override
        public int contextLength() {
            return engine.contextLength();
        }

        @Override
        public ChatCall submit(ChatRequest request, ChatListener listener) {
            return engine.submit(request, listener);
        }

        @Override
        public ChatEngine.Stats stats() {
            return engine.stats();
        }

        @Override
        public ResidencyStats residency() {
            return runtime.residency().stats();
        }

        @Override
        public int openSessions() {
            return runtime.sessions().size();
        }
    }
}

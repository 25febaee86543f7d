package io.clusterkv.runtime.chat;

/**
 * Receives a request's text as it is generated: pieces of whole UTF-8 characters; text that could be
 * the start of a stop string is held back until it is known not to be, and a stop string is never
 * passed on. The pieces joined equal {@link ChatResult#text()}. Called on a runtime thread: keep it
 * quick. If it throws, the request completes exceptionally with that exception.
 */
@FunctionalInterface
public interface ChatListener {

    /** @param delta the next piece of text, never empty */
    void onText(String delta);

    /** @return a listener that ignores the text */
    static ChatListener none() {
        return delta -> { };
    }
}

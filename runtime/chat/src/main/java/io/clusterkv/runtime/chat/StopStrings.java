package io.clusterkv.runtime.chat;

import java.util.List;
import java.util.function.Consumer;

/**
 * Cuts generated text at the first stop string. Text passes through at once unless it could be the start
 * of a stop string: that tail is held back until the next piece decides it. Not thread-safe (one request's
 * decoding thread uses it).
 */
final class StopStrings {

    private final List<String> stops;
    private final Consumer<String> out;
    private final StringBuilder held = new StringBuilder();
    private final StringBuilder text = new StringBuilder();
    private boolean stopped;

    /**
     * @param stops the stop strings, none empty
     * @param out   receives the text that is known to come before any stop string, never empty pieces
     */
    StopStrings(List<String> stops, Consumer<String> out) {
        this.stops = List.copyOf(stops);
        this.out = out;
    }

    /**
     * @param piece the next piece of text
     * @return whether a stop string is now complete: the text ends before it, and nothing more is accepted
     */
    boolean accept(String piece) {
        if (stopped) {
            throw new IllegalStateException("a stop string already ended the text");
        }
        held.append(piece);
        int cut = -1;
        for (String s : stops) {
            int at = held.indexOf(s);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        if (cut >= 0) {
            emit(held.substring(0, cut));
            held.setLength(0);
            stopped = true;
            return true;
        }
        int keep = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, held.length()); k > keep; k--) {
                if (endsWith(held, s, k)) {
                    keep = k;
                    break;
                }
            }
        }
        emit(held.substring(0, held.length() - keep));
        held.delete(0, held.length() - keep);
        return false;
    }

    /** Passes on what was held back: the text ended without completing a stop string. */
    void flush() {
        if (!stopped) {
            emit(held.toString());
            held.setLength(0);
        }
    }

    /** @return whether a stop string ended the text */
    boolean stopped() {
        return stopped;
    }

    /** @return the text passed on so far */
    String text() {
        return text.toString();
    }

    private void emit(String s) {
        if (!s.isEmpty()) {
            text.append(s);
            out.accept(s);
        }
    }

    /** Whether {@code b} ends with the first {@code k} chars of {@code s}. */
    private static boolean endsWith(StringBuilder b, String s, int k) {
        int off = b.length() - k;
        for (int i = 0; i < k; i++) {
            if (b.charAt(off + i) != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}

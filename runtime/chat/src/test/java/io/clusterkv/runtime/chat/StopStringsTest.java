package io.clusterkv.runtime.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StopStringsTest {

    private final List<String> out = new ArrayList<>();

    @Test
    void aStopStringSplitOverPiecesIsCutAndNeverPassedOn() {
        StopStrings s = new StopStrings(List.of("END"), out::add);
        assertFalse(s.accept("Hello E"));
        assertEquals(List.of("Hello "), out, "the E that may start END is held back");
        assertFalse(s.accept("N"));
        assertTrue(s.accept("D and more"));
        assertEquals("Hello ", String.join("", out));
        assertEquals("Hello ", s.text());
    }

    @Test
    void heldTextThatTurnsOutNotToBeAStopIsPassedOn() {
        StopStrings s = new StopStrings(List.of("END"), out::add);
        assertFalse(s.accept("an E"));
        assertFalse(s.accept("Nx"));
        assertEquals("an ENx", String.join("", out));
        assertFalse(s.accept("EN"));
        s.flush();
        assertEquals("an ENxEN", String.join("", out));
        assertEquals(s.text(), String.join("", out));
    }

    @Test
    void theEarliestOfSeveralStopsWins() {
        StopStrings s = new StopStrings(List.of("world", "lo w"), out::add);
        assertTrue(s.accept("hello world"));
        assertEquals("hel", s.text());
        assertTrue(out.stream().noneMatch(p -> p.contains("lo w") || p.contains("world")));
    }

    @Test
    void noStopStringsPassEverythingAtOnce() {
        StopStrings s = new StopStrings(List.of(), out::add);
        assertFalse(s.accept("a"));
        assertFalse(s.accept("b"));
        assertEquals(List.of("a", "b"), out);
    }
}

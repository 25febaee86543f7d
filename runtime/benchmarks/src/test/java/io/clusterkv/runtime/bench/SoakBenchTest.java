package io.clusterkv.runtime.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The soak's smoke run: a few seconds, three sessions, every policy shipped, some closed midway. */
class SoakBenchTest {

    @Test
    void aShortSoakIsCleanAndReportsEveryFigure() throws Exception {
        SoakBench.Options o = new SoakBench.Options("synthetic:tiny", 3, 3,
                List.of("full", "streaming", "clusterkv", "quest"), 16, 48, 0.3, 7, 16L << 20, 30);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        SoakBench.Result r = SoakBench.run(o, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String table = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(r.clean(), table);
        assertTrue(r.completed() > 0 && r.cancelled() > 0, "both kinds of round ran: " + table);
        assertEquals(r.rounds(), r.completed() + r.cancelled(), table);
        assertEquals(SoakBench.nativeOtherBytes() < 0 ? 8 : 9, r.figures().size(), table);
        for (SoakBench.Figure f : r.figures()) {
            assertTrue(table.contains("| " + f.name() + " |"), f.name());
        }
        assertTrue(table.contains("clean: nothing leaked"), table);
    }

    @Test
    void aLeakIsAFigureOverItsLimit() {
        assertTrue(new SoakBench.Figure("shard actors", 0, 1, 0).leak());
        assertTrue(!new SoakBench.Figure("heap", 100, 110, 116).leak());
        assertEquals("--sessions must be >= 1, was 0", assertThrows(IllegalArgumentException.class,
                () -> new SoakBench.Options("synthetic:tiny", 0, 1, List.of("full"), 16, 8, 0, 1, 0, 0)).getMessage());
    }
}

package io.clusterkv.runtime.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.chat.ChatEngine;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * The load test, small: concurrent streaming clients against the real engine on {@code synthetic:tiny-chat},
 * some abandoning their streams; every other response complete and well-formed, and afterwards no session
 * left open beyond the cached conversations, nothing queued or decoding, the device tier and the thread
 * pools back to their idle values. The full 16 x 8 run with figures is {@code ckv bench serve}.
 */
class ServeLoadTest {

    @Test
    void concurrentStreamsAreCompleteAndLeaveNothingBehind() throws Exception {
        ServeLoad.Options load = new ServeLoad.Options(8, 3, 12, 5, Duration.ofSeconds(120));
        // no cached conversations: idle then means no session at all, and the off-heap arenas back to where they were
        ChatEngine.Options limits = new ChatEngine.Options(4, 16, 0, Optional.empty(), OptionalInt.empty());
        ServeLoad.BenchResult r = ServeLoad.bench(TinyChatServer.MODEL, limits, load, System.out::println);
        ServeLoad.Report report = r.report();
        assertTrue(report.problems().isEmpty(), String.join("\n", report.problems()));
        int expectedCancelled = 0;
        for (int n = 0; n < report.requests(); n++) {
            expectedCancelled += n % load.cancelEvery() == load.cancelEvery() - 1 ? 1 : 0;
        }
        assertEquals(expectedCancelled, report.cancelled());
        assertEquals(report.requests() - expectedCancelled, report.completed());
        assertEquals(report.completed(), report.ttftMillis().size());

        ServeLoad.Resources before = r.before();
        ServeLoad.Resources after = r.after();
        assertEquals(0, after.active() + after.queued(), after.toString());
        assertEquals(0, after.sessions(), "every request's session closed: " + after);
        assertEquals(before.residentBytes(), after.residentBytes(), "device tier: before " + before + ", after " + after);
        if (before.arenaBytes() >= 0) { // surefire runs this module with -XX:NativeMemoryTracking=summary
            // NMT's "Other" also holds a few bytes the JDK allocates for itself (8 more bytes after the load in
            // about one run in four, before the compute pool's team too); a session's smallest arena, one KV
            // chunk, is kilobytes
            assertTrue(Math.abs(after.arenaBytes() - before.arenaBytes()) <= 256,
                    "off-heap: before " + before + ", after " + after);
        }
        // Pekko's dispatchers and the runtime's compute pool are fork-join pools of a configured size that start
        // workers on demand and keep idle ones a while; any other pool that grew (a session's, a connection's, a
        // client's) would be a leak
        after.pools().forEach((pool, n) -> assertTrue(n <= before.pools().getOrDefault(pool, 0) || pool.contains("dispatcher")
                        || pool.equals("clusterkv-compute"),
                "thread pools grown: " + after.threadsGrownSince(before)));
    }
}

package io.clusterkv.runtime.arena;

import io.clusterkv.runtime.policy.SelectionScope;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Small hand-made results for tests of the JSON and the report. */
final class ArenaResultFixtures {

    private ArenaResultFixtures() {
    }

    static ArenaResult.Setup setup() {
        return new ArenaResult.Setup("model", "model m", 2, 1, 2, 8, "tokens", 3, List.of(16), 3, List.of(8),
                List.of("full"), Map.of("full", "exact"), Map.of(), 1, 0, "caffeine", SelectionScope.HEAD, 1, ArenaResult.DriveStatus.NOT_RUN,
                "", Instant.parse("2026-01-01T00:00:00Z"), new ArenaResult.Environment("25", "vm", "os", 2, 1024));
    }
}

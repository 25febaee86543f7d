package io.clusterkv.runtime.arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.policy.FullPolicy;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.Seeds;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Regression: the arena's replay and its drive mode (a session of the runtime, {@link SessionDriveMode})
 * once derived a shard's policy seed two ways, so ClusterKV drew different initial centroids in each
 * for the same run seed. A recording policy, run through {@link PolicyArena} with the session drive
 * mode, shows every shard's policy getting one seed in both.
 */
class ReplayAndDriveSeedTest {

    /** Records the seed each created instance receives, and whether the arena was driving then. */
    static final class SeedProbe implements RecallPolicyProvider {
        record Created(boolean driving, int layer, int kvHead, long seed) {
        }

        final List<Created> created = new ArrayList<>();
        volatile boolean driving;

        @Override
        public String name() {
            return "seed-probe";
        }

        @Override
        public String description() {
            return "exact attention; records its seeds";
        }

        @Override
        public RecallPolicy create(PolicyContext context) {
            synchronized (created) {
                created.add(new Created(driving, context.geometry().layer(), context.geometry().kvHead(),
                        context.seed()));
            }
            return new FullPolicy.Provider().create(context);
        }

        /** @return the seed of each (layer, kvHead) created while driving or not; fails on two seeds for one shard */
        Map<String, Long> seeds(boolean whileDriving) {
            Map<String, Long> seeds = new TreeMap<>();
            synchronized (created) {
                for (Created c : created) {
                    if (c.driving() == whileDriving) {
                        Long before = seeds.put(c.layer() + "/" + c.kvHead(), c.seed());
                        assertTrue(before == null || before == c.seed(), "one seed per shard: " + c);
                    }
                }
            }
            return seeds;
        }
    }

    @Test
    void replayAndDriveGiveEveryShardsPolicyTheSameSeed() throws Exception {
        SeedProbe probe = new SeedProbe();
        PolicyRegistry registry = PolicyRegistry.of(List.of(probe));
        long seed = -12_345;
        int dense = 1;
        ArenaSpec spec = new ArenaSpec(new ArenaInput.Model("synthetic:tiny", new ArenaInput.Prompt.Generated()),
                List.of(40), 3, List.of(8), List.of("seed-probe"), Map.of(), 0, dense, ArenaSpec.DEFAULT_RESIDENCY,
                SelectionScope.HEAD, seed);
        ArenaResult result;
        try (SessionDriveMode sessions = new SessionDriveMode(registry)) {
            DriveMode drive = request -> {
                probe.driving = true;
                try {
                    return sessions.drive(request);
                } finally {
                    probe.driving = false;
                }
            };
            result = PolicyArena.run(spec, registry, ArenaProgress.NONE, drive);
        }
        assertEquals(List.of(), result.failures());
        assertTrue(result.runs().getFirst().entry("seed-probe", 8).orElseThrow().drive().isPresent(), "drive ran");

        Map<String, Long> replay = probe.seeds(false);
        Map<String, Long> driven = probe.seeds(true);
        // synthetic:tiny has 2 layers of 2 KV heads; the replay scores every layer, a session makes
        // policies for the sparse ones only
        assertEquals(4, replay.size(), replay.toString());
        assertEquals(2, driven.size(), driven.toString());
        for (int layer = 0; layer < 2; layer++) {
            for (int kvHead = 0; kvHead < 2; kvHead++) {
                String shard = layer + "/" + kvHead;
                assertEquals(Seeds.forShard(seed, layer, kvHead), replay.get(shard), "replay " + shard);
                if (layer >= dense) {
                    assertEquals(replay.get(shard), driven.get(shard), "drive " + shard);
                }
            }
        }
    }
}

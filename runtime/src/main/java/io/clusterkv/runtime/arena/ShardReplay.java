package io.clusterkv.runtime.arena;

import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.metrics.QualityAccumulator;
import io.clusterkv.runtime.metrics.SelectionMetrics;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The competitors of one shard (one (layer, kvHead) pair) in replay: one policy instance per
 * (policy, budget), all fed the same keys and queries. At each step every instance is told of the new
 * key, its due maintenance is run and applied synchronously (computed when handed out, applied
 * {@code maintenanceLag} steps later), it selects, and each query head's selection is scored against
 * exact attention by the shared {@link SelectionMetrics}, whose exact pass runs once per (step, head).
 *
 * <p>A policy that throws is marked failed in its {@link Tally} (for every shard: its other instances
 * stop too) and the others go on. Select calls are timed one by one; the first time a (policy, budget)
 * selects in this JVM's arena run, up to {@value #WARM_UP_CALLS} untimed calls (at most 0.1 s) come
 * first, so the timings do not measure the interpreter.
 */
final class ShardReplay {

    private static final int WARM_UP_CALLS = 200;
    private static final long WARM_UP_NANOS = 100_000_000L;
    private static final int MAX_TASKS_PER_POLL = 64;

    /** What one (policy, budget) gathered over every shard of one context's replay. */
    static final class Tally {
        final String policy;
        final int budget;
        final QualityAccumulator[] quality; // (layers)
        final LongSamples[] selectNanos;    // (layers) one select call of a shard
        String failure;

        Tally(String policy, int budget, int layers) {
            this.policy = policy;
            this.budget = budget;
            this.quality = new QualityAccumulator[layers];
            this.selectNanos = new LongSamples[layers];
            for (int l = 0; l < layers; l++) {
                quality[l] = new QualityAccumulator();
                selectNanos[l] = new LongSamples();
            }
        }

        String key() {
            return policy + "@" + budget;
        }
    }

    private record Pending<R>(MaintenanceTask<R> task, R result, int due) {
        void apply() {
            task.apply(result);
        }
    }

    private static final class Contender {
        final Tally tally;
        final RecallPolicy instance;
        final SelectionBuffer selection;
        final ArrayDeque<Pending<?>> pending = new ArrayDeque<>();

        Contender(Tally tally, RecallPolicy instance, int heads) {
            this.tally = tally;
            this.instance = instance;
            this.selection = new SelectionBuffer(heads, tally.budget);
        }
    }

    private final int layer;
    private final int heads;
    private final int headDim;
    private final double scale;
    private final int maintenanceLag;
    private final List<Contender> contenders = new ArrayList<>();
    private final float[] query; // (heads, headDim)

    /**
     * Creates one instance per tally.
     *
     * @throws io.clusterkv.spi.PolicyConfigException              if an override is invalid
     * @throws io.clusterkv.runtime.policy.PolicyCreationException if a provider fails
     */
    ShardReplay(ShardGeometry geometry, double scale, List<Tally> tallies, PolicyRegistry registry,
            Map<String, Map<String, String>> overrides, long seed, int maintenanceLag) {
        this.layer = geometry.layer();
        this.heads = geometry.queryHeads();
        this.headDim = geometry.headDim();
        this.scale = scale;
        this.maintenanceLag = maintenanceLag;
        this.query = new float[heads * headDim];
        for (Tally t : tallies) {
            if (t.failure == null) {
                RecallPolicy instance = registry.create(t.policy, geometry, t.budget,
                        overrides.getOrDefault(t.policy, Map.of()), seed);
                contenders.add(new Contender(t, instance, heads));
            }
        }
    }

    /**
     * The prompt is written: {@code onPrompt}, then the maintenance it hands out.
     *
     * @param live the shard's live key view
     */
    void prompt(KeyView live) {
        for (Contender c : contenders) {
            guard(c, () -> {
                c.instance.onPrompt(live);
                poll(c, live, 0);
            });
        }
    }

    /**
     * One decode step: the step's key is already appended.
     *
     * @param step    the step, from 0
     * @param queries the group's queries {@code (heads, headDim)}
     * @param live    the shard's live key view (what policies keep)
     * @param kv      keys and values of positions {@code [0, live.size())}, for the exact pass
     * @param metrics one per query head
     * @param warmed  (policy, budget) keys already warmed up in this arena run
     */
    void step(int step, Queries queries, KeyView live, KvShard.View kv, SelectionMetrics[] metrics, Set<String> warmed) {
        int n = live.size();
        for (int h = 0; h < heads; h++) {
            queries.copy(h, query, h * headDim);
            metrics[h].prepare(query, h * headDim, kv, scale);
        }
        for (Contender c : contenders) {
            if (c.tally.failure != null) {
                continue;
            }
            guard(c, () -> {
                c.instance.onAppend(n - 1, live);
                applyDue(c, step);
                poll(c, live, step);
                applyDue(c, step);
                if (warmed.add(c.tally.key())) {
                    warmUp(c, queries, live, n);
                }
                c.selection.reset(c.tally.budget, n);
                long t0 = System.nanoTime();
                c.instance.select(queries, live, c.tally.budget, c.selection);
                c.tally.selectNanos[layer].add(System.nanoTime() - t0);
                for (int h = 0; h < heads; h++) {
                    c.tally.quality[layer].add(metrics[h].evaluate(c.selection.head(h), c.tally.budget));
                }
            });
        }
    }

    /** Closes every instance. */
    void close() {
        for (Contender c : contenders) {
            guard(c, c.instance::close);
        }
    }

    private void warmUp(Contender c, Queries q, KeyView keys, int n) {
        long deadline = System.nanoTime() + WARM_UP_NANOS;
        for (int i = 0; i < WARM_UP_CALLS && System.nanoTime() < deadline; i++) {
            c.selection.reset(c.tally.budget, n);
            c.instance.select(q, keys, c.tally.budget, c.selection);
        }
    }

    private static void guard(Contender c, Runnable work) {
        try {
            work.run();
        } catch (RuntimeException e) {
            if (c.tally.failure == null) {
                c.tally.failure = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
        }
    }

    private void poll(Contender c, KeyView live, int step) {
        for (int i = 0; i < MAX_TASKS_PER_POLL; i++) {
            Optional<MaintenanceTask<?>> task = c.instance.pollMaintenance(live.snapshot());
            if (task.isEmpty()) {
                return;
            }
            c.pending.add(computed(task.get(), step + maintenanceLag));
        }
    }

    private static <R> Pending<R> computed(MaintenanceTask<R> task, int due) {
        return new Pending<>(task, task.compute(), due);
    }

    private static void applyDue(Contender c, int step) {
        while (!c.pending.isEmpty() && c.pending.peek().due() <= step) {
            c.pending.poll().apply();
        }
    }
}

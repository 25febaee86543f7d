package io.clusterkv.runtime.arena;

import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.metrics.QualityAccumulator;
import io.clusterkv.runtime.metrics.SelectionMetrics;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.driver.ShardPolicyDriver;
import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The competitors of one shard (one (layer, kvHead) pair) in replay: one policy instance per
 * (policy, budget), all fed the same keys and queries, each through a {@link ShardPolicyDriver}. At
 * each step every instance is told of the new key, its due maintenance is run and applied
 * synchronously (computed when handed out, applied {@code maintenanceLag} steps later), it selects,
 * and each query head's selection is scored against exact attention by the shared
 * {@link SelectionMetrics}, whose exact pass runs once per (step, head).
 *
 * <p>Under {@link SelectionScope#GROUP} each instance is created with a geometry of one query head
 * ({@link SelectionScope#policyGeometry}), selects once per step for the mean of the group's queries (one
 * {@link SelectionScope.PolicyQueries} per shard, computed once per step for every contender), and every
 * query head of the group is scored, against its own exact attention, over that one shared selection.
 * The {@code oracle} baseline then selects the top-B of the mean query's scores, so its top-B recall for
 * a single head is below 1. A select call's time is recorded per call under either scope.
 *
 * <p>A policy that throws is marked failed in its {@link Tally} (for every shard: its other instances
 * stop too) and the others go on. Select calls are timed one by one; the first time a (policy, budget)
 * selects in this JVM's arena run, up to {@value #WARM_UP_CALLS} untimed calls (at most 0.1 s) come
 * first, so the timings do not measure the interpreter.
 */
final class ShardReplay {

    private static final int WARM_UP_CALLS = 200;
    private static final long WARM_UP_NANOS = 100_000_000L;

    /**
     * What one (entry, budget) gathered over every shard of one context's replay. An entry is a policy
     * under its name or a variant under its label ({@link ArenaSpec#entries}).
     */
    static final class Tally {
        final String policy;                 // the entry's label, as reported
        final String base;                   // the policy created for it
        final Map<String, String> overrides; // its config section's values
        final int budget;
        final QualityAccumulator[] quality; // (layers)
        final LongSamples[] selectNanos;    // (layers) one select call of a shard
        String failure;

        Tally(String policy, int budget, int layers) {
            this(policy, policy, Map.of(), budget, layers);
        }

        Tally(String label, String base, Map<String, String> overrides, int budget, int layers) {
            this.policy = label;
            this.base = base;
            this.overrides = Map.copyOf(overrides);
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

        /** Keeps the first failure; the tally's instances in every shard stop at it. */
        void failed(Throwable e) {
            if (failure == null) {
                failure = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
        }
    }

    private static final class Contender {
        final Tally tally;
        final ShardPolicyDriver driver;
        final SelectionBuffer selection;

        Contender(Tally tally, RecallPolicy instance, int heads, int maintenanceLag) {
            this.tally = tally;
            this.driver = new ShardPolicyDriver(instance, new ShardPolicyDriver.Maintenance.Lagged(maintenanceLag),
                    (where, e) -> tally.failed(e));
            this.selection = new SelectionBuffer(heads, tally.budget);
        }

        boolean out() {
            return tally.failure != null;
        }
    }

    private final int layer;
    private final int heads;   // query heads of the group, each scored
    private final int headDim;
    private final double scale;
    private final double softcap; // the model's attention soft-cap (Gemma 2), 0 for none
    private final SelectionScope scope;
    private final SelectionScope.PolicyQueries policyQueries; // the group's queries, or their mean under GROUP
    private final List<Contender> contenders = new ArrayList<>();
    private final float[] query; // (heads, headDim)

    /**
     * Creates one instance per tally: its policy with its config section.
     *
     * @throws io.clusterkv.spi.PolicyConfigException              if an override is invalid
     * @throws io.clusterkv.runtime.policy.PolicyCreationException if a provider fails
     */
    ShardReplay(ShardGeometry geometry, double scale, List<Tally> tallies, PolicyRegistry registry, long seed,
            int maintenanceLag, SelectionScope scope) {
        this(geometry, scale, 0, tallies, registry, seed, maintenanceLag, scope);
    }

    /** As the other constructor, for a model whose attention soft-caps its scores at {@code softcap} (0: none). */
    ShardReplay(ShardGeometry geometry, double scale, double softcap, List<Tally> tallies, PolicyRegistry registry,
            long seed, int maintenanceLag, SelectionScope scope) {
        this.softcap = softcap;
        this.layer = geometry.layer();
        this.heads = geometry.queryHeads();
        this.headDim = geometry.headDim();
        this.scale = scale;
        this.scope = scope;
        this.policyQueries = new SelectionScope.PolicyQueries(scope, headDim);
        this.query = new float[heads * headDim];
        ShardGeometry policyGeometry = scope.policyGeometry(geometry);
        int selectionHeads = scope.selectionHeads(heads);
        for (Tally t : tallies) {
            if (t.failure == null) {
                RecallPolicy instance = registry.create(t.base, policyGeometry, t.budget, t.overrides, seed);
                contenders.add(new Contender(t, instance, selectionHeads, maintenanceLag));
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
            c.driver.prompt(live);
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
            metrics[h].prepare(query, h * headDim, kv, scale, softcap);
        }
        Queries selectFor = policyQueries.of(queries);
        for (Contender c : contenders) {
            if (c.out()) {
                continue;
            }
            c.driver.append(n - 1, live);
            if (c.out()) {
                continue;
            }
            c.driver.maintain(live);
            if (c.out()) {
                continue;
            }
            if (warmed.add(c.tally.key()) && !warmUp(c, selectFor, live)) {
                continue;
            }
            long t0 = System.nanoTime();
            boolean selected = c.driver.select(selectFor, live, c.tally.budget, c.selection);
            long t1 = System.nanoTime();
            if (!selected) {
                continue;
            }
            c.tally.selectNanos[layer].add(t1 - t0);
            try {
                for (int h = 0; h < heads; h++) {
                    c.tally.quality[layer].add(metrics[h].evaluate(scored(c, h), c.tally.budget));
                }
            } catch (RuntimeException e) { // a selection the metrics reject (e.g. a position out of range)
                c.tally.failed(e);
            }
        }
    }

    /** @return what query head {@code h} of the group attends: its own selection, or the group's one under GROUP */
    private HeadSelectionBuffer scored(Contender c, int h) {
        return c.selection.head(scope == SelectionScope.GROUP ? 0 : h);
    }

    /**
     * Test hook: the selection query head {@code h} was scored over at the last step.
     *
     * @param policy a contender's policy
     * @param budget its budget
     * @param h      a query head of the group
     * @return its selection, as scored
     * @throws IllegalArgumentException if no such contender runs here
     */
    HeadSelectionBuffer scoredSelection(String policy, int budget, int h) {
        for (Contender c : contenders) {
            if (c.tally.policy.equals(policy) && c.tally.budget == budget) {
                return scored(c, h);
            }
        }
        throw new IllegalArgumentException("no contender " + policy + "@" + budget);
    }

    /** Closes every instance. */
    void close() {
        for (Contender c : contenders) {
            c.driver.close();
        }
    }

    /** @return {@code false} if the policy failed during the warm-up */
    private static boolean warmUp(Contender c, Queries q, KeyView keys) {
        long deadline = System.nanoTime() + WARM_UP_NANOS;
        for (int i = 0; i < WARM_UP_CALLS && System.nanoTime() < deadline; i++) {
            if (!c.driver.select(q, keys, c.tally.budget, c.selection)) {
                return false;
            }
        }
        return true;
    }
}

package io.clusterkv.runtime.arena;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.metrics.QualitySummary;
import io.clusterkv.runtime.metrics.SelectionMetrics;
import io.clusterkv.runtime.policy.FullPolicy;
import io.clusterkv.runtime.policy.OraclePolicy;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.runtime.policy.StreamingPolicy;
import io.clusterkv.runtime.synthetic.SyntheticWorkload;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.Seeds;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.internal.HeadSelectionBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The arena under {@link SelectionScope#GROUP}: the query heads of a KV head share one selection, made
 * from their mean query, and every head is scored over it (replay) or attends it (drive).
 */
class SelectionScopeArenaTest {

    /**
     * Selects the {@code budget} most recent positions for query head 0 and nothing for the others, and
     * records the geometry and queries it is given: under GROUP it sees one head, so every query head of
     * the group must be scored over head 0's selection.
     */
    static final class HeadZeroOnly implements RecallPolicyProvider {
        final List<Integer> geometryHeads = new ArrayList<>();
        final List<Integer> queryHeads = new ArrayList<>();
        volatile float[] firstQuery; // kvHead 0's first query head, as the policy saw it

        @Override
        public String name() {
            return "head-zero-only";
        }

        @Override
        public String description() {
            return "the recent budget for query head 0, nothing for the others";
        }

        @Override
        public RecallPolicy create(PolicyContext context) {
            synchronized (geometryHeads) {
                geometryHeads.add(context.geometry().queryHeads());
            }
            int kvHead = context.geometry().kvHead();
            return (q, keys, budget, out) -> {
                synchronized (geometryHeads) {
                    queryHeads.add(q.heads());
                }
                if (kvHead == 0 && firstQuery == null) {
                    float[] first = new float[q.headDim()];
                    q.copy(0, first, 0);
                    firstQuery = first;
                }
                int n = keys.size();
                for (int p = Math.max(0, n - budget); p < n; p++) {
                    out.head(0).add(p);
                }
            };
        }
    }

    static PolicyRegistry registry(RecallPolicyProvider... extra) {
        List<RecallPolicyProvider> providers = new ArrayList<>(List.of(new FullPolicy.Provider(),
                new StreamingPolicy.Provider(), new OraclePolicy.Provider()));
        providers.addAll(List.of(extra));
        return PolicyRegistry.of(providers);
    }

    /** The synthetic workload (4 query heads per KV head unless given), head dim 64, 2 KV heads, 3 steps. */
    static ArenaSpec synthetic(int queryHeads, SelectionScope scope, List<String> policies) {
        return new ArenaSpec(new ArenaInput.SyntheticKv(WorkloadParams.defaults().withHeadDim(64)
                .withQueryHeads(queryHeads), 2), List.of(700), 3, List.of(32, 128, 2000), policies, Map.of(), 0,
                ArenaSpec.DEFAULT_DENSE_LAYERS, ArenaSpec.DEFAULT_RESIDENCY, scope, 11);
    }

    @Test
    void underGroupEveryHeadOfAGroupIsScoredOverTheOneSelectionMadeForTheirMeanQuery() throws Exception {
        HeadZeroOnly probe = new HeadZeroOnly();
        ArenaSpec spec = synthetic(4, SelectionScope.GROUP, List.of("head-zero-only"));
        ArenaResult r = PolicyArena.run(spec, registry(probe), ArenaProgress.NONE);
        assertEquals(List.of(), r.failures());
        assertEquals(Set.of(1), new HashSet<>(probe.geometryHeads), "created with a geometry of one query head");
        assertEquals(Set.of(1), new HashSet<>(probe.queryHeads), "selects for one query, the group's mean");
        for (int budget : List.of(32, 128)) {
            QualitySummary q = r.runs().getFirst().entry("head-zero-only", budget).orElseThrow().replay().quality();
            assertEquals(3 * 2 * 4, q.count(), "every query head is scored: 3 steps x 2 KV heads x 4 heads");
            assertEquals(budget, q.attended().min(), "no head is scored over an empty selection");
            assertEquals(budget, q.attended().max());
        }
        // the query the policy saw is the mean of the group's four at the first step of KV head 0
        WorkloadParams w = WorkloadParams.defaults().withHeadDim(64).withQueryHeads(4).withSteps(3)
                .withPromptLength(700).withSeed(11);
        var first = SyntheticWorkload.generate(w).queries(0);
        float[] mean = new float[64];
        for (int h = 0; h < 4; h++) {
            for (int c = 0; c < 64; c++) {
                mean[c] += first.get(h, c);
            }
        }
        for (int c = 0; c < 64; c++) {
            mean[c] *= 0.25f;
        }
        assertArrayEquals(mean, probe.firstQuery, 1e-6f);

        // under HEAD the same probe leaves heads 1..3 empty: the check above can fail
        HeadZeroOnly perHead = new HeadZeroOnly();
        ArenaResult h = PolicyArena.run(spec.withSelectionScope(SelectionScope.HEAD), registry(perHead),
                ArenaProgress.NONE);
        assertEquals(Set.of(4), new HashSet<>(perHead.geometryHeads));
        assertEquals(0.0, h.runs().getFirst().entry("head-zero-only", 32).orElseThrow().replay().quality()
                .attended().min());
    }

    @Test
    void underGroupEachPolicysSelectionIsTheSameForEveryHeadOfTheGroup() {
        List<String> policies = List.of("full", "streaming", "oracle");
        assertTrue(scoredSelectionsDiffer(SelectionScope.HEAD, policies, 64),
                "under HEAD the oracle's heads select differently (else the check below proves nothing)");
        assertFalse(scoredSelectionsDiffer(SelectionScope.GROUP, policies, 64));
    }

    /**
     * Replays one KV head of the synthetic workload (4 query heads) through a {@link ShardReplay} and,
     * after each step, compares the selection each query head was scored over with head 0's.
     *
     * @return whether any policy scored two heads of the group over different selections
     */
    private static boolean scoredSelectionsDiffer(SelectionScope scope, List<String> policies, int budget) {
        WorkloadParams w = WorkloadParams.defaults().withHeadDim(64).withQueryHeads(4).withSteps(4)
                .withPromptLength(900).withSeed(5);
        SyntheticWorkload workload = SyntheticWorkload.generate(w);
        List<ShardReplay.Tally> tallies = new ArrayList<>();
        for (String p : policies) {
            tallies.add(new ShardReplay.Tally(p, budget, 1));
        }
        SelectionMetrics[] metrics = new SelectionMetrics[4];
        for (int h = 0; h < 4; h++) {
            metrics[h] = new SelectionMetrics();
        }
        boolean differ = false;
        try (KvShard shard = new KvShard(64, KvFormat.F32)) {
            workload.appendPrompt(shard);
            var replay = new ShardReplay(new ShardGeometry(0, 0, 4, 64), workload.scale(), tallies, registry(),
                    Seeds.forShard(5, 0, 0), 0, scope);
            replay.prompt(shard.keys());
            Set<String> warmed = new HashSet<>(policies.stream().map(p -> p + "@" + budget).toList());
            for (int step = 0; step < 4; step++) {
                workload.appendStep(shard, step);
                replay.step(step, workload.queries(step), shard.keys(), shard.snapshot(), metrics, warmed);
                for (String p : policies) {
                    HeadSelectionBuffer head0 = replay.scoredSelection(p, budget, 0);
                    for (int h = 1; h < 4; h++) {
                        HeadSelectionBuffer other = replay.scoredSelection(p, budget, h);
                        differ |= !Arrays.equals(head0.sortedPositions(), other.sortedPositions())
                                || head0.windowStart() != other.windowStart();
                    }
                }
            }
            replay.close();
        }
        for (ShardReplay.Tally t : tallies) {
            assertEquals(null, t.failure, t.policy);
            assertEquals(4 * 4, t.quality[0].count(), "4 steps x 4 query heads scored");
        }
        return differ;
    }

    @Test
    void oracleUnderGroupAtABudgetCoveringTheContextIsExactAndBelowItRanksByTheMeanQuery() throws Exception {
        ArenaResult r = PolicyArena.run(synthetic(4, SelectionScope.GROUP, List.of("full", "oracle")), registry(),
                ArenaProgress.NONE);
        assertEquals(List.of(), r.failures());
        ArenaResult.Run run = r.runs().getFirst();
        for (String p : List.of("full", "oracle")) { // 2000 >= 700 + 3 positions
            QualitySummary q = run.entry(p, 2000).orElseThrow().replay().quality();
            assertEquals(1.0, q.attentionMass().min(), 1e-12, p);
            assertEquals(1.0, q.top10Recall().min(), p);
            assertEquals(0.0, q.outputError().max(), 1e-12, p);
        }
        // below the context the group's top-B is not each head's: top-B recall per head falls below 1
        assertTrue(run.entry("oracle", 32).orElseThrow().replay().quality().topBudgetRecall().mean() < 1);

        // the same on a model with GQA groups of 2 (synthetic:tiny), every layer
        ArenaSpec model = new ArenaSpec(new ArenaInput.Model("synthetic:tiny", new ArenaInput.Prompt.Generated()),
                List.of(60), 3, List.of(8, 100), List.of("oracle"), Map.of(), 0, 1, ArenaSpec.DEFAULT_RESIDENCY,
                SelectionScope.GROUP, 3);
        ArenaResult m = PolicyArena.run(model, registry(), ArenaProgress.NONE);
        assertEquals(List.of(), m.failures());
        var oracle = m.runs().getFirst().entry("oracle", 100).orElseThrow().replay();
        assertEquals(1.0, oracle.quality().attentionMass().min(), 1e-12);
        for (ArenaResult.Layer l : oracle.layers()) {
            assertEquals(1.0, l.quality().attentionMass().min(), 1e-12, "layer " + l.layer());
            assertEquals(3 * 2 * 2, l.quality().count(), "3 steps x 2 KV heads x 2 query heads");
        }
    }

    @Test
    void withOneQueryHeadPerKvHeadGroupGivesTheSameFiguresAsHead() throws Exception {
        List<String> policies = List.of("full", "streaming", "oracle", "head-zero-only");
        ArenaResult head = PolicyArena.run(synthetic(1, SelectionScope.HEAD, policies), registry(new HeadZeroOnly()),
                ArenaProgress.NONE);
        ArenaResult group = PolicyArena.run(synthetic(1, SelectionScope.GROUP, policies),
                registry(new HeadZeroOnly()), ArenaProgress.NONE);
        assertEquals(List.of(), group.failures());
        assertEquals(SelectionScope.GROUP, group.setup().selectionScope());
        for (String p : policies) {
            for (int budget : List.of(32, 128, 2000)) {
                QualitySummary h = head.runs().getFirst().entry(p, budget).orElseThrow().replay().quality();
                QualitySummary g = group.runs().getFirst().entry(p, budget).orElseThrow().replay().quality();
                assertEquals(3 * 2, g.count());
                assertEquals(h, g, p + "@" + budget);
            }
        }
    }

    @Test
    void driveSessionsGetTheScopeAndResultsRecordIt() throws Exception {
        HeadZeroOnly probe = new HeadZeroOnly();
        PolicyRegistry registry = registry(probe);
        ArenaSpec spec = new ArenaSpec(new ArenaInput.Model("synthetic:tiny", new ArenaInput.Prompt.Generated()),
                List.of(40), 2, List.of(8), List.of("head-zero-only", "oracle"), Map.of(), 0, 1,
                ArenaSpec.DEFAULT_RESIDENCY, SelectionScope.GROUP, 3);
        List<DriveRequest> requests = new ArrayList<>();
        ArenaResult r;
        try (SessionDriveMode sessions = new SessionDriveMode(registry)) {
            r = PolicyArena.run(spec, registry, ArenaProgress.NONE, request -> {
                requests.add(request);
                return sessions.drive(request);
            });
        }
        assertEquals(List.of(), r.failures());
        assertEquals(2, requests.size());
        requests.forEach(q -> assertEquals(SelectionScope.GROUP, q.selectionScope()));
        // replay's instances and the sessions' (2 layers x 2 KV heads each) were all made for one query head
        assertEquals(Set.of(1), new HashSet<>(probe.geometryHeads), probe.geometryHeads.toString());
        assertTrue(probe.geometryHeads.size() > 2 * 2, "the sessions created instances too");
        assertTrue(r.runs().getFirst().entry("oracle", 8).orElseThrow().drive().isPresent());

        String json = ResultsJson.write(r);
        assertTrue(json.contains("\"selectionScope\" : \"group\""), json);
        assertEquals(List.of(), ArenaSyntheticTest.validate(json));
        assertTrue(r.toTable().contains("selection scope: group"), r.toTable());
        assertTrue(ArenaReport.html(r).contains("\"selectionScope\":\"group\""));
        // results written before the field existed still validate; a scope the schema does not know does not
        assertEquals(List.of(), ArenaSyntheticTest.validate(json.replace("\"selectionScope\" : \"group\",", "")));
        assertFalse(ArenaSyntheticTest.validate(json.replace("\"selectionScope\" : \"group\"",
                "\"selectionScope\" : \"layer\"")).isEmpty());
    }
}

package io.clusterkv.runtime.arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.arena.ArenaSpec.Variant;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.runtime.policy.UnknownPolicyException;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import io.clusterkv.spi.PolicyConfigException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Variants: one policy under several configurations in one run, each an entry of its own. */
class ArenaVariantsTest {

    private static ArenaSpec tiny(List<String> policies, Map<String, Map<String, String>> overrides, List<Variant> variants) {
        return new ArenaSpec(new ArenaInput.SyntheticKv(WorkloadParams.defaults().withHeadDim(16).withQueryHeads(2), 1),
                List.of(300), 2, List.of(32), policies, overrides, 0, 0, ArenaSpec.DEFAULT_RESIDENCY, SelectionScope.HEAD, 3,
                variants);
    }

    @Test
    void parsesLabelPolicyAndSettings() {
        Variant v = Variant.parse("clusterkv-topp=clusterkv:top-p=0.9,sink=8");
        assertEquals(new Variant("clusterkv-topp", "clusterkv", Map.of("top-p", "0.9", "sink", "8")), v);
        assertEquals("clusterkv-topp=clusterkv:top-p=0.9,sink=8", v.toString());
        assertEquals(new Variant("plain", "quest", Map.of()), Variant.parse("plain=quest"));
        assertEquals(Map.of("preset", "reference"), Variant.parse("ref=clusterkv:preset=reference").overrides());
    }

    @ParameterizedTest
    @ValueSource(strings = {"clusterkv", "=clusterkv", "x=clusterkv:", "x=clusterkv:top-p", "x=clusterkv:=1",
            "x=clusterkv:a=1,a=2", "X=clusterkv", "x y=clusterkv", "x=Cluster", "x=", "a:b=c"})
    void rejectsMalformedTextNamingIt(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Variant.parse(text));
        assertTrue(e.getMessage().contains("'"), e.getMessage());
    }

    @Test
    void anEntryResolvesToItsPolicyAndConfig() {
        ArenaSpec spec = tiny(List.of("streaming"), Map.of("streaming", Map.of("sink", "8")),
                List.of(Variant.parse("s2=streaming:sink=2"), Variant.parse("s8=streaming")));
        assertEquals(List.of("streaming", "s2", "s8"), spec.entries(ArenaSyntheticTest.REGISTRY));
        assertEquals("streaming", spec.policyOf("s2"));
        assertEquals("streaming", spec.policyOf("streaming"));
        assertEquals(Map.of("sink", "2"), spec.overridesOf("s2"), "a variant's values win over --set's");
        assertEquals(Map.of("sink", "8"), spec.overridesOf("s8"), "and inherit them otherwise");
        assertEquals(Map.of("sink", "8"), spec.overridesOf("streaming"));
        assertEquals(List.of("full", "streaming", "oracle", "throwing", "s2", "s8"),
                spec.withPolicies(List.of()).entries(List.of("full", "streaming", "oracle", "throwing")));
    }

    @Test
    void badVariantsFailNamingWhatIsWrong() {
        var registry = ArenaSyntheticTest.REGISTRY;
        var unknown = assertThrows(UnknownPolicyException.class,
                () -> tiny(List.of("full"), Map.of(), List.of(Variant.parse("x=nope:a=1"))).entries(registry));
        assertEquals("nope", unknown.name());
        var key = assertThrows(PolicyConfigException.class,
                () -> tiny(List.of("full"), Map.of(), List.of(Variant.parse("x=streaming:snk=2"))).entries(registry));
        assertEquals("clusterkv.policy.streaming.snk", key.key());
        var setKey = assertThrows(PolicyConfigException.class,
                () -> tiny(List.of("full"), Map.of("streaming", Map.of("snk", "2")), List.of()).entries(registry));
        assertEquals("clusterkv.policy.streaming.snk", setKey.key());
        var clash = assertThrows(IllegalArgumentException.class,
                () -> tiny(List.of("full"), Map.of(), List.of(Variant.parse("oracle=streaming:sink=2"))).entries(registry));
        assertTrue(clash.getMessage().contains("'oracle' is the name of a policy found"), clash.getMessage());
        var twice = assertThrows(IllegalArgumentException.class, () -> tiny(List.of("full"), Map.of(),
                List.of(Variant.parse("x=streaming"), Variant.parse("x=oracle"))));
        assertTrue(twice.getMessage().contains("'x'"), twice.getMessage());
        var listed = assertThrows(IllegalArgumentException.class,
                () -> tiny(List.of("x"), Map.of(), List.of(Variant.parse("x=streaming"))));
        assertTrue(listed.getMessage().contains("'x'"), listed.getMessage());
        // a bad value fails when the policy is created, naming the key
        var value = assertThrows(PolicyConfigException.class, () -> PolicyArena.run(
                tiny(List.of("full"), Map.of(), List.of(Variant.parse("x=streaming:sink=-1"))), registry, ArenaProgress.NONE));
        assertEquals("clusterkv.policy.streaming.sink", value.key());
    }

    @Test
    void twoVariantsOfOnePolicyAreTwoEntriesEverywhere() throws Exception {
        ArenaSpec spec = tiny(List.of("full"), Map.of(),
                List.of(Variant.parse("streaming-s0=streaming:sink=0"), Variant.parse("streaming-s24=streaming:sink=24")));
        ArenaResult r = PolicyArena.run(spec, ArenaSyntheticTest.REGISTRY, ArenaProgress.NONE);
        assertEquals(List.of(), r.failures());
        ArenaResult.Run run = r.runs().getFirst();
        assertEquals(List.of("full", "streaming-s0", "streaming-s24"),
                run.entries().stream().map(ArenaResult.Entry::policy).toList());
        var s0 = run.entry("streaming-s0", 32).orElseThrow().replay().quality();
        var s24 = run.entry("streaming-s24", 32).orElseThrow().replay().quality();
        assertNotEquals(s0.attentionMass().mean(), s24.attentionMass().mean(), "the two configurations select differently");
        assertEquals("streaming", r.setup().basePolicy("streaming-s24"));
        assertEquals("full", r.setup().basePolicy("full"));
        assertEquals(Map.of("sink", "24"), r.setup().overrides().get("streaming-s24"));

        String table = r.toTable();
        assertTrue(table.contains("variant streaming-s24: streaming with sink=24"), table);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("streaming-s24 ")), table);

        String json = ResultsJson.write(r);
        assertEquals(List.of(), ArenaSyntheticTest.validate(json));
        JsonNode policies = JsonMapper.builder().build().readTree(json).get("setup").get("policies");
        assertEquals("streaming-s0", policies.get(1).get("name").asString());
        assertEquals("streaming", policies.get(1).get("policy").asString());
        assertEquals("0", policies.get(1).get("overrides").get("sink").asString());
        assertEquals("full", policies.get(0).get("policy").asString());
        assertTrue(ArenaReport.html(r).contains("variant of"), "the report's footer names a variant's policy");
    }
}

package io.clusterkv.runtime.arena;

import io.clusterkv.runtime.metrics.MetricSummary;
import io.clusterkv.runtime.metrics.QualitySummary;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code results.json}: an {@link ArenaResult} for machines, in the layout of the JSON Schema
 * {@value #SCHEMA_RESOURCE} (draft 2020-12; a class-path resource of the runtime, also in the
 * repository at {@code runtime/arena/src/main/resources/io/clusterkv/runtime/arena/results.schema.json}).
 *
 * <p>Layout, briefly (the schema documents every field): {@code schemaVersion}; {@code setup} (input,
 * model shape, contexts, steps, budgets, entries (policies and variants) with their policy, description and
 * config values, dense layers, residency,
 * selection scope, seed, drive status, command, time, machine); {@code runs}, one per context length, each with the exact
 * perplexity (models) and {@code entries}, one per (policy, budget), holding {@code replay} (each quality
 * metric as count, mean, min, max and standard deviation, select time, KV bytes, and means per layer) and
 * {@code drive} (null when drive mode did not run); {@code failures}. A figure that could not be
 * measured (no evaluations) is {@code null}, never {@code NaN}. The task mode ({@link TaskArena}) writes no
 * runs and one {@code tasks} entry per (task, context, policy, budget): accuracy, instances, correct and
 * the needle depths.
 */
public final class ResultsJson {

    /** The layout's version; bumped on any incompatible change. */
    public static final int SCHEMA_VERSION = 1;

    /** The schema, as a class-path resource of this module. */
    public static final String SCHEMA_RESOURCE = "/io/clusterkv/runtime/arena/results.schema.json";

    private static final JsonMapper MAPPER = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private ResultsJson() {
    }

    /**
     * @param result the result
     * @return its JSON text, indented
     */
    public static String write(ArenaResult result) {
        return MAPPER.writeValueAsString(tree(result));
    }

    /**
     * @param result the result
     * @return its JSON text on one line, for embedding
     */
    public static String writeCompact(ArenaResult result) {
        return MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(tree(result));
    }

    /** @return the JSON Schema of {@code results.json} */
    public static String schema() {
        try (InputStream in = ResultsJson.class.getResourceAsStream(SCHEMA_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + SCHEMA_RESOURCE + " is missing from the runtime jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ObjectNode tree(ArenaResult result) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("schemaVersion", SCHEMA_VERSION);
        root.set("setup", setup(result.setup()));
        ArrayNode runs = root.putArray("runs");
        for (ArenaResult.Run run : result.runs()) {
            ObjectNode r = runs.addObject();
            r.put("context", run.context());
            r.put("steps", run.steps());
            number(r, "seconds", run.seconds());
            number(r, "exactPerplexity", run.exactPerplexity().orElse(Double.NaN));
            ArrayNode entries = r.putArray("entries");
            for (ArenaResult.Entry e : run.entries()) {
                ObjectNode o = entries.addObject();
                o.put("policy", e.policy());
                o.put("budget", e.budget());
                o.set("replay", replay(e.replay()));
                if (e.drive().isPresent()) {
                    DriveFigures d = e.drive().get();
                    ObjectNode dn = o.putObject("drive");
                    number(dn, "perplexity", d.perplexity());
                    number(dn, "perplexityRatio", e.perplexityRatio().orElse(Double.NaN));
                    number(dn, "greedyAgreement", d.greedyAgreement());
                    number(dn, "tokensPerSecond", d.tokensPerSecond());
                    dn.put("bytesMoved", d.bytesMoved());
                    number(dn, "residencyHitRate", d.residencyHitRate());
                } else {
                    o.putNull("drive");
                }
            }
        }
        ArrayNode failures = root.putArray("failures");
        for (ArenaResult.Failure f : result.failures()) {
            ObjectNode o = failures.addObject();
            o.put("context", f.context());
            o.put("policy", f.policy());
            o.put("budget", f.budget());
            o.put("mode", f.mode());
            o.put("message", f.message());
        }
        ArrayNode tasks = root.putArray("tasks");
        for (ArenaResult.TaskEntry t : result.tasks()) {
            ObjectNode o = tasks.addObject();
            o.put("task", t.task());
            o.put("context", t.context());
            o.put("policy", t.policy());
            o.put("budget", t.budget());
            o.put("accuracy", t.accuracy());
            o.put("instances", t.instances());
            o.put("correct", t.correct());
            ArrayNode depths = o.putArray("depths");
            t.depths().forEach(depths::add);
        }
        return root;
    }

    private static ObjectNode setup(ArenaResult.Setup s) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("input", s.input());
        o.put("source", s.source());
        o.put("layers", s.layers());
        o.put("kvHeads", s.kvHeads());
        o.put("groupSize", s.groupSize());
        o.put("headDim", s.headDim());
        o.put("prompt", s.prompt());
        o.put("promptTokens", s.promptTokens());
        ArrayNode contexts = o.putArray("contexts");
        s.contexts().forEach(contexts::add);
        o.put("steps", s.steps());
        ArrayNode budgets = o.putArray("budgets");
        s.budgets().forEach(budgets::add);
        ArrayNode policies = o.putArray("policies");
        for (String p : s.policies()) {
            ObjectNode po = policies.addObject();
            po.put("name", p);
            po.put("policy", s.basePolicy(p));
            po.put("description", s.descriptions().getOrDefault(p, ""));
            ObjectNode ov = po.putObject("overrides");
            s.overrides().getOrDefault(p, Map.of()).entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> ov.put(e.getKey(), e.getValue()));
        }
        o.put("denseLayers", s.denseLayers());
        o.put("maintenanceLag", s.maintenanceLag());
        o.put("residency", s.residency());
        o.put("selectionScope", s.selectionScope().name().toLowerCase(Locale.ROOT));
        o.put("seed", s.seed());
        o.put("drive", s.drive().name().toLowerCase(Locale.ROOT).replace('_', '-'));
        o.put("command", s.command());
        o.put("createdAt", s.createdAt().toString());
        ObjectNode env = o.putObject("environment");
        env.put("java", s.environment().java());
        env.put("vm", s.environment().vm());
        env.put("os", s.environment().os());
        env.put("cores", s.environment().cores());
        env.put("maxHeapMiB", s.environment().maxHeapMiB());
        return o;
    }

    private static ObjectNode replay(ArenaResult.Replay r) {
        ObjectNode o = MAPPER.createObjectNode();
        QualitySummary q = r.quality();
        o.put("evaluations", q.count());
        metric(o, "top10Recall", q.top10Recall());
        metric(o, "topBudgetRecall", q.topBudgetRecall());
        metric(o, "attentionMass", q.attentionMass());
        metric(o, "outputError", q.outputError());
        metric(o, "attended", q.attended());
        number(o, "selectMicrosPerHead", r.selectMicrosPerHead());
        number(o, "kvBytesPerHead", r.kvBytesPerHead());
        ArrayNode layers = o.putArray("layers");
        for (ArenaResult.Layer l : r.layers()) {
            ObjectNode ln = layers.addObject();
            ln.put("layer", l.layer());
            ln.put("dense", l.dense());
            ln.put("evaluations", l.quality().count());
            number(ln, "top10Recall", l.quality().top10Recall().mean());
            number(ln, "topBudgetRecall", l.quality().topBudgetRecall().mean());
            number(ln, "attentionMass", l.quality().attentionMass().mean());
            number(ln, "outputError", l.quality().outputError().mean());
            number(ln, "attended", l.quality().attended().mean());
            number(ln, "selectMicrosPerHead", l.selectMicrosPerHead());
        }
        return o;
    }

    private static void metric(ObjectNode parent, String name, MetricSummary m) {
        ObjectNode o = parent.putObject(name);
        o.put("count", m.count());
        number(o, "mean", m.mean());
        number(o, "min", m.min());
        number(o, "max", m.max());
        number(o, "stdDev", m.stdDev());
    }

    private static void number(ObjectNode o, String name, double v) {
        if (Double.isFinite(v)) {
            o.put(name, v);
        } else {
            o.putNull(name);
        }
    }
}

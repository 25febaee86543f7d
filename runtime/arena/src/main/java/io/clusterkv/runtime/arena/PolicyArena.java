package io.clusterkv.runtime.arena;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.metrics.QualityAccumulator;
import io.clusterkv.runtime.metrics.QualitySummary;
import io.clusterkv.runtime.metrics.SelectionMetrics;
import io.clusterkv.runtime.decode.ReferenceDecoder;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.synthetic.SyntheticWorkload;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import io.clusterkv.runtime.tensor.ComputePool;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import io.clusterkv.runtime.tokenizer.Tokenizers;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.Seeds;
import io.clusterkv.spi.ShardGeometry;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.concurrent.ForkJoinPool;

/**
 * The arena: every policy found competes under the same runtime, on the same inputs, in <b>replay</b>
 * mode. One exact decode drives; at every step every (policy, budget) selects for the same queries over
 * the same keys, and each selection is scored against exact attention (top-10 and top-B recall,
 * attention mass recalled, relative error of the attention output; see
 * {@link io.clusterkv.runtime.metrics.SelectionMetrics}) and its {@code select} call timed. Figures are
 * kept per policy, budget, context length and layer.
 *
 * <p><b>Entries.</b> Every policy found (or those the spec names) competes under its name, and each
 * {@link ArenaSpec.Variant} under its label: the same policy under another configuration, created with
 * its own config section ({@link ArenaSpec#policyOf}, {@link ArenaSpec#overridesOf}) and reported like a
 * policy everywhere.
 *
 * <p><b>Inputs.</b> The synthetic KV workload ({@link ArenaInput.SyntheticKv}: one
 * {@link SyntheticWorkload} per KV head, no model), or a model ({@link ArenaInput.Model}): an exact
 * {@link ReferenceDecoder} (F32 KV) prefills the first {@code c} tokens of a reference sequence for each
 * context length {@code c} and decodes the next {@link ArenaSpec#steps()} with teacher forcing, while an
 * {@link io.clusterkv.runtime.decode.AttentionObserver} hands each shard's queries and keys to that
 * shard's competitors. Each (layer, kvHead) shard has its own policy instance per (policy, budget),
 * created through {@link PolicyRegistry} with the shard's geometry; maintenance runs synchronously (see
 * {@link ArenaSpec#maintenanceLag()}). Policies select in every layer; the first
 * {@link ArenaSpec#denseLayers()} layers, which a session attends exactly, are reported per layer but
 * left out of each entry's summary. The same pass gives the exact model's perplexity over the decoded
 * tokens, the reference of drive mode.
 *
 * <p><b>Drive mode</b> needs the runtime's sessions and comes through the {@link DriveMode} seam: when
 * one is given, the arena calls it for each (context, policy, budget) of a model input after that
 * context's replay; otherwise drive figures are absent ({@link ArenaResult.DriveStatus#NOT_RUN}).
 *
 * <p>Single-threaded but for the model's matrix products, which run on a pool of the machine's cores.
 * A policy that throws becomes an {@link ArenaResult.Failure}; the others go on.
 */
public final class PolicyArena {

    private PolicyArena() {
    }

    /**
     * Runs the arena in replay mode only.
     *
     * @param spec     what to run
     * @param registry where the policies come from
     * @param progress receives progress
     * @return the figures
     * @throws io.clusterkv.runtime.policy.UnknownPolicyException if a policy named in the spec (its policies,
     *                                                            overrides or variants) is not found
     * @throws io.clusterkv.spi.PolicyConfigException            if an override is invalid
     * @throws IllegalArgumentException                          if a variant's label is a policy's name
     * @throws IllegalArgumentException                          if the spec does not fit the input (a
     *                                                            context beyond the model's, a bad token id,
     *                                                            text for a model without a tokenizer, no
     *                                                            sparse layer left), naming what
     * @throws IOException                                       if the model file cannot be read
     */
    public static ArenaResult run(ArenaSpec spec, PolicyRegistry registry, ArenaProgress progress) throws IOException {
        return run(spec, registry, progress, null);
    }

    /**
     * Runs the arena: replay, then drive mode where {@code drive} is given and the input is a model.
     *
     * @param spec     what to run
     * @param registry where the policies come from
     * @param progress receives progress
     * @param drive    the drive mode, or {@code null} for replay only
     * @return the figures
     * @throws io.clusterkv.runtime.policy.UnknownPolicyException as {@link #run(ArenaSpec, PolicyRegistry, ArenaProgress)}
     * @throws io.clusterkv.spi.PolicyConfigException            as {@link #run(ArenaSpec, PolicyRegistry, ArenaProgress)}
     * @throws IllegalArgumentException                          as {@link #run(ArenaSpec, PolicyRegistry, ArenaProgress)}
     * @throws IOException                                       if the model file cannot be read
     */
    public static ArenaResult run(ArenaSpec spec, PolicyRegistry registry, ArenaProgress progress, DriveMode drive)
            throws IOException {
        List<String> names = spec.entries(registry); // checks every policy, label and key named
        Map<String, String> descriptions = new LinkedHashMap<>();
        for (String name : names) {
            descriptions.put(name, registry.provider(spec.policyOf(name)).description());
        }
        return switch (spec.input()) {
            case ArenaInput.SyntheticKv s -> new SyntheticRun(spec, s, registry, names, descriptions, progress).run();
            case ArenaInput.Model m -> new ModelRun(spec, m, registry, names, descriptions, progress, drive).run();
        };
    }

    /** State shared by both inputs: the tallies of the current context and the results so far. */
    private abstract static class Replay {
        final ArenaSpec spec;
        final PolicyRegistry registry;
        final List<String> names;
        final Map<String, String> descriptions;
        final ArenaProgress progress;
        final Set<String> warmed = new HashSet<>();
        List<Integer> contexts;  // resolved: the spec's, or the input's defaults
        List<Integer> budgets;   // resolved
        int denseLayers;         // resolved
        final List<ArenaResult.Run> runs = new ArrayList<>();
        final List<ArenaResult.Failure> failures = new ArrayList<>();
        SelectionMetrics[] metrics = new SelectionMetrics[0];
        long done;
        long total;

        Replay(ArenaSpec spec, PolicyRegistry registry, List<String> names, Map<String, String> descriptions,
                ArenaProgress progress) {
            this.spec = spec;
            this.registry = registry;
            this.names = names;
            this.descriptions = descriptions;
            this.progress = progress;
        }

        SelectionMetrics[] metrics(int heads) {
            if (metrics.length != heads) {
                metrics = new SelectionMetrics[heads];
                for (int h = 0; h < heads; h++) {
                    metrics[h] = new SelectionMetrics();
                }
            }
            return metrics;
        }

        List<ShardReplay.Tally> tallies(int layers) {
            List<ShardReplay.Tally> tallies = new ArrayList<>();
            for (String name : names) {
                for (int budget : budgets) {
                    tallies.add(new ShardReplay.Tally(name, spec.policyOf(name), spec.overridesOf(name), budget, layers));
                }
            }
            return tallies;
        }

        void advance(long units, int context) {
            done += units;
            progress.update(Math.min(done, total), total, "context " + context);
        }

        /** Turns a context's tallies into its run, recording failures; drive figures by tally key. */
        ArenaResult.Run finish(int context, double seconds, List<ShardReplay.Tally> tallies, int headDim, int heads,
                OptionalDouble exactPerplexity, Map<String, DriveFigures> drive) {
            List<ArenaResult.Entry> entries = new ArrayList<>();
            for (ShardReplay.Tally t : tallies) {
                if (t.failure != null) {
                    failures.add(new ArenaResult.Failure(context, t.policy, t.budget, "replay", t.failure));
                    continue;
                }
                QualityAccumulator summary = new QualityAccumulator();
                LongSamples times = new LongSamples();
                List<ArenaResult.Layer> layers = new ArrayList<>();
                for (int l = 0; l < t.quality.length; l++) {
                    boolean dense = l < denseLayers;
                    layers.add(new ArenaResult.Layer(l, dense, t.quality[l].summary(),
                            t.selectNanos[l].median() / 1e3 / heads));
                    if (!dense) {
                        summary.addAll(t.quality[l]);
                        times.addAll(t.selectNanos[l]);
                    }
                }
                QualitySummary q = summary.summary();
                var replay = new ArenaResult.Replay(q, times.median() / 1e3 / heads,
                        q.attended().mean() * 2 * headDim * Float.BYTES, layers);
                Optional<DriveFigures> d = Optional.ofNullable(drive.get(t.key()));
                OptionalDouble ratio = d.isPresent() && exactPerplexity.isPresent()
                        ? OptionalDouble.of(d.get().perplexity() / exactPerplexity.getAsDouble()) : OptionalDouble.empty();
                entries.add(new ArenaResult.Entry(t.policy, t.budget, replay, d, ratio));
            }
            return new ArenaResult.Run(context, spec.steps(), seconds, exactPerplexity, entries);
        }

        ArenaResult result(String input, String source, int layers, int kvHeads, int groupSize, int headDim,
                String prompt, int promptTokens, ArenaResult.DriveStatus driveStatus) {
            Map<String, Map<String, String>> overrides = new LinkedHashMap<>();
            Map<String, String> basePolicies = new LinkedHashMap<>();
            for (String name : names) {
                overrides.put(name, spec.overridesOf(name));
                spec.variant(name).ifPresent(v -> basePolicies.put(name, v.policy()));
            }
            var setup = new ArenaResult.Setup(input, source, layers, kvHeads, groupSize, headDim, prompt, promptTokens,
                    contexts, spec.steps(), budgets, names, descriptions, overrides, denseLayers,
                    spec.maintenanceLag(), spec.residency(), spec.selectionScope(), spec.seed(), driveStatus, "",
                    Instant.now(), ArenaResult.Environment.current(), basePolicies);
            return new ArenaResult(setup, runs, failures);
        }
    }

    /** Replay over the synthetic KV workload: one workload and one shard per KV head. */
    private static final class SyntheticRun extends Replay {
        private final ArenaInput.SyntheticKv input;

        SyntheticRun(ArenaSpec spec, ArenaInput.SyntheticKv input, PolicyRegistry registry, List<String> names,
                Map<String, String> descriptions, ArenaProgress progress) {
            super(spec, registry, names, descriptions, progress);
            this.input = input;
        }

        ArenaResult run() {
            contexts = spec.contexts().isEmpty() ? ArenaSpec.SYNTHETIC_CONTEXTS : spec.contexts();
            budgets = spec.budgets().isEmpty() ? ArenaSpec.SYNTHETIC_BUDGETS : spec.budgets();
            denseLayers = 0;
            WorkloadParams base = input.workload().withSteps(spec.steps());
            for (int c : contexts) {
                base.withPromptLength(c); // validate every context before running any
                total += (long) c * spec.steps() * input.kvHeads();
            }
            int heads = base.queryHeads();
            int d = base.headDim();
            for (int c : contexts) {
                long t0 = System.nanoTime();
                List<ShardReplay.Tally> tallies = tallies(1);
                for (int kvHead = 0; kvHead < input.kvHeads(); kvHead++) {
                    SyntheticWorkload w = SyntheticWorkload.generate(
                            base.withPromptLength(c).withSeed(spec.seed() + kvHead));
                    try (KvShard shard = new KvShard(d, KvFormat.F32)) {
                        w.appendPrompt(shard);
                        KeyView live = shard.keys();
                        var replay = new ShardReplay(new ShardGeometry(0, kvHead, heads, d), w.scale(), tallies, registry,
                                Seeds.forShard(spec.seed(), 0, kvHead), spec.maintenanceLag(), spec.selectionScope());
                        replay.prompt(live);
                        for (int step = 0; step < spec.steps(); step++) {
                            w.appendStep(shard, step);
                            replay.step(step, w.queries(step), live, shard.snapshot(), metrics(heads), warmed);
                            advance(c, c);
                        }
                        replay.close();
                    }
                }
                runs.add(finish(c, (System.nanoTime() - t0) / 1e9, tallies, d, heads, OptionalDouble.empty(), Map.of()));
            }
            String source = String.format(Locale.ROOT,
                    "synthetic KV workload: head dim %d, %d query heads x %d KV heads, seed %d", d, heads,
                    input.kvHeads(), spec.seed());
            return result("synthetic-kv", source, 1, input.kvHeads(), heads, d, "none", 0,
                    ArenaResult.DriveStatus.NOT_APPLICABLE);
        }
    }

    /** Replay over a model: an exact, teacher-forced decode per context length, watched shard by shard. */
    private static final class ModelRun extends Replay {
        private final ArenaInput.Model input;
        private final DriveMode drive;

        ModelRun(ArenaSpec spec, ArenaInput.Model input, PolicyRegistry registry, List<String> names,
                Map<String, String> descriptions, ArenaProgress progress, DriveMode drive) {
            super(spec, registry, names, descriptions, progress);
            this.input = input;
            this.drive = drive;
        }

        ArenaResult run() throws IOException {
            ForkJoinPool pool = new ComputePool(Runtime.getRuntime().availableProcessors(), "arena-compute", ComputePool.DEFAULT_SPIN);
            try (LlamaModel model = Models.load(input.model())) {
                return run(model, pool);
            } finally {
                pool.shutdown();
            }
        }

        private ArenaResult run(LlamaModel model, ForkJoinPool pool) {
            ModelConfig c = model.config();
            denseLayers = spec.denseLayers() == ArenaSpec.DEFAULT_DENSE_LAYERS ? Math.min(2, c.layers() - 1)
                    : spec.denseLayers();
            if (denseLayers >= c.layers()) {
                throw new IllegalArgumentException("dense layers " + denseLayers + " leave no layer of "
                        + input.model() + " (" + c.layers() + " layers) to compare policies on; use at most "
                        + (c.layers() - 1));
            }
            int[] prompt = promptTokens(model);
            int room = c.contextLength() - spec.steps();
            if (!spec.contexts().isEmpty()) {
                contexts = spec.contexts();
            } else if (input.prompt() instanceof ArenaInput.Prompt.Generated) {
                int longest = Math.max(1, Math.min(1024, room));
                contexts = List.copyOf(new java.util.TreeSet<>(List.of(Math.max(1, longest / 4),
                        Math.max(1, longest / 2), longest)));
            } else {
                contexts = List.of(Math.max(1, Math.min(prompt.length, room)));
            }
            int maxContext = contexts.getLast();
            if (spec.budgets().isEmpty()) {
                List<Integer> b = new ArrayList<>();
                for (int budget = 16; budget == 16 || budget / 2 < (maxContext + 3) / 4; budget *= 2) {
                    b.add(budget);
                }
                budgets = List.copyOf(b);
            } else {
                budgets = spec.budgets();
            }
            int needed = maxContext + spec.steps();
            if (needed > c.contextLength()) {
                throw new IllegalArgumentException("context " + maxContext + " + " + spec.steps()
                        + " steps = " + needed + " positions exceed the context length of " + input.model() + ", "
                        + c.contextLength());
            }
            int[] reference = reference(model, pool, prompt, needed);
            int heads = c.groupSize();
            int d = c.headDim();
            for (int ctx : contexts) {
                total += (long) ctx * spec.steps() * c.layers() * c.kvHeads();
            }
            for (int ctx : contexts) {
                long t0 = System.nanoTime();
                List<ShardReplay.Tally> tallies = tallies(c.layers());
                double nll = 0;
                int[] exactArgmax = new int[spec.steps()];
                try (ReferenceDecoder g = ReferenceDecoder.create(model, pool)) {
                    float[] logits = g.prefill(Arrays.copyOf(reference, ctx));
                    ShardReplay[] shards = new ShardReplay[c.layers() * c.kvHeads()];
                    KeyView[] live = new KeyView[shards.length];
                    for (int l = 0; l < c.layers(); l++) {
                        for (int kvh = 0; kvh < c.kvHeads(); kvh++) {
                            int i = l * c.kvHeads() + kvh;
                            live[i] = g.shard(l, kvh).keys();
                            shards[i] = new ShardReplay(new ShardGeometry(l, kvh, heads, d), c.attentionScale(),
                                    c.variant().attentionSoftcap(), tallies, registry, Seeds.forShard(spec.seed(), l, kvh),
                                    spec.maintenanceLag(), spec.selectionScope());
                            shards[i].prompt(live[i]);
                        }
                    }
                    SelectionMetrics[] m = metrics(heads);
                    final int context = ctx;
                    g.observe((layer, kvHead, position, queries, kv) -> {
                        int i = layer * c.kvHeads() + kvHead;
                        shards[i].step(position - context, queries, live[i], kv, m, warmed);
                        advance(context, context);
                    });
                    for (int t = 0; t < spec.steps(); t++) {
                        int token = reference[ctx + t];
                        exactArgmax[t] = Sampler.argmax(logits);
                        nll -= Sampler.logProbability(logits, token);
                        logits = g.next(token);
                    }
                    g.observe(null);
                    for (ShardReplay s : shards) {
                        s.close();
                    }
                }
                OptionalDouble exact = OptionalDouble.of(Math.exp(nll / spec.steps()));
                Map<String, DriveFigures> driven = drive == null ? Map.of()
                        : drive(model, reference, ctx, exactArgmax);
                runs.add(finish(ctx, (System.nanoTime() - t0) / 1e9, tallies, d, heads, exact, driven));
            }
            String source = String.format(Locale.ROOT, "model %s (%s, %d layers, %d heads, %d KV heads, head dim %d)",
                    input.model(), c.architecture(), c.layers(), c.heads(), c.kvHeads(), d);
            String promptKind = switch (input.prompt()) {
                case ArenaInput.Prompt.Text t -> "text";
                case ArenaInput.Prompt.Tokens t -> "tokens";
                case ArenaInput.Prompt.Generated g -> "generated";
            };
            int promptTokens = input.prompt() instanceof ArenaInput.Prompt.Generated ? 0 : prompt.length;
            return result("model", source, c.layers(), c.kvHeads(), heads, d, promptKind, promptTokens,
                    drive == null ? ArenaResult.DriveStatus.NOT_RUN : ArenaResult.DriveStatus.RUN);
        }

        private Map<String, DriveFigures> drive(LlamaModel model, int[] reference, int ctx, int[] exactArgmax) {
            Map<String, DriveFigures> out = new LinkedHashMap<>();
            int[] prompt = Arrays.copyOf(reference, ctx);
            int[] continuation = Arrays.copyOfRange(reference, ctx, ctx + spec.steps());
            for (String name : names) {
                for (int budget : budgets) {
                    progress.update(Math.min(done, total), total, "context " + ctx + ": drive " + name + "@" + budget);
                    try {
                        out.put(name + "@" + budget, drive.drive(new DriveRequest(spec.policyOf(name), budget,
                                spec.overridesOf(name), model, prompt.clone(), continuation.clone(),
                                exactArgmax.clone(), spec.residency(), spec.selectionScope(), denseLayers,
                                spec.seed())));
                    } catch (RuntimeException e) {
                        failures.add(new ArenaResult.Failure(ctx, name, budget, "drive",
                                e.getClass().getSimpleName() + ": " + e.getMessage()));
                    }
                }
            }
            return out;
        }

        private int[] promptTokens(LlamaModel model) {
            int vocab = model.config().vocab();
            int[] ids = switch (input.prompt()) {
                case ArenaInput.Prompt.Text t -> tokenizer(model).orElseThrow(() -> new IllegalArgumentException(
                        "model " + input.model() + " has no tokenizer: give the prompt as token ids")).encode(t.text());
                case ArenaInput.Prompt.Tokens t -> t.ids();
                case ArenaInput.Prompt.Generated g -> new int[] {tokenizer(model)
                        .map(t -> t.bosId().orElse(1)).orElse(1)};
            };
            for (int id : ids) {
                if (id >= vocab) {
                    throw new IllegalArgumentException("prompt token " + id + " is outside the vocabulary of "
                            + input.model() + ", [0, " + vocab + ")");
                }
            }
            if (ids.length == 0) {
                throw new IllegalArgumentException("the prompt gives no tokens");
            }
            return ids;
        }

        private static Optional<Tokenizer> tokenizer(LlamaModel model) {
            return model.gguf().filter(f -> f.metadata().containsKey("tokenizer.ggml.model")).map(Tokenizers::fromGguf);
        }

        /** The prompt, cut or extended greedily by the exact model to {@code length} tokens. */
        private static int[] reference(LlamaModel model, ForkJoinPool pool, int[] prompt, int length) {
            if (prompt.length >= length) {
                return Arrays.copyOf(prompt, length);
            }
            int[] out = Arrays.copyOf(prompt, length);
            try (ReferenceDecoder g = ReferenceDecoder.create(model, pool)) {
                float[] logits = g.prefill(prompt);
                for (int i = prompt.length; i < length; i++) {
                    out[i] = Sampler.argmax(logits);
                    if (i + 1 < length) {
                        logits = g.next(out[i]);
                    }
                }
            }
            return out;
        }
    }
}

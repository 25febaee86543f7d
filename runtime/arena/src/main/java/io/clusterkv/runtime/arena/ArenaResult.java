package io.clusterkv.runtime.arena;

import io.clusterkv.runtime.metrics.QualitySummary;
import io.clusterkv.runtime.policy.SelectionScope;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * What an {@link PolicyArena} run found: the setup, one {@link Run} per context length with one
 * {@link Entry} per (policy, budget), and the policies that failed; or, from the task mode
 * ({@link TaskArena}), one {@link TaskEntry} per (task, context, policy, budget) and no runs.
 * {@link ResultsJson} writes it as {@code results.json} (schema {@value ResultsJson#SCHEMA_RESOURCE}),
 * {@link ArenaReport} as {@code report.html}, {@link #toTable()} as text.
 *
 * @param setup    what was run, resolved (policies found, dense layers, the model's shape)
 * @param runs     one per context length, in increasing order; empty in task mode
 * @param failures (context, policy, budget, mode) combinations that threw; their entries are absent
 * @param tasks    task accuracy, task order, then context, policy and budget order; empty outside task mode
 */
public record ArenaResult(Setup setup, List<Run> runs, List<Failure> failures, List<TaskEntry> tasks) {

    /** @throws NullPointerException if an argument is null */
    public ArenaResult {
        Objects.requireNonNull(setup, "setup");
        runs = List.copyOf(runs);
        failures = List.copyOf(failures);
        tasks = List.copyOf(tasks);
    }

    /**
     * A result without task figures (replay and drive modes).
     *
     * @param setup    what was run
     * @param runs     one per context length
     * @param failures what threw
     */
    public ArenaResult(Setup setup, List<Run> runs, List<Failure> failures) {
        this(setup, runs, failures, List.of());
    }

    /**
     * Task accuracy of one policy at one budget (task mode): how many of the task's seeded instances at
     * one context length it answered correctly. {@code full} (exact attention) runs once per instance
     * whatever the budget, and its figures are repeated at every budget.
     *
     * @param task      the task's name, e.g. {@code passkey}
     * @param context   the context length {@code n}, the instance's tokens before its question
     * @param policy    the policy
     * @param budget    the budget
     * @param instances instances run, {@code >= 1}
     * @param correct   instances whose every answer token was the model's argmax, {@code 0..instances}
     * @param depths    the needle depth of each instance, in instance order
     */
    public record TaskEntry(String task, int context, String policy, int budget, int instances, int correct,
            List<Double> depths) {

        /**
         * @throws IllegalArgumentException if the counts are out of range or the depths are not one per instance
         */
        public TaskEntry {
            Objects.requireNonNull(task, "task");
            Objects.requireNonNull(policy, "policy");
            depths = List.copyOf(depths);
            if (instances < 1 || correct < 0 || correct > instances || depths.size() != instances) {
                throw new IllegalArgumentException("a task entry needs 0 <= correct <= instances, instances >= 1 and "
                        + "one depth per instance; got " + correct + " of " + instances + " with " + depths.size()
                        + " depths");
            }
        }

        /** @return {@code correct / instances} */
        public double accuracy() {
            return (double) correct / instances;
        }
    }

    /** Whether drive mode ran. */
    public enum DriveStatus {
        /** A {@link DriveMode} was given and called for every (context, policy, budget). */
        RUN,
        /** No {@link DriveMode} was given: drive figures are absent. */
        NOT_RUN,
        /** The input has no model (the synthetic KV workload): there is nothing to decode. */
        NOT_APPLICABLE
    }

    /**
     * The setup, resolved.
     *
     * @param input          {@code "synthetic-kv"} or {@code "model"}
     * @param source         what was replayed, in words: the workload's parameters, or the model's name
     * @param layers         layers replayed (1 for the synthetic workload)
     * @param kvHeads        KV heads per layer
     * @param groupSize      query heads per KV head
     * @param headDim        channels per head
     * @param prompt         how the reference tokens began: {@code "text"}, {@code "tokens"},
     *                       {@code "generated"}, {@code "none"} for the synthetic workload, or {@code "task"}
     *                       in task mode (each task instance is its own prompt)
     * @param promptTokens   tokens of the given prompt (0 when generated or synthetic)
     * @param contexts       context lengths
     * @param steps          decode steps per context; in task mode the longest continuation scored
     * @param budgets        budgets
     * @param policies       the entries that competed, in report order: policies by name, variants by label
     * @param descriptions   each entry's one-line description (a variant's: its policy's)
     * @param overrides      each entry's config values (a variant's: its policy's overrides with its own on top)
     * @param denseLayers    layers left out of the summaries (0 for the synthetic workload)
     * @param maintenanceLag steps between maintenance being handed out and applied
     * @param residency      the residency rule given to drive mode
     * @param selectionScope whether each query head selected for itself or a GQA group shared one selection,
     *                       in replay and drive
     * @param seed           the seed
     * @param drive          whether drive mode ran
     * @param command        the command line that produced it, or empty
     * @param createdAt      when the run finished
     * @param environment    the machine
     * @param basePolicies   the policy each variant's label stands for; an entry absent here is a policy
     *                       under its own name ({@link #basePolicy})
     */
    public record Setup(String input, String source, int layers, int kvHeads, int groupSize, int headDim,
            String prompt, int promptTokens, List<Integer> contexts, int steps, List<Integer> budgets,
            List<String> policies, Map<String, String> descriptions, Map<String, Map<String, String>> overrides,
            int denseLayers, int maintenanceLag, String residency, SelectionScope selectionScope, long seed,
            DriveStatus drive, String command, Instant createdAt, Environment environment,
            Map<String, String> basePolicies) {

        /**
         * A setup without variants, as before they existed.
         *
         * @throws NullPointerException if a reference is null
         */
        public Setup(String input, String source, int layers, int kvHeads, int groupSize, int headDim,
                String prompt, int promptTokens, List<Integer> contexts, int steps, List<Integer> budgets,
                List<String> policies, Map<String, String> descriptions, Map<String, Map<String, String>> overrides,
                int denseLayers, int maintenanceLag, String residency, SelectionScope selectionScope, long seed,
                DriveStatus drive, String command, Instant createdAt, Environment environment) {
            this(input, source, layers, kvHeads, groupSize, headDim, prompt, promptTokens, contexts, steps, budgets,
                    policies, descriptions, overrides, denseLayers, maintenanceLag, residency, selectionScope, seed,
                    drive, command, createdAt, environment, Map.of());
        }

        /** @throws NullPointerException if a reference is null */
        public Setup {
            basePolicies = Map.copyOf(basePolicies);
            contexts = List.copyOf(contexts);
            budgets = List.copyOf(budgets);
            policies = List.copyOf(policies);
            descriptions = Map.copyOf(descriptions);
            overrides = Map.copyOf(overrides);
            Objects.requireNonNull(selectionScope, "selectionScope");
            Objects.requireNonNull(drive, "drive");
            Objects.requireNonNull(command, "command");
            Objects.requireNonNull(createdAt, "createdAt");
            Objects.requireNonNull(environment, "environment");
        }

        /**
         * @param v the command line
         * @return a copy with {@link #command()} set
         */
        public Setup withCommand(String v) {
            return new Setup(input, source, layers, kvHeads, groupSize, headDim, prompt, promptTokens, contexts, steps,
                    budgets, policies, descriptions, overrides, denseLayers, maintenanceLag, residency, selectionScope,
                    seed, drive, v, createdAt, environment, basePolicies);
        }

        /**
         * @param entry an entry's label
         * @return the policy it ran: a variant's base policy, else the label itself
         */
        public String basePolicy(String entry) {
            return basePolicies.getOrDefault(entry, entry);
        }
    }

    /**
     * The machine the figures come from.
     *
     * @param java      {@code java.version}
     * @param vm        {@code java.vm.name}
     * @param os        {@code os.name os.arch}
     * @param cores     available processors
     * @param maxHeapMiB maximum heap
     */
    public record Environment(String java, String vm, String os, int cores, long maxHeapMiB) {

        /** @return this JVM's */
        public static Environment current() {
            return new Environment(System.getProperty("java.version"), System.getProperty("java.vm.name"),
                    System.getProperty("os.name") + " " + System.getProperty("os.arch"),
                    Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20);
        }
    }

    /**
     * One context length.
     *
     * @param context         prompt positions before the first decode step
     * @param steps           decode steps replayed
     * @param seconds         wall-clock time of the replay (and drive) of this context
     * @param exactPerplexity for a model: the exact model's perplexity over the {@code steps} teacher-forced
     *                        tokens after the prompt (what drive-mode perplexities are divided by); empty for
     *                        the synthetic workload
     * @param entries         one per (policy, budget) that did not fail, policy order then budget order
     */
    public record Run(int context, int steps, double seconds, OptionalDouble exactPerplexity, List<Entry> entries) {

        /** @throws NullPointerException if a reference is null */
        public Run {
            Objects.requireNonNull(exactPerplexity, "exactPerplexity");
            entries = List.copyOf(entries);
        }

        /**
         * @param policy an entry: a policy name or a variant's label
         * @param budget a budget
         * @return its entry, if it ran and did not fail
         */
        public Optional<Entry> entry(String policy, int budget) {
            return entries.stream().filter(e -> e.policy().equals(policy) && e.budget() == budget).findFirst();
        }
    }

    /**
     * One policy at one budget at one context length.
     *
     * @param policy          the entry: a policy name or a variant's label ({@link Setup#basePolicy})
     * @param budget          the budget
     * @param replay          replay-mode figures
     * @param drive           drive-mode figures, when drive mode ran
     * @param perplexityRatio drive perplexity / exact perplexity, when drive mode ran
     */
    public record Entry(String policy, int budget, Replay replay, Optional<DriveFigures> drive,
            OptionalDouble perplexityRatio) {

        /** @throws NullPointerException if a reference is null */
        public Entry {
            Objects.requireNonNull(policy, "policy");
            Objects.requireNonNull(replay, "replay");
            Objects.requireNonNull(drive, "drive");
            Objects.requireNonNull(perplexityRatio, "perplexityRatio");
        }
    }

    /**
     * Replay-mode figures of one (policy, budget), over every decode step, query head and KV head of the
     * layers not dense.
     *
     * @param quality             selection quality: top-10 and top-B recall, attention mass, output error,
     *                            positions attended (see {@link io.clusterkv.runtime.metrics.SelectionMetrics})
     * @param selectMicrosPerHead median over steps and shards of one {@code select} call's time divided by
     *                            the query heads it served, in microseconds (indicative: a short run;
     *                            {@code ckv bench selection} measures steady state)
     * @param kvBytesPerHead      KV bytes a query head attends per step, the mean positions attended times
     *                            key and value rows of F32: {@code attended · 2 · headDim · 4}
     * @param layers              the same per layer, dense layers included
     */
    public record Replay(QualitySummary quality, double selectMicrosPerHead, double kvBytesPerHead,
            List<Layer> layers) {

        /** @throws NullPointerException if a reference is null */
        public Replay {
            Objects.requireNonNull(quality, "quality");
            layers = List.copyOf(layers);
        }
    }

    /**
     * Replay figures of one layer.
     *
     * @param layer               the layer
     * @param dense               whether it is one of the dense layers (left out of the summary)
     * @param quality             selection quality over its steps, query heads and KV heads
     * @param selectMicrosPerHead median select time per query head there
     */
    public record Layer(int layer, boolean dense, QualitySummary quality, double selectMicrosPerHead) {
    }

    /**
     * A (context, policy, budget) that threw.
     *
     * @param context the context length
     * @param policy  the entry: a policy name or a variant's label
     * @param budget  the budget
     * @param mode    {@code replay}, {@code drive} or {@code task}
     * @param message what it threw
     */
    public record Failure(int context, String policy, int budget, String mode, String message) {
    }

    /**
     * @param context a context length
     * @return its run
     */
    public Optional<Run> run(int context) {
        return runs.stream().filter(r -> r.context() == context).findFirst();
    }

    /**
     * @param v the command line that produced this result
     * @return a copy with {@link Setup#command()} set
     */
    public ArenaResult withCommand(String v) {
        return new ArenaResult(setup.withCommand(v), runs, failures, tasks);
    }

    /** @return a plain-text table: per context, one line per (policy, budget), then the failures */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        Setup s = setup;
        sb.append(s.source()).append(String.format(Locale.ROOT, "%n"));
        sb.append(String.format(Locale.ROOT, "selection scope: %s%n", s.selectionScope() == SelectionScope.GROUP
                ? "group (the " + s.groupSize() + " query heads of a KV head share one selection, made from their mean query)"
                : "head (each query head selects its own positions)"));
        if (s.input().equals("model")) {
            sb.append(String.format(Locale.ROOT,
                    "%d layers (first %d dense: left out of the summary) x %d KV heads x %d query heads, head dim %d%n",
                    s.layers(), s.denseLayers(), s.kvHeads(), s.groupSize(), s.headDim()));
        }
        for (String p : s.policies()) {
            if (!s.basePolicy(p).equals(p)) {
                Map<String, String> values = s.overrides().getOrDefault(p, Map.of());
                sb.append(String.format(Locale.ROOT, "variant %s: %s%s%n", p, s.basePolicy(p), values.isEmpty() ? ""
                        : " with " + values.entrySet().stream().sorted(Map.Entry.comparingByKey())
                                .map(e -> e.getKey() + "=" + e.getValue()).collect(java.util.stream.Collectors.joining(", "))));
            }
        }
        int width = 12; // the policy column: the longest label
        for (String p : s.policies()) {
            width = Math.max(width, p.length());
        }
        String name = "%-" + width + "s";
        boolean drive = s.drive() == DriveStatus.RUN;
        for (Run run : runs) {
            sb.append(String.format(Locale.ROOT, "%ncontext %d + %d steps%s (%.1f s)%n", run.context(), run.steps(),
                    run.exactPerplexity().isPresent()
                            ? String.format(Locale.ROOT, ", exact perplexity %.3f", run.exactPerplexity().getAsDouble()) : "",
                    run.seconds()));
            sb.append(String.format(Locale.ROOT, name + " %7s %7s %7s %7s %8s %9s %11s", "policy", "budget", "top10",
                    "top-B", "mass", "out.err", "attended", "select us/h"));
            if (drive) {
                sb.append(String.format(Locale.ROOT, " %9s %7s %8s %10s %6s", "ppl ratio", "agree", "tok/s", "MiB moved",
                        "hit"));
            }
            sb.append(String.format(Locale.ROOT, "%n"));
            for (Entry e : run.entries()) {
                QualitySummary q = e.replay().quality();
                sb.append(String.format(Locale.ROOT, name + " %7d %7.3f %7.3f %7.3f %8.4f %9.0f %11.1f", e.policy(),
                        e.budget(), q.top10Recall().mean(), q.topBudgetRecall().mean(), q.attentionMass().mean(),
                        q.outputError().mean(), q.attended().mean(), e.replay().selectMicrosPerHead()));
                if (drive) {
                    if (e.drive().isPresent()) {
                        DriveFigures d = e.drive().get();
                        sb.append(String.format(Locale.ROOT, " %9.4f %7.3f %8.1f %10.2f %6s",
                                e.perplexityRatio().orElse(Double.NaN), d.greedyAgreement(), d.tokensPerSecond(),
                                d.bytesMoved() / 1048576.0, Double.isNaN(d.residencyHitRate()) ? "-"
                                        : String.format(Locale.ROOT, "%.3f", d.residencyHitRate())));
                    } else {
                        sb.append(String.format(Locale.ROOT, " %9s", "-"));
                    }
                }
                sb.append(String.format(Locale.ROOT, "%n"));
            }
            for (Failure f : failures) {
                if (f.context() == run.context()) {
                    sb.append(String.format(Locale.ROOT, name + " %7d FAILED (%s): %s%n", f.policy(), f.budget(), f.mode(),
                            f.message()));
                }
            }
        }
        if (s.drive() == DriveStatus.NOT_RUN && !runs.isEmpty()) {
            sb.append(String.format(Locale.ROOT, "%ndrive mode (perplexity, agreement, tokens/s, bytes moved): not run%n"));
        }
        if (!tasks.isEmpty()) {
            appendTasks(sb);
        }
        return sb.toString();
    }

    /** The task accuracy table: a line per (task, context, policy), a column per budget. */
    private void appendTasks(StringBuilder sb) {
        TaskEntry first = tasks.getFirst();
        sb.append(String.format(Locale.ROOT, "%ntask accuracy: the fraction of %d instances per task and context answered "
                + "correctly (every answer token the model's argmax, teacher-forced); needle depths %s%n",
                first.instances(), first.depths().stream().map(d -> String.format(Locale.ROOT, "%.2f", d)).toList()));
        sb.append(String.format(Locale.ROOT, "full (exact attention) runs once per instance and is shown at every budget%n"));
        int width = Math.max(14, tasks.stream().mapToInt(e -> e.policy().length()).max().orElse(0));
        String policyColumn = "%-" + width + "s";
        sb.append(String.format(Locale.ROOT, "%-18s %8s " + policyColumn, "task", "context", "policy"));
        for (int b : setup.budgets()) {
            sb.append(String.format(Locale.ROOT, " %8s", "B=" + b));
        }
        sb.append(String.format(Locale.ROOT, "%n"));
        java.util.Map<List<Object>, java.util.Map<Integer, TaskEntry>> rows = new java.util.LinkedHashMap<>();
        for (TaskEntry e : tasks) {
            rows.computeIfAbsent(List.of(e.task(), e.context(), e.policy()), k -> new java.util.HashMap<>()).put(e.budget(), e);
        }
        rows.forEach((key, byBudget) -> {
            sb.append(String.format(Locale.ROOT, "%-18s %8d " + policyColumn, key.get(0), key.get(1), key.get(2)));
            for (int b : setup.budgets()) {
                TaskEntry e = byBudget.get(b);
                sb.append(e == null ? String.format(Locale.ROOT, " %8s", "-")
                        : String.format(Locale.ROOT, " %8.2f", e.accuracy()));
            }
            sb.append(String.format(Locale.ROOT, "%n"));
        });
        for (Failure f : failures) {
            if (f.mode().equals("task")) {
                sb.append(String.format(Locale.ROOT, "%-14s %7d FAILED at context %d: %s%n", f.policy(), f.budget(),
                        f.context(), f.message()));
            }
        }
    }
}

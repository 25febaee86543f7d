package io.clusterkv.runtime.arena;

import io.clusterkv.runtime.ScoreResult;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.decode.HistoryFill;
import io.clusterkv.runtime.decode.ReferenceDecoder;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.tasks.Task;
import io.clusterkv.runtime.tasks.TaskContextException;
import io.clusterkv.runtime.tasks.TaskInstance;
import io.clusterkv.runtime.tasks.TaskLexicon;
import io.clusterkv.runtime.tasks.TaskVocabularyException;
import io.clusterkv.runtime.tensor.ComputePool;
import io.clusterkv.spi.Seeds;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ForkJoinPool;

/**
 * The arena's task mode: recall quality as task accuracy. Does the model still answer correctly when
 * each query head attends only {@code budget} positions of a long context?
 *
 * <p>For each task, context length {@code n} and seeded instance ({@link TaskSpec}): an exact
 * {@link ReferenceDecoder} (F32 KV) prefills {@code context[0, n - 1)} once; each (layer, kvHead) shard's
 * keys and values become a {@link HistoryFill}. Then for each policy and budget a session of the runtime,
 * configured as drive mode's ({@link SessionDriveMode}: exact-coverage 1, synchronous maintenance, the
 * dense layers, selection scope and seed of the spec, F32 KV), is filled with that history, and
 * {@link Session#score} teacher-forces the last context token and the instance's continuation (the
 * question, then the answer) through the policy's selections. The instance counts as correct when the
 * model's argmax is the answer token at every checked index ({@link TaskInstance#answeredBy}). So the
 * prompt is prefilled exactly except its question, which is decoded through the sparse path token by
 * token, as ClusterKV evaluates. {@code full} (exact attention) runs once per instance whatever the
 * budget; its figures are repeated at every budget.
 *
 * <p>The tasks' words become token ids through the model's {@link TaskLexicon#forModel lexicon}. Every
 * instance is generated before anything runs, so a context too small for a task or too long for the
 * model, or a vocabulary that cannot write the tasks, fails at once with a {@link
 * io.clusterkv.runtime.tasks.TaskException}. A policy that throws on an instance becomes a
 * {@link ArenaResult.Failure} of mode {@code task}, and its entry for that task and context is left out.
 *
 * <p>Results: {@link ArenaResult#tasks()}, no replay runs. The prefill, the big cost at long contexts
 * (quadratic), is shared by every policy and budget of an instance; each session then costs the policy's
 * indexing of the context plus a few dozen decode steps.
 */
public final class TaskArena {

    /** The one policy whose selection ignores the budget: everything, exact attention. */
    static final String FULL = "full";

    private TaskArena() {
    }

    /**
     * Runs the tasks.
     *
     * @param spec     the model ({@link ArenaInput.Model}; its prompt is not used), contexts (empty:
     *                 {@link TaskSpec#DEFAULT_CONTEXT}, less where the model holds fewer tokens), budgets
     *                 (empty: {@link TaskSpec#DEFAULT_BUDGETS}), policies (empty: every one found),
     *                 overrides, dense layers, residency rule, selection scope and seed
     * @param tasks    the tasks, depths and instances
     * @param registry where the policies come from
     * @param progress receives progress
     * @return the figures: {@link ArenaResult#tasks()}
     * @throws io.clusterkv.runtime.policy.UnknownPolicyException if a policy named in the spec or its
     *                                                            overrides is not found
     * @throws io.clusterkv.runtime.tasks.TaskException         if a context does not fit a task or the
     *                                                            model, or the model cannot write the tasks
     * @throws IllegalArgumentException                          if the input is not a model, a maintenance
     *                                                            lag is asked for, or no sparse layer is left
     * @throws IOException                                       if the model file cannot be read
     */
    public static ArenaResult run(ArenaSpec spec, TaskSpec tasks, PolicyRegistry registry, ArenaProgress progress)
            throws IOException {
        if (!(spec.input() instanceof ArenaInput.Model input)) {
            throw new IllegalArgumentException("task mode needs a model (--model); the synthetic KV workload has no tokens");
        }
        if (spec.maintenanceLag() != 0) {
            throw new IllegalArgumentException("task mode runs sessions with synchronous maintenance; a maintenance lag of "
                    + spec.maintenanceLag() + " does not apply");
        }
        List<String> names = spec.entries(registry); // the policies, then the variants; every name and key checked
        Map<String, String> descriptions = new LinkedHashMap<>();
        for (String name : names) {
            descriptions.put(name, registry.provider(resolve(spec, name).policy()).description()); // unknown: lists the names
        }
        ForkJoinPool pool = new ComputePool(Runtime.getRuntime().availableProcessors(), "arena-compute", ComputePool.DEFAULT_SPIN);
        try (LlamaModel model = Models.load(input.model());
             SessionDriveMode sessions = new SessionDriveMode(registry)) {
            return new Run(spec, tasks, input.model(), model, names, descriptions, sessions, pool, progress).run();
        } finally {
            pool.shutdown();
        }
    }

    /**
     * A reported policy entry, resolved to what a session runs.
     *
     * @param entry     the name the results report
     * @param policy    the policy the session runs
     * @param overrides its config section
     */
    private record Competitor(String entry, String policy, Map<String, String> overrides) {
    }

    /** The one place that turns a reported policy entry into (policy, overrides). */
    private static Competitor resolve(ArenaSpec spec, String entry) {
        return new Competitor(entry, spec.policyOf(entry), spec.overridesOf(entry));
    }

    /** One run: the instances, then the prefill and sessions of each. */
    private static final class Run {
        private final ArenaSpec spec;
        private final TaskSpec taskSpec;
        private final String modelName;
        private final LlamaModel model;
        private final ModelConfig c;
        private final List<String> names;
        private final Map<String, String> descriptions;
        private final SessionDriveMode sessions;
        private final ForkJoinPool pool;
        private final ArenaProgress progress;
        private final List<ArenaResult.Failure> failures = new ArrayList<>();
        private long done;
        private long total;

        Run(ArenaSpec spec, TaskSpec taskSpec, String modelName, LlamaModel model, List<String> names,
                Map<String, String> descriptions, SessionDriveMode sessions, ForkJoinPool pool, ArenaProgress progress) {
            this.spec = spec;
            this.taskSpec = taskSpec;
            this.modelName = modelName;
            this.model = model;
            this.c = model.config();
            this.names = names;
            this.descriptions = descriptions;
            this.sessions = sessions;
            this.pool = pool;
            this.progress = progress;
        }

        ArenaResult run() {
            int denseLayers = spec.denseLayers() == ArenaSpec.DEFAULT_DENSE_LAYERS ? Math.min(2, c.layers() - 1)
                    : spec.denseLayers();
            if (denseLayers >= c.layers()) {
                throw new IllegalArgumentException("dense layers " + denseLayers + " leave no layer of " + modelName
                        + " (" + c.layers() + " layers) to compare policies on; use at most " + (c.layers() - 1));
            }
            TaskLexicon lexicon = TaskLexicon.forModel(model);
            List<Integer> contexts = spec.contexts().isEmpty()
                    ? List.of(Math.min(TaskSpec.DEFAULT_CONTEXT, Math.max(2, c.contextLength() - TaskSpec.QUESTION_ROOM)))
                    : spec.contexts();
            List<Integer> budgets = spec.budgets().isEmpty() ? TaskSpec.DEFAULT_BUDGETS : spec.budgets();
            List<Competitor> competitors = names.stream().map(n -> resolve(spec, n)).toList();
            List<Double> depths = taskSpec.instanceDepths();
            // every instance first: a context that does not fit fails before any prefill
            Map<Task, Map<Integer, List<TaskInstance>>> instances = new LinkedHashMap<>();
            int longest = 1;
            for (Task task : taskSpec.tasks()) {
                for (int n : contexts) {
                    List<TaskInstance> list = new ArrayList<>();
                    for (int i = 0; i < depths.size(); i++) {
                        long seed = Seeds.derive(Seeds.derive(Seeds.derive(spec.seed(), task.id().hashCode()), n), i);
                        TaskInstance t = task.generate(lexicon, n, depths.get(i), seed);
                        check(t, lexicon);
                        longest = Math.max(longest, t.continuation().length);
                        list.add(t);
                        total += prefillUnits(n) + (long) sessionsPerInstance(competitors, budgets) * sessionUnits(n);
                    }
                    instances.computeIfAbsent(task, k -> new LinkedHashMap<>()).put(n, list);
                }
            }
            List<ArenaResult.TaskEntry> entries = new ArrayList<>();
            instances.forEach((task, byContext) -> byContext.forEach((n, list) ->
                    entries.addAll(run(task, n, list, competitors, budgets, denseLayers))));
            String source = String.format(Locale.ROOT,
                    "model %s (%s, %d layers, %d heads, %d KV heads, head dim %d); tasks written as %s",
                    modelName, c.architecture(), c.layers(), c.heads(), c.kvHeads(), c.headDim(), lexicon.description());
            var setup = new ArenaResult.Setup("model", source, c.layers(), c.kvHeads(), c.groupSize(), c.headDim(), "task",
                    0, contexts, longest, budgets, names, descriptions, spec.overrides(), denseLayers, 0,
                    spec.residency(), spec.selectionScope(), spec.seed(), ArenaResult.DriveStatus.NOT_RUN, "",
                    Instant.now(), ArenaResult.Environment.current());
            return new ArenaResult(setup, List.of(), failures, entries);
        }

        /** The model can read the instance and hold it with its continuation. */
        private void check(TaskInstance t, TaskLexicon lexicon) {
            int n = t.contextLength();
            int positions = n + t.continuation().length - 1; // the last continuation token is scored, not stored
            if (positions > c.contextLength()) {
                throw new TaskContextException(t.task(), n, "task " + t.task() + " at context " + n + " needs "
                        + positions + " positions with its question and answer; " + modelName + " holds "
                        + c.contextLength());
            }
            for (int[] ids : List.of(t.context(), t.continuation())) {
                for (int id : ids) {
                    if (id < 0 || id >= c.vocab()) {
                        throw new TaskVocabularyException("task " + t.task() + " written as " + lexicon.description()
                                + " uses token " + id + ", outside the vocabulary of " + modelName + ", [0, " + c.vocab() + ")");
                    }
                }
            }
        }

        /** One task at one context: every instance prefilled once, then every competitor's session. */
        private List<ArenaResult.TaskEntry> run(Task task, int n, List<TaskInstance> list, List<Competitor> competitors,
                List<Integer> budgets, int denseLayers) {
            Map<String, int[]> correct = new LinkedHashMap<>();   // entry -> correct count per budget index
            Map<String, boolean[]> failed = new LinkedHashMap<>();
            for (Competitor k : competitors) {
                correct.put(k.entry(), new int[budgets.size()]);
                failed.put(k.entry(), new boolean[budgets.size()]);
            }
            for (int i = 0; i < list.size(); i++) {
                TaskInstance t = list.get(i);
                int[] context = t.context();
                progress.update(Math.min(done, total), total, task + " at " + n + ": prefill " + (i + 1) + "/" + list.size());
                try (ReferenceDecoder exact = ReferenceDecoder.create(model, pool)) {
                    exact.prefill(Arrays.copyOf(context, n - 1));
                    HistoryFill history = new DecoderHistory(exact, n - 1);
                    done += prefillUnits(n);
                    for (Competitor k : competitors) {
                        boolean full = k.policy().equals(FULL);
                        for (int b = 0; b < budgets.size(); b++) {
                            if (failed.get(k.entry())[b] || (full && b > 0)) {
                                continue;
                            }
                            progress.update(Math.min(done, total), total, task + " at " + n + ": instance " + (i + 1)
                                    + "/" + list.size() + ", " + k.entry() + "@" + budgets.get(b));
                            int budget = full ? budgets.getLast() : budgets.get(b);
                            try {
                                if (answered(t, context[n - 1], history, k, budget, denseLayers)) {
                                    correct.get(k.entry())[b]++;
                                }
                            } catch (RuntimeException e) {
                                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                                failed.get(k.entry())[b] = true;
                                failures.add(new ArenaResult.Failure(n, k.entry(), budgets.get(b), "task", task + " instance "
                                        + i + ": " + cause.getClass().getSimpleName() + ": " + cause.getMessage()));
                            }
                            done += sessionUnits(n);
                        }
                    }
                }
            }
            List<Double> depths = list.stream().map(TaskInstance::depth).toList();
            List<ArenaResult.TaskEntry> out = new ArrayList<>();
            for (Competitor k : competitors) {
                boolean full = k.policy().equals(FULL);
                for (int b = 0; b < budgets.size(); b++) {
                    int from = full ? 0 : b; // full ran once, at the first budget's index
                    if (!failed.get(k.entry())[from]) {
                        out.add(new ArenaResult.TaskEntry(task.id(), n, k.entry(), budgets.get(b), list.size(),
                                correct.get(k.entry())[from], depths));
                    }
                }
            }
            return out;
        }

        /** One session of the competitor: is the instance answered? */
        private boolean answered(TaskInstance t, int last, HistoryFill history, Competitor k, int budget, int denseLayers) {
            try (Session session = sessions.open(model, k.policy(), budget, k.overrides(), spec.residency(),
                    spec.selectionScope(), denseLayers, spec.seed())) {
                return t.answeredBy(argmax(session, history, last, t.continuation()));
            }
        }

        private int sessionsPerInstance(List<Competitor> competitors, List<Integer> budgets) {
            return competitors.stream().mapToInt(k -> k.policy().equals(FULL) ? 1 : budgets.size()).sum();
        }

        /** Work of an exact prefill of {@code n} tokens: linear (products) plus quadratic (attention). */
        private static long prefillUnits(int n) {
            return n + (long) n * n / 2048;
        }

        /** Work of a session: the history copied and indexed by the policy, a few dozen decode steps. */
        private static long sessionUnits(int n) {
            return n / 2 + 1;
        }
    }

    /**
     * The protocol on one fresh session: the exact history, then the last context token and the
     * continuation teacher-forced through the session's policy.
     *
     * @param session      a session with nothing in it
     * @param history      the context's keys and values but the last token's
     * @param last         the context's last token
     * @param continuation the question and answer
     * @return {@code (continuation.length)}: the argmax token after each prefix of the continuation
     */
    static int[] argmax(Session session, HistoryFill history, int last, int[] continuation) {
        session.fill(history).join();
        ScoreResult score = session.score(new int[] {last}, continuation).join();
        return score.argmax();
    }

    /**
     * The exact prefill's keys and values as a session's history: each shard of a session receives the
     * first {@code positions} rows of the decoder's shard of the same (layer, kvHead), copied block by
     * block. The decoder must stay open, and not decode, while sessions are filled.
     *
     * @param decoder   the decoder that prefilled
     * @param positions rows to copy
     */
    record DecoderHistory(ReferenceDecoder decoder, int positions) implements HistoryFill {

        private static final int BLOCK = 1024;

        @Override
        public void fill(int layer, int kvHead, KvShard shard) {
            KvShard.View from = decoder.shard(layer, kvHead).snapshot();
            int d = from.headDim();
            float[] keys = new float[BLOCK * d];
            float[] values = new float[BLOCK * d];
            for (int p = 0; p < positions; p += BLOCK) {
                int to = Math.min(positions, p + BLOCK);
                from.copyKeys(p, to, keys, 0);
                from.copyValues(p, to, values, 0);
                shard.appendAll(keys, values, to - p);
            }
        }
    }
}

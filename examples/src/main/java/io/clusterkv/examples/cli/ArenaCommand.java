package io.clusterkv.examples.cli;

import io.clusterkv.runtime.arena.PolicyArena;
import io.clusterkv.runtime.arena.ArenaInput;
import io.clusterkv.runtime.arena.ArenaReport;
import io.clusterkv.runtime.arena.ArenaResult;
import io.clusterkv.runtime.arena.ArenaSpec;
import io.clusterkv.runtime.arena.ArenaSpec.Variant;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import io.clusterkv.runtime.arena.SessionDriveMode;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyConfigException;
import io.clusterkv.runtime.arena.TaskArena;
import io.clusterkv.runtime.arena.TaskSpec;
import io.clusterkv.runtime.tasks.Task;
import io.clusterkv.runtime.tasks.TaskException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ckv arena}: every discovered policy, same runtime, same inputs; a table, results.json and report.html. */
@Command(name = "arena", aliases = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compare every recall policy found on the same inputs: a table, results.json and report.html.",
                "",
                "Every policy found competes: the built-in ones, plugins on the class path, --plugin jars.",
                "Replay mode: one exact decode drives; at every step every policy selects for the same queries",
                "over the same keys; each selection is scored against exact attention (top-10 and top-B recall,",
                "attention mass, relative error of the attention output) and its select() call is timed.",
                "Drive mode, with --model: each policy then decodes on its own through the actor runtime (one",
                "session per policy and budget, teacher-forcing the same continuation): perplexity and its ratio",
                "to exact, greedy agreement with exact, decode tokens/s, bytes moved into the device tier and its",
                "hit rate under --residency. --no-drive skips it.",
                "With grouped-query attention, --selection-scope group makes the query heads of a KV head share one",
                "selection, made from their mean query; every head is scored over it (replay) and attends it (drive).",
                "--variant LABEL=POLICY:KEY=VALUE,... adds a policy under a configuration of its own as one more entry,",
                "reported under LABEL like a policy, so one run compares a policy's settings (ckv policies lists the keys).",
                "Input: the built-in synthetic KV workload (the default, no model), or --model with a prompt.",
                "Task mode, --task with --model: accuracy on long-context tasks (Quest's passkey, RULER's needle-in-a-",
                "haystack and variable tracking) per task, context, policy and budget, instead of replay. Each instance's",
                "context is prefilled exactly once; each policy and budget then decodes its question through a session",
                "and counts when every answer token is the model's argmax. Defaults: 5 instances at depths spread",
                "evenly, context 4096, budgets 256,1024, every policy; full runs once per instance. See docs/TASKS.md.",
                ""},
        footer = {"", "Examples:",
                "  ckv arena                     # synthetic workload at 2k, 8k, 32k; every policy; ckv-out/arena",
                "  ckv arena --context=32768 --steps=32 --budgets=256,512,1024,2048",
                "  ckv arena --model ../shared/models/stories260K.bin    # greedy text from BOS, 3 contexts",
                "  ckv arena --model model.gguf --prompt-file story.txt --context=1024 --steps=64",
                "  ckv arena --model synthetic:tiny --prompt-ids \"1 5 9\" --context=200 --dense-layers=0",
                "  ckv arena --plugin my-policy.jar --policies=my-policy,clusterkv,quest,full",
                "  ckv arena --policies=oracle,streaming --set streaming.sink=16 --out=/tmp/arena",
                "  ckv arena --model ../shared/models/stories260K.bin --selection-scope group --out=/tmp/arena-group",
                "  ckv arena --policies=clusterkv --variant clusterkv-topp=clusterkv:top-p=0.9 \\",
                "            --variant clusterkv-ref=clusterkv:preset=reference --variant quest-topp=quest:top-p=0.9",
                "  ckv arena --model synthetic:retrieval --task passkey,niah-multikey,variable-tracking --context 4096,32768",
                "  ckv arena --model model.gguf --task niah-single --context 8192 --depths 0.1,0.5,0.9 --instances 3",
                "",
                "Exit codes: 0 every policy ran, 1 a policy or the run failed, 2 bad usage."})
final class ArenaCommand implements Callable<Integer> {

    /** Where the report goes when --out is not given, relative to the working directory. */
    static final Path DEFAULT_OUT = Path.of("ckv-out", "arena");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--no-drive", description = "With --model: replay only, no drive mode.")
    boolean noDrive;

    @Option(names = "--model", paramLabel = "PATH", description = "A GGUF file, a llama2.c checkpoint, or synthetic:<shape>[:<type>]. Default: the synthetic KV workload (no model).")
    String model;

    @CommandLine.ArgGroup(exclusive = true)
    PromptOptions prompt;

    static final class PromptOptions {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "Prompt text (needs a model with a tokenizer).")
        String text;

        @Option(names = "--prompt-file", paramLabel = "FILE", description = "Prompt text from a UTF-8 file.")
        Path file;

        @Option(names = "--prompt-ids", paramLabel = "IDS", description = "Prompt token ids, space- or comma-separated, e.g. \"1 5 9\".")
        String ids;
    }

    @Option(names = "--context", split = ",", paramLabel = "N", description = "Context lengths (prompt positions) to replay at, comma-separated. Default: 2048,8192,32768 for the synthetic workload; for a model, the prompt's length, or min(1024, model context - steps) and its half and quarter without a prompt.")
    List<Integer> contexts = List.of();

    @Option(names = "--steps", paramLabel = "N", description = "Decode steps replayed after each context (default: ${DEFAULT-VALUE}).")
    int steps = 32;

    @Option(names = "--budgets", split = ",", paramLabel = "B", description = "Budgets, comma-separated. Default: 128,256,512,1024,2048 for the synthetic workload; powers of two from 16 to a quarter of the longest context for a model.")
    List<Integer> budgets = List.of();

    @Option(names = "--policies", split = ",", paramLabel = "NAME", description = "Policies to run, in report order (default: every one found; see 'ckv policies').")
    List<String> policies = List.of();

    @Option(names = "--set", paramLabel = "POLICY.KEY=VALUE", description = "Override a policy config value, e.g. quest.page-size=32. Repeatable.")
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(names = "--variant", paramLabel = "LABEL=POLICY[:KEY=VALUE,...]", description = "One more entry: POLICY with these config values (on top of its --set ones), reported as LABEL, e.g. clusterkv-topp=clusterkv:top-p=0.9. Repeatable.")
    List<String> variantTexts = new ArrayList<>();

    @Option(names = "--dense-layers", paramLabel = "N", description = "A model's first layers, attended exactly by sessions: scored per layer, left out of the summaries (default: 2, at most layers - 1).")
    Integer denseLayers;

    @Option(names = "--residency", paramLabel = "RULE", description = "Residency rule of the device tier, for drive mode (default: ${DEFAULT-VALUE}).")
    String residency = ArenaSpec.DEFAULT_RESIDENCY;

    @Option(names = "--selection-scope", paramLabel = "head|group", description = "With grouped-query attention: head (each query head selects its own positions) or group (the query heads of a KV head share one selection, from their mean query) (default: ${DEFAULT-VALUE}).")
    String selectionScope = "head";

    @Option(names = "--seed", paramLabel = "S", description = "Seed of the workload and of the policies (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--maintenance-lag", paramLabel = "STEPS", description = "Apply a policy's maintenance results this many steps late (default: ${DEFAULT-VALUE}).")
    int maintenanceLag = 0;

    @Option(names = "--head-dim", paramLabel = "D", description = "Synthetic workload: channels per head (default: 128).")
    Integer headDim;

    @Option(names = "--query-heads", paramLabel = "G", description = "Synthetic workload: query heads per KV head (default: 4).")
    Integer queryHeads;

    @Option(names = "--kv-heads", paramLabel = "H", description = "Synthetic workload: independent KV heads averaged over (default: 2).")
    Integer kvHeads;

    @Option(names = "--out", paramLabel = "DIR", description = "Folder for results.json and report.html (default: ckv-out/arena).")
    Path out = DEFAULT_OUT;

    @Option(names = "--task", split = ",", paramLabel = "TASK", description = "Task mode (needs --model): accuracy on long-context tasks instead of replay: passkey, niah-single, niah-multikey, niah-multivalue, niah-multiquery, variable-tracking. Each instance's context is prefilled exactly once; every policy and budget then answers its question through a session.")
    List<String> tasks = List.of();

    @Option(names = "--depths", split = ",", paramLabel = "D", description = "Task mode: needle depths in [0, 1], --instances instances at each (default: the instances spread evenly, (i + 0.5) / N).")
    List<Double> depths = List.of();

    @Option(names = "--instances", paramLabel = "N", description = "Task mode: seeded instances per task and context (and depth, with --depths) (default: 5).")
    Integer instances;

    @CommandLine.Mixin
    PluginOptions plugins = new PluginOptions();

    @Override
    public Integer call() throws IOException {
        CommandLine cl = spec.commandLine();
        PrintWriter err = cl.getErr();
        ArenaSpec arenaSpec = arenaSpec(cl);
        PolicyRegistry registry = plugins.registry(cl);
        for (String name : arenaSpec.policies()) {
            if (!registry.providers().containsKey(name)) {
                throw new CommandLine.ParameterException(cl, "--policies: unknown policy '" + name + "'; policies found: "
                        + String.join(", ", registry.names()));
            }
        }
        for (String name : arenaSpec.overrides().keySet()) {
            if (!registry.providers().containsKey(name)) {
                throw new CommandLine.ParameterException(cl, "--set: unknown policy '" + name + "'; policies found: "
                        + String.join(", ", registry.names()));
            }
        }
        for (Variant v : arenaSpec.variants()) {
            if (!registry.providers().containsKey(v.policy())) {
                throw new CommandLine.ParameterException(cl, "--variant " + v + ": unknown policy '" + v.policy()
                        + "'; policies found: " + String.join(", ", registry.names()));
            }
        }
        try {
            arenaSpec.entries(registry); // every key declared, no label a policy's name
        } catch (PolicyConfigException e) {
            throw new CommandLine.ParameterException(cl, optionOf(arenaSpec, e.key()) + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--variant: " + e.getMessage());
        }
        TaskSpec taskSpec = taskSpec(cl);
        long t0 = System.nanoTime();
        ArenaResult result;
        try (TerminalProgress progress = TerminalProgress.create()) {
            if (taskSpec != null) {
                try {
                    result = TaskArena.run(arenaSpec, taskSpec, registry, progress);
                } catch (TaskException e) {
                    throw new CommandLine.ParameterException(cl, "--task: " + e.getMessage());
                }
            } else if (noDrive || model == null) {
                result = PolicyArena.run(arenaSpec, registry, progress);
            } else {
                try (SessionDriveMode drive = new SessionDriveMode(registry)) {
                    result = PolicyArena.run(arenaSpec, registry, progress, drive);
                }
            }
        }
        result = result.withCommand("ckv " + String.join(" ", cl.getParseResult().originalArgs()));
        PrintWriter stdout = cl.getOut();
        stdout.print(result.toTable());
        stdout.flush();
        Path report = ArenaReport.write(result, out);
        err.printf("ckv: arena done in %.1f s; results: %s, report: %s%n", (System.nanoTime() - t0) / 1e9,
                out.resolve(ArenaReport.RESULTS_FILE), report);
        err.flush();
        return result.failures().isEmpty() ? 0 : 1;
    }

    private ArenaSpec arenaSpec(CommandLine cl) {
        for (int b : budgets) {
            if (b < 1) {
                throw new CommandLine.ParameterException(cl, "--budgets: every budget must be >= 1, got " + b);
            }
        }
        for (int c : contexts) {
            if (c < 1) {
                throw new CommandLine.ParameterException(cl, "--context: every context length must be >= 1, got " + c);
            }
        }
        Map<String, Map<String, String>> overrides = new LinkedHashMap<>();
        for (var e : settings.entrySet()) {
            int dot = e.getKey().indexOf('.');
            if (dot <= 0 || dot == e.getKey().length() - 1) {
                throw new CommandLine.ParameterException(cl,
                        "--set " + e.getKey() + "=" + e.getValue() + ": expected POLICY.KEY=VALUE, e.g. quest.page-size=32");
            }
            overrides.computeIfAbsent(e.getKey().substring(0, dot), k -> new LinkedHashMap<>())
                    .put(e.getKey().substring(dot + 1), e.getValue());
        }
        List<Variant> variants = new ArrayList<>();
        for (String text : variantTexts) {
            try {
                variants.add(Variant.parse(text));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, "--variant " + e.getMessage());
            }
        }
        SelectionScope scope = selectionScope(cl);
        ArenaInput input;
        if (model == null) {
            if (prompt != null) {
                throw new CommandLine.ParameterException(cl, "a prompt needs --model: the synthetic KV workload has no tokens");
            }
            try {
                WorkloadParams w = WorkloadParams.defaults();
                w = headDim == null ? w : w.withHeadDim(headDim);
                w = queryHeads == null ? w : w.withQueryHeads(queryHeads);
                input = new ArenaInput.SyntheticKv(w, kvHeads == null ? 2 : kvHeads);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage());
            }
        } else {
            if (headDim != null || queryHeads != null || kvHeads != null) {
                throw new CommandLine.ParameterException(cl,
                        "--head-dim, --query-heads and --kv-heads shape the synthetic workload; a model has its own");
            }
            input = new ArenaInput.Model(model, prompt(cl));
        }
        try {
            return new ArenaSpec(input, contexts, steps, budgets, policies, overrides, maintenanceLag,
                    denseLayers == null ? ArenaSpec.DEFAULT_DENSE_LAYERS : denseLayers, residency, scope, seed, variants);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
    }

    /** The option that set a config key: the variant whose own values hold it, else --set. */
    private static String optionOf(ArenaSpec spec, String fullKey) {
        for (Variant v : spec.variants()) {
            for (String key : v.overrides().keySet()) {
                if (fullKey.equals(PolicyConfig.ROOT + v.policy() + "." + key)) {
                    return "--variant " + v;
                }
            }
        }
        return "--set";
    }

    /** The task mode's spec, or {@code null} without --task; usage errors name the option. */
    private TaskSpec taskSpec(CommandLine cl) {
        if (tasks.isEmpty()) {
            if (!depths.isEmpty() || instances != null) {
                throw new CommandLine.ParameterException(cl, "--depths and --instances shape task mode: give --task too");
            }
            return null;
        }
        if (model == null) {
            throw new CommandLine.ParameterException(cl, "--task needs --model: the tasks are token sequences for a model");
        }
        if (prompt != null) {
            throw new CommandLine.ParameterException(cl, "--task makes its own prompts: drop --prompt, --prompt-file or --prompt-ids");
        }
        if (maintenanceLag != 0) {
            throw new CommandLine.ParameterException(cl, "--maintenance-lag " + maintenanceLag
                    + ": task mode runs sessions with synchronous maintenance");
        }
        List<Task> list = new java.util.ArrayList<>();
        for (String name : tasks) {
            try {
                list.add(Task.byId(name));
            } catch (TaskException e) {
                throw new CommandLine.ParameterException(cl, "--task: " + e.getMessage());
            }
        }
        try {
            return new TaskSpec(list, depths, instances == null ? TaskSpec.DEFAULT_INSTANCES : instances);
        } catch (IllegalArgumentException e) { // a depth or count out of range
            throw new CommandLine.ParameterException(cl, (e.getMessage().contains("depth") ? "--depths: "
                    : "--instances: ") + e.getMessage());
        }
    }

    private SelectionScope selectionScope(CommandLine cl) {
        for (SelectionScope s : SelectionScope.values()) {
            if (s.name().equalsIgnoreCase(selectionScope)) {
                return s;
            }
        }
        throw new CommandLine.ParameterException(cl, "--selection-scope: expected head or group, got '"
                + selectionScope + "'");
    }

    private ArenaInput.Prompt prompt(CommandLine cl) {
        if (prompt == null) {
            return new ArenaInput.Prompt.Generated();
        }
        if (prompt.text != null) {
            if (prompt.text.isEmpty()) {
                throw new CommandLine.ParameterException(cl, "--prompt: the text is empty");
            }
            return new ArenaInput.Prompt.Text(prompt.text);
        }
        if (prompt.file != null) {
            String text;
            try {
                byte[] bytes = Files.readAllBytes(prompt.file);
                text = Utf8Text.decode(bytes, prompt.file.toString());
            } catch (Utf8Text.InvalidUtf8Exception e) {
                throw new CommandLine.ParameterException(cl, "--prompt-file " + prompt.file + ": not UTF-8 text ("
                        + e.where() + ")");
            } catch (NoSuchFileException e) {
                throw new CommandLine.ParameterException(cl, "--prompt-file " + prompt.file + ": no such file");
            } catch (IOException e) {
                throw new CommandLine.ParameterException(cl, "--prompt-file " + prompt.file + ": cannot be read ("
                        + (e instanceof AccessDeniedException ? "permission denied" : e.getMessage()) + ")");
            }
            if (text.isEmpty()) {
                throw new CommandLine.ParameterException(cl, "--prompt-file " + prompt.file + ": the file is empty");
            }
            return new ArenaInput.Prompt.Text(text);
        }
        try {
            int[] ids = Arrays.stream(prompt.ids.trim().split("[\\s,]+")).mapToInt(Integer::parseInt).toArray();
            return new ArenaInput.Prompt.Tokens(ids);
        } catch (IllegalArgumentException e) { // NumberFormatException too
            throw new CommandLine.ParameterException(cl,
                    "--prompt-ids: expected token ids >= 0, space- or comma-separated, got '" + prompt.ids + "'");
        }
    }
}

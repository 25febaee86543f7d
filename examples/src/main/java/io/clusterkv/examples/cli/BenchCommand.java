package io.clusterkv.examples.cli;

import io.clusterkv.runtime.bench.AttentionBenchmarkReport;
import io.clusterkv.runtime.bench.DecodeBench;
import io.clusterkv.runtime.bench.DecodeProfile;
import io.clusterkv.runtime.bench.MatvecBenchmark;
import io.clusterkv.runtime.bench.RuntimeBenchmark;
import io.clusterkv.runtime.bench.SelectionCost;
import io.clusterkv.runtime.bench.SoakBench;
import io.clusterkv.runtime.bench.WorkloadStatistics;
import io.clusterkv.runtime.chat.ChatEngine;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.residency.ResidencyRule;
import io.clusterkv.runtime.server.ServeLoad;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ckv bench}: benchmarks (not tests), one subcommand per report of {@code runtime/benchmarks}
 * that {@code docs/BENCHMARKS.md} quotes; {@code ckv bench jmh} runs any of its JMH benchmarks.
 * {@code decode}, {@code prefill} and {@code selection} parse their options here and call the bench
 * classes; the others forward their arguments to a report's {@code main}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmarks. Figures and the machine they were measured on go in docs/BENCHMARKS.md.",
                "JVM options (heap, -Dbench.context=N for 'profile') go in CKV_JAVA_OPTS."},
        subcommands = {BenchCommand.Selection.class, BenchCommand.Attention.class, BenchCommand.Jmh.class,
                BenchCommand.Matvec.class, BenchCommand.Decode.class, BenchCommand.Prefill.class,
                BenchCommand.ActorRuntime.class,
                BenchCommand.Profile.class, BenchCommand.Workload.class, BenchCommand.Soak.class,
                BenchCommand.Serve.class},
        footer = {"", "Examples:", "  ckv bench selection --context=32768 --budgets=256,1024,2048",
                "  ckv bench attention quick ExactAttentionBenchmark",
                "  ckv bench jmh StreamBaselineBenchmark -f 1 -prof gc",
                "  ckv bench decode --context 0,8192,16384 --json decode.json",
                "  ckv bench prefill --tokens 512",
                "  ckv bench soak --seconds 180",
                "  CKV_JAVA_OPTS=-XX:NativeMemoryTracking=summary ckv bench serve --clients 16 --requests 8"})
final class BenchCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code ckv bench selection}. */
    @Command(name = "selection", mixinStandardHelpOptions = true,
            description = {"Time each policy's select() and attention over its selection, as a fraction of exact",
                    "attention over the whole context measured in the same rounds (F32, one thread, one GQA group)."},
            footer = {"", "Example:", "  ckv bench selection --context=32768 --head-dim=128 --budgets=256,1024,2048"})
    static final class Selection implements Callable<Integer> {

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--context", paramLabel = "N", description = "Context positions (default: ${DEFAULT-VALUE}).")
        int context = 32768;

        @Option(names = "--head-dim", paramLabel = "D", description = "Channels per head (default: ${DEFAULT-VALUE}).")
        int headDim = 128;

        @Option(names = "--query-heads", paramLabel = "G", description = "Query heads of the GQA group (default: ${DEFAULT-VALUE}).")
        int queryHeads = 4;

        @Option(names = "--budgets", split = ",", paramLabel = "B", description = "Budgets (default: 256,1024,2048).")
        List<Integer> budgets = List.of(256, 1024, 2048);

        @Option(names = "--policies", split = ",", paramLabel = "NAME", description = "Policies (default: all but full).")
        List<String> policies = List.of();

        @Option(names = "--rounds", description = "Timed rounds per policy (default: ${DEFAULT-VALUE}).")
        int rounds = 41;

        @Option(names = "--warm-up-ms", description = "Untimed warm-up, at least (default: ${DEFAULT-VALUE}); longer while the JIT is still compiling.")
        long warmUpMillis = 3000;

        @CommandLine.Mixin
        PluginOptions plugins = new PluginOptions();

        @Override
        public Integer call() {
            for (int b : budgets) {
                if (b < 1) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--budgets: every budget must be >= 1, got " + b);
                }
            }
            if (rounds < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--rounds must be >= 1, got " + rounds);
            }
            WorkloadParams params;
            try {
                params = WorkloadParams.defaults().withHeadDim(headDim).withQueryHeads(queryHeads).withSteps(1)
                        .withPromptLength(context - 1);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            var result = SelectionCost.run(plugins.registry(spec.commandLine()), policies, params, budgets, warmUpMillis, rounds);
            spec.commandLine().getOut().print(result.toTable());
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    /** {@code ckv bench attention}: {@link AttentionBenchmarkReport}. */
    @Command(name = "attention", mixinStandardHelpOptions = true,
            description = {"The attention kernels' JMH benchmarks as Markdown tables.",
                    "Exact attention of a GQA group, the stream baseline and one head over a selection: medians",
                    "with min and max, each against the stream baseline of the same run. Each benchmark forks a",
                    "JVM; all of them take about 4 minutes."},
            footer = {"", "Examples:", "  ckv bench attention gc", "  ckv bench attention quick SelectionAttentionBenchmark"})
    static final class Attention implements Callable<Integer> {

        @Parameters(paramLabel = "ARG", description = {"quick: short iterations (a smoke run); gc: bytes allocated per",
                "operation; anything else: a regular expression of benchmarks (default: the three classes)."})
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            AttentionBenchmarkReport.main(args.toArray(String[]::new));
            return 0;
        }
    }

    /** {@code ckv bench jmh}: JMH's own command line over the JMH benchmarks of {@code runtime/benchmarks}. */
    @Command(name = "jmh",
            description = {"JMH's own command line over the runtime's JMH benchmarks.",
                    "org.openjdk.jmh.Main with ExactAttentionBenchmark, StreamBaselineBenchmark and",
                    "SelectionAttentionBenchmark: a regular expression, then JMH's options; -l lists them,",
                    "-h prints JMH's help."},
            footer = {"", "Example:", "  ckv bench jmh ExactAttentionBenchmark.exactSingle -p positions=32768 -f 1 -prof gc"})
    static final class Jmh implements Callable<Integer> {

        @CommandLine.Unmatched
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            org.openjdk.jmh.Main.main(args.toArray(String[]::new));
            return 0;
        }
    }

    /** {@code ckv bench matvec}: {@link MatvecBenchmark}. */
    @Command(name = "matvec", mixinStandardHelpOptions = true,
            description = {"Matrix-vector products per weight type against the memory bandwidth.",
                    "A 2048x8192 weight matrix from memory: GB/s of weights on one thread and on all cores, as %",
                    "of a memory-bandwidth baseline of the same run; then matmul with a batch of 32 against 32",
                    "matvec calls."},
            footer = {"", "Example:", "  ckv bench matvec Q8_0 Q4_0"})
    static final class Matvec implements Callable<Integer> {

        @Parameters(paramLabel = "ARG", description = {"quick: fewer repetitions; TYPE: weight types",
                "(default: F32 Q8_0 Q4_0 Q4_K Q6_K)."})
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() {
            MatvecBenchmark.main(args.toArray(String[]::new));
            return 0;
        }
    }

    /** Options {@code bench decode} and {@code bench prefill} share. */
    static final class RunOptions {

        @Option(names = "--model", paramLabel = "MODEL", description = {"A GGUF file, a llama2.c checkpoint, or",
                "synthetic:<shape>[:<type>] (default: ${DEFAULT-VALUE})."})
        String model = "synthetic:llama-1b:q8_0";

        @Option(names = "--policy", split = ",", paramLabel = "NAME", description = "Recall policies, comma-separated (default: full,clusterkv).")
        List<String> policies = List.of("full", "clusterkv");

        @Option(names = "--budget", paramLabel = "B", description = "Positions each query head attends per step (default: ${DEFAULT-VALUE}).")
        int budget = 1024;

        @Option(names = "--kv-format", paramLabel = "FORMAT", description = "KV storage, f16 or f32 (default: the runtime's, clusterkv.runtime.kv-format).")
        String kvFormat;

        @Option(names = "--residency", paramLabel = "RULE", description = {"The device tier's rule: caffeine, lru or last-r",
                "(default: the runtime's, clusterkv.residency.policy)."})
        String residency;

        @Option(names = "--threads", paramLabel = "N", description = "Compute threads (default: the runtime's, all cores).")
        Integer threads;

        @Option(names = "--repetitions", paramLabel = "N", description = "Timed runs per row; the table gives their median, min and max (default: ${DEFAULT-VALUE}).")
        int repetitions = 3;

        @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Any clusterkv.* configuration value, e.g. clusterkv.policy.clusterkv.algorithm=mini-batch; repeatable.")
        Map<String, String> settings = new LinkedHashMap<>();

        @Option(names = "--json", paramLabel = "FILE", description = "Also write the rows as a JSON array of objects.")
        Path json;

        @Option(names = "--baseline-mib", paramLabel = "MIB", description = "Size of the memory-bandwidth read (default: ${DEFAULT-VALUE}).")
        int baselineMib = (int) (DecodeBench.Spec.DEFAULT_BASELINE_BYTES >> 20);

        DecodeBench.Spec spec(CommandLine cl, DecodeBench.Mode mode, List<Integer> contexts, int steps,
                              boolean prefillHistory) {
            String lengths = mode == DecodeBench.Mode.DECODE ? "--context" : "--tokens";
            for (int c : contexts) {
                if (c < (mode == DecodeBench.Mode.DECODE ? 0 : 1)) {
                    throw new CommandLine.ParameterException(cl, lengths + ": every length must be >= "
                            + (mode == DecodeBench.Mode.DECODE ? 0 : 1) + ", got " + c);
                }
            }
            atLeast(cl, "--budget", budget, 1);
            atLeast(cl, "--steps", steps, 1);
            atLeast(cl, "--repetitions", repetitions, 1);
            atLeast(cl, "--baseline-mib", baselineMib, 1);
            if (threads != null) {
                atLeast(cl, "--threads", threads, 1);
            }
            List<String> known = PolicyRegistry.load().names();
            for (String p : policies) {
                if (!known.contains(p)) {
                    throw new CommandLine.ParameterException(cl, "--policy: unknown policy '" + p + "'; policies found: "
                            + String.join(", ", known));
                }
            }
            for (String key : settings.keySet()) {
                if (!key.startsWith("clusterkv.")) {
                    throw new CommandLine.ParameterException(cl, "--set " + key + ": expected a clusterkv.* key, e.g."
                            + " clusterkv.runtime.dense-layers=1");
                }
            }
            if (json != null) {
                Path dir = json.toAbsolutePath().getParent();
                if (dir == null || !Files.isDirectory(dir)) {
                    throw new CommandLine.ParameterException(cl, "--json " + json + ": no such folder " + dir);
                }
            }
            try {
                return new DecodeBench.Spec(model, mode, contexts, policies, budget,
                        Optional.ofNullable(kvFormat).map(f -> oneOf(cl, "--kv-format", KvFormat.class, f)),
                        Optional.ofNullable(residency).map(r -> oneOf(cl, "--residency", ResidencyRule.class, r)),
                        threads == null ? OptionalInt.empty() : OptionalInt.of(threads), steps, repetitions,
                        prefillHistory, settings, (long) baselineMib << 20);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage());
            }
        }

        /** Runs the benchmark: the table on standard output, progress and where the JSON went on standard error. */
        int run(CommandLine cl, DecodeBench.Spec spec) throws IOException {
            PrintWriter err = cl.getErr();
            DecodeBench.Result result;
            try {
                result = DecodeBench.run(spec, line -> {
                    err.println("ckv: " + line);
                    err.flush();
                });
            } catch (DecodeBench.ContextTooLongException e) {
                throw new CommandLine.ParameterException(cl, (spec.mode() == DecodeBench.Mode.DECODE ? "--context: "
                        : "--tokens: ") + e.getMessage());
            }
            PrintWriter out = cl.getOut();
            out.print(result.toTable());
            out.flush();
            if (json != null) {
                result.writeJson(json);
                err.println("ckv: rows written to " + json);
                err.flush();
            }
            return 0;
        }

        private static void atLeast(CommandLine cl, String option, int value, int least) {
            if (value < least) {
                throw new CommandLine.ParameterException(cl, option + " must be >= " + least + ", got " + value);
            }
        }

        private static <E extends Enum<E>> E oneOf(CommandLine cl, String option, Class<E> type, String value) {
            List<String> names = new ArrayList<>();
            for (E e : type.getEnumConstants()) {
                String name = DecodeBench.configName(e);
                if (name.equalsIgnoreCase(value) || e.name().equalsIgnoreCase(value)) {
                    return e;
                }
                names.add(name);
            }
            throw new CommandLine.ParameterException(cl, option + ": expected one of " + String.join(", ", names)
                    + ", got '" + value + "'");
        }
    }

    /** {@code ckv bench decode}: {@link DecodeBench}. */
    @Command(name = "decode", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Decode tokens/s through the runtime, per policy and context length, against the memory bound.",
                    "For each context: a history of that many positions placed without running the model (the",
                    "synthetic workload's keys and values; --prefill: a real prefill of pseudo-random tokens), then,",
                    "per policy, one session: 4 warm-up steps and --repetitions timed runs of --steps greedy steps.",
                    "Per row: tok/s (median, min-max), KV and weight bytes read per token, the memory bandwidth",
                    "measured right before the row, the bound those bytes put on tok/s, the fraction reached, the",
                    "ratio to full at the same context. full ignores the budget: it attends exactly (the reference). The",
                    "machine's CPU flags and JDK head the table. JVM options go in CKV_JAVA_OPTS (-Xmx10g for long",
                    "contexts of synthetic:llama-1b)."},
            footer = {"", "Examples:",
                    "  ckv bench decode --context 0,8192,16384 --json decode.json",
                    "  ckv bench decode --policy full,clusterkv,quest --residency last-r --context 16384",
                    "  ckv bench decode --model ../shared/models/stories260K.bin --context 0,256 --budget 64",
                    "  ckv bench decode --model synthetic:tiny --context 0,64 --budget 16 --steps 2 --repetitions 1"})
    static final class Decode implements Callable<Integer> {

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--context", split = ",", paramLabel = "N", description = "History positions before the timed steps, comma-separated (default: 0).")
        List<Integer> contexts = List.of(0);

        @Option(names = "--steps", paramLabel = "N", description = "Timed decode steps per repetition (default: ${DEFAULT-VALUE}).")
        int steps = 32;

        @Option(names = "--prefill", description = "Reach each context through a real prefill of its tokens instead of placing the history.")
        boolean prefill;

        @CommandLine.Mixin
        RunOptions options = new RunOptions();

        @Override
        public Integer call() throws IOException {
            CommandLine cl = spec.commandLine();
            return options.run(cl, options.spec(cl, DecodeBench.Mode.DECODE, contexts, steps, prefill));
        }
    }

    /** {@code ckv bench prefill}: {@link DecodeBench}. */
    @Command(name = "prefill", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Prompt-processing tokens/s through the runtime (prefill only), per policy and prompt length.",
                    "Per row: a warm-up prefill, then --repetitions prefills of the same pseudo-random prompt, each in",
                    "a fresh session; the same table and JSON as 'ckv bench decode' (tokensPerSecond is prefill",
                    "tokens/s; the weights are read once per 64-token chunk)."},
            footer = {"", "Examples:",
                    "  ckv bench prefill                               # synthetic:llama-1b:q8_0, 512 tokens",
                    "  ckv bench prefill --tokens 128,512,2048 --policy full --json prefill.json"})
    static final class Prefill implements Callable<Integer> {

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--tokens", split = ",", paramLabel = "N", description = "Prompt lengths, comma-separated (default: 512).")
        List<Integer> tokens = List.of(512);

        @CommandLine.Mixin
        RunOptions options = new RunOptions();

        @Override
        public Integer call() throws IOException {
            CommandLine cl = spec.commandLine();
            return options.run(cl, options.spec(cl, DecodeBench.Mode.PREFILL, tokens, 1, false));
        }
    }

    /** {@code ckv bench runtime}: {@link RuntimeBenchmark}. */
    @Command(name = "runtime", mixinStandardHelpOptions = true,
            description = {"The actor runtime's overhead against the direct path (synthetic:llama-1b:q8_0).",
                    "Decode through the actors and on the direct path at 4096 positions, F16, full: tokens/s and",
                    "heap allocated per token. Needs CKV_JAVA_OPTS=-Xmx10g. Decode speed per policy and context:",
                    "'ckv bench decode'."},
            footer = {"", "Example:", "  CKV_JAVA_OPTS=-Xmx10g ckv bench runtime"})
    static final class ActorRuntime implements Callable<Integer> {

        @Override
        public Integer call() throws Exception {
            RuntimeBenchmark.main(new String[0]);
            return 0;
        }
    }

    /** {@code ckv bench serve}: {@link ServeLoad}. */
    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = {"Load test of ckv serve on loopback: --clients concurrent streaming clients x --requests each,",
                    "every response checked for OpenAI's event format; every --cancel-every-th request abandoned after its",
                    "first text. Prints requests/s, tokens/s, time to first token p50/p99, and the idle resources before and",
                    "after (sessions, device tier, native memory with -XX:NativeMemoryTracking=summary, threads).",
                    "Exit 1 if a response was wrong or a session was left open."},
            footer = {"", "Example:", "  CKV_JAVA_OPTS=-XX:NativeMemoryTracking=summary ckv bench serve --clients 16 --requests 8"})
    static final class Serve implements Callable<Integer> {

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--model", paramLabel = "PATH", description = "Model (default: ${DEFAULT-VALUE}).")
        String model = "synthetic:tiny-chat";

        @Option(names = "--clients", paramLabel = "N", description = "Concurrent clients (default: ${DEFAULT-VALUE}).")
        int clients = 16;

        @Option(names = "--requests", paramLabel = "N", description = "Requests per client (default: ${DEFAULT-VALUE}).")
        int requests = 8;

        @Option(names = "--max-tokens", paramLabel = "N", description = "max_tokens per request (default: ${DEFAULT-VALUE}).")
        int maxTokens = 32;

        @Option(names = "--cancel-every", paramLabel = "N", description = "Abandon every N-th request; 0: none (default: ${DEFAULT-VALUE}).")
        int cancelEvery = 10;

        @Option(names = "--max-concurrent", paramLabel = "N", description = "Requests the engine decodes at once (default: ${DEFAULT-VALUE}).")
        int maxConcurrent = ChatEngine.Options.defaults().maxConcurrent();

        @Option(names = "--cached-conversations", paramLabel = "N",
                description = "Idle sessions the engine keeps; 0 (the default) makes idle mean no session, so the off-heap"
                        + " arenas must come back to the byte.")
        int cachedConversations = 0;

        @Override
        public Integer call() throws Exception {
            ServeLoad.Options load;
            ChatEngine.Options limits;
            try {
                load = new ServeLoad.Options(clients, requests, maxTokens, cancelEvery,
                        Duration.ofMinutes(5));
                var d = ChatEngine.Options.defaults();
                limits = new ChatEngine.Options(maxConcurrent, Math.max(d.maxQueued(), clients),
                        cachedConversations, Optional.empty(), OptionalInt.empty());
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            PrintWriter out = spec.commandLine().getOut();
            var result = ServeLoad.bench(model, limits, load, line -> {
                out.println(line);
                out.flush();
            });
            for (String problem : result.report().problems()) {
                out.println("wrong: " + problem);
            }
            var before = result.before();
            var after = result.after();
            boolean leaked = after.uncachedSessions() > 0 || after.active() + after.queued() > 0
                    || (cachedConversations == 0 && before.arenaBytes() >= 0 && after.arenaBytes() != before.arenaBytes());
            if (leaked) {
                out.println("leaked: before " + before + ", after " + after);
            }
            out.flush();
            return result.report().problems().isEmpty() && !leaked ? 0 : 1;
        }
    }

    /** {@code ckv bench profile}: {@link DecodeProfile}. */
    @Command(name = "profile", mixinStandardHelpOptions = true,
            description = {"Where the CPU time of one decode measurement goes (32768 positions, budget 1024).",
                    "CPU time per thread and token, heap per token, and optionally a JFR recording of the timed",
                    "steps. CKV_JAVA_OPTS: -Dbench.context=N."},
            footer = {"", "Example:", "  CKV_JAVA_OPTS=-Xmx10g ckv bench profile f16 clusterkv lru 8 /tmp/decode.jfr"})
    static final class Profile implements Callable<Integer> {

        @Parameters(index = "0", paramLabel = "FORMAT", description = "KV format: f16 or f32.")
        String format;

        @Parameters(index = "1", paramLabel = "POLICY", description = "Policy, e.g. full, clusterkv, quest.")
        String policy;

        @Parameters(index = "2", paramLabel = "RULE", description = "Residency rule: none, caffeine, lru or last-r.")
        String rule;

        @Parameters(index = "3", paramLabel = "STEPS", description = "Timed decode steps.")
        int steps;

        @Parameters(index = "4", arity = "0..1", paramLabel = "JFR", description = "A JFR file for the timed steps.")
        String jfr;

        @Override
        public Integer call() throws Exception {
            List<String> args = new ArrayList<>(List.of(format, policy, rule, Integer.toString(steps)));
            if (jfr != null) {
                args.add(jfr);
            }
            DecodeProfile.main(args.toArray(String[]::new));
            return 0;
        }
    }

    /** {@code ckv bench workload}: {@link WorkloadStatistics}. */
    @Command(name = "workload", mixinStandardHelpOptions = true,
            description = {"The attention statistics of the synthetic workload.",
                    "Averaged over every step and query head (the table in docs/SYNTHETIC_WORKLOAD.md), and its",
                    "generation time."},
            footer = {"", "Example:", "  ckv bench workload 4096 128 seed=7"})
    static final class Workload implements Callable<Integer> {

        @Parameters(index = "0", paramLabel = "PROMPT_LENGTH", description = "Prompt positions.")
        int promptLength;

        @Parameters(index = "1", paramLabel = "HEAD_DIM", description = "Channels per head.")
        int headDim;

        @Parameters(index = "2..*", paramLabel = "FIELD=VALUE",
                description = "Other WorkloadParams components, e.g. seed=7 needleProbability=0.5.")
        List<String> fields = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            List<String> args = new ArrayList<>(List.of(Integer.toString(promptLength), Integer.toString(headDim)));
            args.addAll(fields);
            WorkloadStatistics.main(args.toArray(String[]::new));
            return 0;
        }
    }

    /** {@code ckv bench soak}: {@link SoakBench}. */
    @Command(name = "soak", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Concurrent sessions generating, some closed midway, reopened, for a bounded time; then a leak",
                    "check against the values before: sessions, actors, KV and device-tier bytes, heap after GC,",
                    "the runtime's threads (open, then closed) and direct memory. Every generation must give the",
                    "tokens its policy and prompt give alone. Exit 1 on a leak, a wrong token, a failure or a hang."},
            footer = {"", "Examples:", "  ckv bench soak --seconds 180",
                    "  ckv bench soak --sessions 3 --seconds 5 --policies full,streaming"})
    static final class Soak implements Callable<Integer> {

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        private final SoakBench.Options d = SoakBench.Options.defaults();

        @Option(names = "--model", paramLabel = "MODEL", description = "A model file or synthetic:<shape> (default: ${DEFAULT-VALUE}).")
        String model = d.model();

        @Option(names = "--sessions", paramLabel = "N", description = "Concurrent sessions (default: ${DEFAULT-VALUE}).")
        int sessions = d.sessions();

        @Option(names = "--seconds", paramLabel = "S", description = "How long new rounds start (default: ${DEFAULT-VALUE}).")
        int seconds = d.seconds();

        @Option(names = "--policies", split = ",", paramLabel = "NAME", description = "Policies, taken in turn (default: full,streaming,clusterkv,quest).")
        List<String> policies = d.policies();

        @Option(names = "--budget", paramLabel = "N", description = "The sessions' budget (default: ${DEFAULT-VALUE}).")
        int budget = d.budget();

        @Option(names = "--tokens", paramLabel = "N", description = "Tokens per generation at most (default: ${DEFAULT-VALUE}).")
        int tokens = d.maxTokens();

        @Option(names = "--cancel-fraction", paramLabel = "F", description = "Share of rounds closed midway (default: ${DEFAULT-VALUE}).")
        double cancelFraction = d.cancelFraction();

        @Option(names = "--seed", paramLabel = "N", description = "Picks prompts and cancellations (default: ${DEFAULT-VALUE}).")
        long seed = d.seed();

        @Override
        public Integer call() throws Exception {
            SoakBench.Options o;
            try {
                o = new SoakBench.Options(model, sessions, seconds, policies, budget, tokens, cancelFraction, seed,
                        d.heapSlackBytes(), d.settleSeconds());
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            return SoakBench.run(o, System.out).clean() ? 0 : 1;
        }
    }
}

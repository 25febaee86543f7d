package io.clusterkv.examples.cli;

import io.clusterkv.runtime.bench.AttentionBenchmarkReport;
import io.clusterkv.runtime.bench.DecodeBenchmark;
import io.clusterkv.runtime.bench.DecodeProfile;
import io.clusterkv.runtime.bench.MatvecBenchmark;
import io.clusterkv.runtime.bench.RuntimeBenchmark;
import io.clusterkv.runtime.bench.SelectionCost;
import io.clusterkv.runtime.bench.WorkloadStatistics;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ckv bench}: benchmarks (not tests), one subcommand per report of {@code runtime/benchmarks}
 * that {@code docs/BENCHMARKS.md} quotes; {@code ckv bench jmh} runs any of its JMH benchmarks.
 * Each forwards its arguments to the report's {@code main}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Benchmarks. Figures and the machine they were measured on go in docs/BENCHMARKS.md.",
                "JVM options (heap, -Dbench.context=N) go in CKV_JAVA_OPTS."},
        subcommands = {BenchCommand.Selection.class, BenchCommand.Attention.class, BenchCommand.Jmh.class,
                BenchCommand.Matvec.class, BenchCommand.Decode.class, BenchCommand.ActorRuntime.class,
                BenchCommand.Profile.class, BenchCommand.Workload.class},
        footer = {"", "Examples:", "  ckv bench selection --context=32768 --budgets=256,1024,2048",
                "  ckv bench attention quick ExactAttentionBenchmark",
                "  ckv bench jmh StreamBaselineBenchmark -f 1 -prof gc",
                "  CKV_JAVA_OPTS=-Xmx10g ckv bench runtime long"})
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
            var result = SelectionCost.run(plugins.registry(spec.commandLine(), spec.commandLine().getErr()), policies, params, budgets, warmUpMillis, rounds);
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

    /** {@code ckv bench decode}: {@link DecodeBenchmark}. */
    @Command(name = "decode", mixinStandardHelpOptions = true,
            description = {"Decode and prefill of a 1B-shaped model per weight type, without actors.",
                    "synthetic:llama-1b on all cores: tokens/s, weight bytes streamed as % of a memory-bandwidth",
                    "baseline of the same run, prefill of 512 tokens against decode. F32 needs",
                    "CKV_JAVA_OPTS=-Xmx16g."},
            footer = {"", "Example:", "  ckv bench decode Q8_0 Q4_0"})
    static final class Decode implements Callable<Integer> {

        @Parameters(paramLabel = "TYPE", description = "Weight types (default: Q8_0 Q4_0).")
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() {
            DecodeBenchmark.main(args.toArray(String[]::new));
            return 0;
        }
    }

    /** {@code ckv bench runtime}: {@link RuntimeBenchmark}. */
    @Command(name = "runtime", mixinStandardHelpOptions = true,
            description = {"Decode through the actor runtime (synthetic:llama-1b:q8_0).",
                    "overhead: actors against the direct path at 4096 positions; long: full, clusterkv and quest",
                    "at 32768 positions, budget 1024, F16 and F32, under each residency rule, against the bound",
                    "the bandwidth of the same run puts on tokens/s. CKV_JAVA_OPTS: -Xmx10g, -Dbench.context=N,",
                    "-Dbench.steps=N (long)."},
            footer = {"", "Example:", "  CKV_JAVA_OPTS=-Xmx10g ckv bench runtime overhead"})
    static final class ActorRuntime implements Callable<Integer> {

        @Parameters(paramLabel = "PART", description = "overhead, long (default: both).")
        List<String> args = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            RuntimeBenchmark.main(args.toArray(String[]::new));
            return 0;
        }
    }

    /** {@code ckv bench profile}: {@link DecodeProfile}. */
    @Command(name = "profile", mixinStandardHelpOptions = true,
            description = {"Where the CPU time of one 'ckv bench runtime long' measurement goes.",
                    "CPU time per thread and token, heap per token, and optionally a JFR recording of the timed",
                    "steps. CKV_JAVA_OPTS: -Dbench.context=N."},
            footer = {"", "Example:", "  CKV_JAVA_OPTS=-Xmx10g ckv bench profile f16 clusterkv lru 8 /tmp/decode.jfr"})
    static final class Profile implements Callable<Integer> {

        @Parameters(index = "0", paramLabel = "FORMAT", description = "KV format: f16 or f32.")
        String format;

        @Parameters(index = "1", paramLabel = "POLICY", description = "Policy, e.g. full, clusterkv, quest.")
        String policy;

        @Parameters(index = "2", paramLabel = "RULE", description = "Residency rule: caffeine, lru or last_r.")
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
}

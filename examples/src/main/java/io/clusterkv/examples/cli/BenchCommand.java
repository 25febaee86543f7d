package io.clusterkv.examples.cli;

import io.clusterkv.runtime.bench.SelectionCost;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ckv bench}: benchmarks (not tests). */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks. Figures and the machine they were measured on go in docs/BENCHMARKS.md.",
        subcommands = {BenchCommand.Selection.class},
        footer = {"", "Example:", "  ckv bench selection --context=32768 --budgets=256,1024,2048"})
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
}

package io.clusterkv.examples.cli;

import io.clusterkv.runtime.compare.ComparisonResult;
import io.clusterkv.runtime.compare.ComparisonSpec;
import io.clusterkv.runtime.compare.PolicyComparison;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.synthetic.WorkloadParams;
import java.io.PrintWriter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ckv compare}: every discovered policy over the synthetic KV workload, as a table. */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {"Compare recall policies on the built-in synthetic KV workload (no model needed).",
                "Replay mode: at every decode step every policy selects for the same queries over the same keys;",
                "each selection is scored against exact attention (top-10 and top-B recall, attention mass,",
                "relative error of the attention output) and its select() call is timed."},
        footer = {"", "Examples:", "  ckv compare", "  ckv compare --context=32768 --budgets=256,512,1024,2048",
                "  ckv compare --policies=oracle,streaming --set streaming.sink=16"})
final class CompareCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--context", paramLabel = "N", description = "Prompt positions per KV head (default: ${DEFAULT-VALUE}).")
    int context = ComparisonSpec.defaults().workload().promptLength();

    @Option(names = "--steps", paramLabel = "N", description = "Decode steps measured (default: ${DEFAULT-VALUE}).")
    int steps = ComparisonSpec.defaults().workload().steps();

    @Option(names = "--head-dim", paramLabel = "D", description = "Channels per head (default: ${DEFAULT-VALUE}).")
    int headDim = ComparisonSpec.defaults().workload().headDim();

    @Option(names = "--query-heads", paramLabel = "G", description = "Query heads per KV head (default: ${DEFAULT-VALUE}).")
    int queryHeads = ComparisonSpec.defaults().workload().queryHeads();

    @Option(names = "--kv-heads", paramLabel = "H", description = "Independent KV heads averaged over (default: ${DEFAULT-VALUE}).")
    int kvHeads = ComparisonSpec.defaults().kvHeads();

    @Option(names = "--budgets", split = ",", paramLabel = "B", description = "Budgets, comma-separated (default: 128,256,512,1024).")
    List<Integer> budgets = ComparisonSpec.defaults().budgets();

    @Option(names = "--policies", split = ",", paramLabel = "NAME", description = "Policies to run (default: every one found; see 'ckv policies').")
    List<String> policies = List.of();

    @Option(names = "--seed", description = "Workload seed (default: ${DEFAULT-VALUE}).")
    long seed = ComparisonSpec.defaults().workload().seed();

    @Option(names = "--maintenance-lag", paramLabel = "STEPS", description = "Apply a policy's maintenance results this many steps late (default: ${DEFAULT-VALUE}).")
    int maintenanceLag = 0;

    @Option(names = "--set", paramLabel = "POLICY.KEY=VALUE", description = "Override a policy config value, e.g. quest.page-size=32. Repeatable.")
    Map<String, String> settings = new HashMap<>();

    @Override
    public Integer call() {
        for (int b : budgets) {
            if (b < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--budgets: every budget must be >= 1, got " + b);
            }
        }
        Map<String, Map<String, String>> overrides = new HashMap<>();
        for (var e : settings.entrySet()) {
            int dot = e.getKey().indexOf('.');
            if (dot <= 0 || dot == e.getKey().length() - 1) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--set " + e.getKey() + "=" + e.getValue() + ": expected POLICY.KEY=VALUE, e.g. quest.page-size=32");
            }
            overrides.computeIfAbsent(e.getKey().substring(0, dot), k -> new HashMap<>())
                    .put(e.getKey().substring(dot + 1), e.getValue());
        }
        WorkloadParams params;
        try {
            params = WorkloadParams.defaults().withSeed(seed).withHeadDim(headDim).withQueryHeads(queryHeads)
                    .withSteps(steps).withPromptLength(context);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        ComparisonSpec cs = new ComparisonSpec(params, kvHeads, budgets, policies, overrides, maintenanceLag);
        PrintWriter err = spec.commandLine().getErr();
        PolicyRegistry registry = PolicyRegistry.load();
        for (var problem : registry.problems()) {
            err.println("warning: policy provider failed to load: " + problem);
        }
        long t0 = System.nanoTime();
        boolean tty = System.console() != null;
        ComparisonResult result = PolicyComparison.run(cs, registry, tty ? new Progress(err) : f -> { });
        err.printf("%sdone in %.1f s%n", tty ? "\n" : "", (System.nanoTime() - t0) / 1e9);
        err.flush();
        PrintWriter out = spec.commandLine().getOut();
        out.print(result.toTable());
        out.flush();
        return result.failures().isEmpty() ? 0 : 1;
    }

    /** A one-line progress indicator on standard error, shown only on a terminal. */
    private static final class Progress implements java.util.function.DoubleConsumer {
        private final PrintWriter err;
        private int shown = -1;

        Progress(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void accept(double fraction) {
            int percent = (int) Math.floor(fraction * 100);
            if (percent != shown) {
                shown = percent;
                int bars = percent / 5;
                err.print("\r[" + "#".repeat(bars) + " ".repeat(20 - bars) + "] " + percent + "%");
                err.flush();
            }
        }
    }
}

package io.clusterkv.examples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code ckv}, the ClusterKV command line. Exit codes: 0 success, 1 failure, 2 usage error.
 */
@Command(name = "ckv", mixinStandardHelpOptions = true, version = "ckv 0.1.0",
        description = "ClusterKV runtime: decode with a bounded, recallable KV working set; compare recall policies.",
        subcommands = {CompareCommand.class, GenerateCommand.class, TokenizeCommand.class, InspectCommand.class, PoliciesCommand.class, BenchCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Examples:", "  ckv compare", "  ckv compare --context 8192 --budgets 128,512 --policies oracle,streaming",
                "  ckv policies"})
public final class Ckv implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /**
     * @param args command line
     */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** @return the configured command line, for tests and embedding */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Ckv());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("ckv: " + ex.getMessage());
            if (System.getenv("CKV_DEBUG") != null) {
                ex.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        return cl;
    }
}

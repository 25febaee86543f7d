package io.clusterkv.examples.cli;

import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ckv}, the ClusterKV command line. Exit codes: 0 success, 1 failure, 2 usage error. Errors are
 * one line on standard error, {@code ckv: <what>}, naming the input at fault; {@code --verbose} adds the
 * stack trace.
 */
@Command(name = "ckv", mixinStandardHelpOptions = true, version = "ckv 0.1.0",
        description = "ClusterKV runtime: decode with a bounded, recallable KV working set; compare recall policies in the arena.",
        subcommands = {ArenaCommand.class, GenerateCommand.class, InspectCommand.class, PoliciesCommand.class,
                BenchCommand.class, TokenizeCommand.class, ExportCommand.class, TaskCommand.class, ServeCommand.class,
                CommandLine.HelpCommand.class},
        footer = {"", "Examples:", "  ckv arena                # the main job: every policy on the synthetic workload -> ckv-out/arena",
                "  ckv arena --model ../shared/models/stories260K.bin",
                "  ckv policies --plugin my-policy.jar",
                "  ckv generate --model ../shared/models/stories260K.bin --max-tokens 100 --print-ids",
                "  ckv bench decode --context 0,8192,16384",
                "  ckv export --model synthetic:llama-1b:q8_0 --out llama-1b-q8_0.gguf",
                "  ckv arena --model synthetic:retrieval --task passkey,niah-multikey,variable-tracking --context 4096,32768",
                "  ckv serve --model synthetic:tiny-chat --port 8080   # OpenAI-compatible API on localhost",
                "  ckv help arena", "",
                "Exit codes: 0 success, 1 failure, 2 usage error."})
public final class Ckv implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-v", "--verbose"}, scope = CommandLine.ScopeType.INHERIT,
            description = "On an error, print its stack trace too.")
    boolean verbose;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * @param args command line
     */
    public static void main(String[] args) {
        // SLF4J initialises on first use; when that is an actor system's threads logging at once, it queues
        // their calls and prints "SLF4J(W): ... intercepted and are now being replayed" on standard error,
        // ahead of the command's own output. Initialising it here, on one thread, first, avoids that.
        org.slf4j.LoggerFactory.getILoggerFactory();
        System.exit(commandLine().execute(args));
    }

    /** @return the configured command line, for tests and embedding */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Ckv());
        cl.setUsageHelpWidth(100);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            PrintWriter err = cmd.getErr();
            err.println("ckv: " + describe(ex));
            if (verbose(parsed.originalArgs())) {
                ex.printStackTrace(err);
            }
            err.flush();
            return 1;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine cmd = ex.getCommandLine();
            PrintWriter err = cmd.getErr();
            String message = ex.getMessage().replace(System.lineSeparator(), " ").replace('\n', ' ');
            String suggestions = "";
            if (ex instanceof CommandLine.UnmatchedArgumentException u) {
                List<String> unmatched = u.getUnmatched();
                if (!cmd.getSubcommands().isEmpty() && !unmatched.isEmpty() && !unmatched.getFirst().startsWith("-")) {
                    message = "unknown subcommand '" + unmatched.getFirst() + "'; subcommands: "
                            + String.join(", ", cmd.getSubcommands().keySet());
                }
                if (!u.getSuggestions().isEmpty()) {
                    suggestions = "; did you mean " + String.join(" or ", u.getSuggestions()) + "?";
                }
            }
            err.println("ckv: " + message + suggestions + " (see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
            if (verbose(List.of(args))) {
                ex.printStackTrace(err);
            }
            err.flush();
            return cmd.getCommandSpec().exitCodeOnInvalidInput();
        });
        return cl;
    }

    private static boolean verbose(List<String> args) {
        return args.contains("--verbose") || args.contains("-v");
    }

    /**
     * One line saying what went wrong: the message, or for file errors the file and the reason.
     *
     * @param e the error
     * @return the line
     */
    static String describe(Throwable e) {
        if (e instanceof NoSuchFileException f) {
            return f.getFile() + ": " + (f.getReason() == null ? "no such file" : f.getReason());
        }
        if (e instanceof AccessDeniedException f) {
            return f.getFile() + ": permission denied";
        }
        if (e instanceof FileSystemException f) {
            return f.getMessage();
        }
        String m = e.getMessage();
        return (m == null || m.isBlank() ? e.getClass().getSimpleName() : m).replace('\n', ' ');
    }
}

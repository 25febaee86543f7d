package io.clusterkv.examples.cli;

import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.RecallPolicyProvider;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ckv policies}: lists the policies found on the class path, their descriptions and config keys. */
@Command(name = "policies", mixinStandardHelpOptions = true,
        description = "List the recall policies found on the class path, with their config keys.",
        footer = {"", "Example:", "  ckv policies"})
final class PoliciesCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PolicyRegistry registry = PolicyRegistry.load();
        for (RecallPolicyProvider p : registry.providers().values()) {
            out.printf("%-12s %s%n", p.name(), p.description());
            for (ConfigKey k : p.configKeys()) {
                out.printf("%14s%s%s = %s    # %s%n", "", PolicyConfig.ROOT + p.name() + ".", k.name(), k.defaultValue(),
                        k.description());
            }
        }
        for (PolicyRegistry.ProviderProblem problem : registry.problems()) {
            spec.commandLine().getErr().println("failed to load: " + problem);
        }
        out.flush();
        return registry.problems().isEmpty() ? 0 : 1;
    }
}

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
        description = {"List the recall policies found, with their descriptions and config keys.", "",
                "Policies come from the class path (built-in ones included) and from --plugin jars. Each config",
                "key is shown as clusterkv.policy.<name>.<key> = <default>, with what it controls.", ""},
        footer = {"", "Examples:", "  ckv policies",
                "  ckv policies --plugin examples/custom-policy/target/custom-policy-0.1.0-SNAPSHOT.jar"})
final class PoliciesCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    PluginOptions plugins = new PluginOptions();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PolicyRegistry registry = plugins.registry(spec.commandLine(), spec.commandLine().getErr());
        for (RecallPolicyProvider p : registry.providers().values()) {
            out.printf("%-12s %s%n", p.name(), p.description());
            for (ConfigKey k : p.configKeys()) {
                out.printf("%14s%s%s = %s    # %s%n", "", PolicyConfig.ROOT + p.name() + ".", k.name(), k.defaultValue(),
                        k.description());
            }
        }
        out.flush();
        spec.commandLine().getErr().flush();
        return registry.problems().isEmpty() ? 0 : 1;
    }
}

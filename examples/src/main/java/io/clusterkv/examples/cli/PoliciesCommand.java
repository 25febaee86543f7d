package io.clusterkv.examples.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.spi.ConfigKey;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.RecallPolicyProvider;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ckv policies}: lists the policies found on the class path, their descriptions and config keys. */
@Command(name = "policies", mixinStandardHelpOptions = true,
        description = {"List the recall policies found, with their descriptions and config keys.", "",
                "Policies come from the class path (built-in ones included) and from --plugin jars. Each config",
                "key is shown as clusterkv.policy.<name>.<key> = <default>, with what it controls; then the runtime's",
                "keys every policy works under (the budget, the GQA selection scope). 'ckv arena --variant' compares",
                "a policy under several of these settings in one run.", ""},
        footer = {"", "Examples:", "  ckv policies",
                "  ckv policies --plugin examples/custom-policy/target/custom-policy-0.1.0-SNAPSHOT.jar",
                "  ckv arena --policies=clusterkv --variant clusterkv-topp=clusterkv:top-p=0.9"})
final class PoliciesCommand implements Callable<Integer> {

    /** Runtime keys that shape what every policy does, each with one line; defaults from the runtime's reference.conf. */
    private static final List<Map.Entry<String, String>> RUNTIME_KEYS = List.of(
            Map.entry("clusterkv.runtime.budget", "explicit positions per query head and step: what a policy fills,"
                    + " top-p's cap"),
            Map.entry("clusterkv.runtime.dense-layers", "leading layers attended exactly, whatever the policy"),
            Map.entry("clusterkv.runtime.selection-scope", "with GQA: head (each query head selects) or group (a KV"
                    + " head's query heads share one selection, from their mean query); ckv arena --selection-scope"));

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    PluginOptions plugins = new PluginOptions();

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PolicyRegistry registry = plugins.registryForListing(spec.commandLine(), spec.commandLine().getErr());
        for (RecallPolicyProvider p : registry.providers().values()) {
            out.printf("%-12s %s%n", p.name(), p.description());
            for (ConfigKey k : p.configKeys()) {
                out.printf("%14s%s%s = %s    # %s%n", "", PolicyConfig.ROOT + p.name() + ".", k.name(), k.defaultValue(),
                        k.description());
            }
        }
        out.printf("%nruntime keys every policy works under:%n");
        Config reference = ConfigFactory.defaultReference();
        for (Map.Entry<String, String> key : RUNTIME_KEYS) {
            out.printf("%14s%s = %s    # %s%n", "", key.getKey(), reference.getValue(key.getKey()).unwrapped(),
                    key.getValue());
        }
        out.flush();
        spec.commandLine().getErr().flush();
        return registry.problems().isEmpty() ? 0 : 1;
    }
}

package io.clusterkv.examples.cli;

import io.clusterkv.runtime.policy.PolicyRegistry;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * {@code --plugin JAR|DIR}: policy plugins loaded beside the built-in ones, each jar (or every jar of a
 * folder) through one class loader whose parent is the command line's, so the plugins see the SPI the
 * runtime uses. Providers are found by {@link java.util.ServiceLoader} as on the class path.
 */
final class PluginOptions {

    @Option(names = "--plugin", paramLabel = "JAR|DIR",
            description = "A recall-policy plugin jar, or a folder of them, to load beside the built-in policies. Repeatable.")
    List<Path> plugins = new ArrayList<>();

    /**
     * The policies a command runs with. A provider that fails to load (its class missing, its constructor
     * throwing) stops the command before it runs anything: running on without the policy a user asked to load
     * would compare fewer policies than asked, silently. {@code ckv policies} lists what did load, with the
     * problems ({@link #registryForListing}), and fails too.
     *
     * @param cl the command, for usage errors
     * @return the policies found on the class path and in the plugins
     * @throws CommandLine.ParameterException if a plugin path does not exist, is not a jar, or is a folder without
     *                                        one, or if a policy provider failed to load
     */
    PolicyRegistry registry(CommandLine cl) {
        PolicyRegistry registry = load(cl);
        List<PolicyRegistry.ProviderProblem> problems = registry.problems();
        if (!problems.isEmpty()) {
            throw new CommandLine.ParameterException(cl, "policy provider failed to load: " + problems.getFirst()
                    + (problems.size() > 1 ? " (and " + (problems.size() - 1) + " more)" : "")
                    + "; 'ckv policies" + pluginArguments() + "' lists the policies that load and every problem");
        }
        return registry;
    }

    /**
     * The policies for {@code ckv policies}: what loaded, with each provider that failed to load reported as a
     * warning (the command then exits non-zero).
     *
     * @param cl  the command, for usage errors
     * @param err where the problems go
     * @return the policies found on the class path and in the plugins
     * @throws CommandLine.ParameterException if a plugin path does not exist, is not a jar, or is a folder without one
     */
    PolicyRegistry registryForListing(CommandLine cl, PrintWriter err) {
        PolicyRegistry registry = load(cl);
        for (var problem : registry.problems()) {
            err.println("ckv: policy provider failed to load: " + problem);
        }
        return registry;
    }

    private PolicyRegistry load(CommandLine cl) {
        return plugins.isEmpty() ? PolicyRegistry.load()
                : PolicyRegistry.load(new URLClassLoader("ckv-plugins", urls(cl), Ckv.class.getClassLoader()));
    }

    private String pluginArguments() {
        StringBuilder b = new StringBuilder();
        for (Path p : plugins) {
            b.append(" --plugin ").append(p);
        }
        return b.toString();
    }

    private URL[] urls(CommandLine cl) {
        List<URL> urls = new ArrayList<>();
        for (Path p : plugins) {
            if (Files.isDirectory(p)) {
                List<Path> jars;
                try (Stream<Path> s = Files.list(p)) {
                    jars = s.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().toList();
                } catch (IOException e) {
                    throw new CommandLine.ParameterException(cl, "--plugin " + p + ": cannot list the folder (" + e + ")");
                }
                if (jars.isEmpty()) {
                    throw new CommandLine.ParameterException(cl, "--plugin " + p + ": no .jar in this folder");
                }
                for (Path jar : jars) {
                    urls.add(url(jar));
                }
            } else if (Files.isReadable(p)) {
                if (!isJar(p)) {
                    throw new CommandLine.ParameterException(cl, "--plugin " + p
                            + ": not a jar (a jar is a zip file, starting with 'PK'); give a plugin jar or a folder of them");
                }
                urls.add(url(p));
            } else {
                throw new CommandLine.ParameterException(cl, "--plugin " + p + ": no such jar or folder");
            }
        }
        return urls.toArray(URL[]::new);
    }

    /** @return whether the file starts as a zip file does (a jar is one): ignoring another file would load nothing silently */
    private static boolean isJar(Path p) {
        try (var in = Files.newInputStream(p)) {
            byte[] b = in.readNBytes(4);
            return b.length == 4 && b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4;
        } catch (IOException e) {
            return false;
        }
    }

    private static URL url(Path p) {
        try {
            return p.toAbsolutePath().toUri().toURL();
        } catch (MalformedURLException e) {
            throw new IllegalStateException(e);
        }
    }
}

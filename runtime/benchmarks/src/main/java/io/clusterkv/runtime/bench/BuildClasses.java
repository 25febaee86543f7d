package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.spi.RecallPolicyProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * The compiled classes of another build of this repository (a checkout after {@code test-compile}),
 * for the tools that measure several builds in one JVM ({@link BuildComparison},
 * {@link ExactAttentionBuildComparison}, {@link SelectionBuildComparison}).
 *
 * <p>Both layouts load: before the runtime was split into modules (classes in
 * {@code runtime/target/classes} and {@code runtime/target/test-classes}) and after it
 * ({@code runtime/model}, {@code runtime/engine}, {@code runtime/benchmarks}). A class that moved in
 * the split is looked up under each of its names ({@link #DECODE_BENCHMARK}, {@link #REFERENCE_BLOCKS}).
 */
final class BuildClasses {

    /** Class directories of a build, relative to its checkout; those that exist are loaded. */
    private static final List<String> DIRECTORIES = List.of(
            "policies-spi/target/classes",
            "runtime/model/target/classes",
            "runtime/model/target/test-classes",
            "runtime/engine/target/classes",
            "runtime/benchmarks/target/classes",
            "runtime/target/classes",         // before the split
            "runtime/target/test-classes");   // before the split

    /** {@code DecodeBenchmark}: its name after the split, then before it. */
    static final List<String> DECODE_BENCHMARK = List.of("io.clusterkv.runtime.bench.DecodeBenchmark",
            "io.clusterkv.runtime.model.DecodeBenchmark");

    /** {@code ReferenceBlocks} (random quantized rows): its name after the split, then before it. */
    static final List<String> REFERENCE_BLOCKS = List.of("io.clusterkv.runtime.model.fixtures.ReferenceBlocks",
            "io.clusterkv.runtime.tensor.ReferenceBlocks");

    private BuildClasses() {
    }

    /**
     * The runtime classes of one build, apart from this JVM's own: every {@code io.clusterkv} class comes from the
     * build's directories or not at all, so nothing of this class path's runtime leaks in; the libraries it uses
     * (Jackson, Pekko, ...) come from this JVM's class path.
     *
     * @param checkout the build's checkout
     * @return its loader
     * @throws IllegalArgumentException if the checkout has none of the class directories (not compiled)
     */
    static ClassLoader loader(String checkout) {
        Path root = Path.of(checkout);
        List<URL> urls = new ArrayList<>();
        for (String d : DIRECTORIES) {
            if (Files.isDirectory(root.resolve(d))) {
                urls.add(url(root.resolve(d)));
            }
        }
        if (urls.size() < 2) {
            throw new IllegalArgumentException("no compiled runtime under " + root.toAbsolutePath()
                    + ": expected " + DIRECTORIES + " (run ./mvnw -o -q test-compile there)");
        }
        return new OwnFirst("build " + checkout, urls.toArray(URL[]::new), BuildClasses.class.getClassLoader(),
                "io.clusterkv.", false);
    }

    /**
     * @param names the class's names, in the order to try
     * @return the first of {@code names} the build has
     * @throws ClassNotFoundException if it has none of them
     */
    static Class<?> load(ClassLoader build, List<String> names) throws ClassNotFoundException {
        for (String name : names) {
            try {
                return build.loadClass(name);
            } catch (ClassNotFoundException e) {
                // the next name
            }
        }
        throw new ClassNotFoundException("none of " + names + " in " + build.getName());
    }

    /**
     * The recall policies of one build: its {@code policy-*}{@code /target/classes}, loaded before the
     * same classes of this JVM's class path (which holds the current policies when it is {@code ckv.jar}),
     * against this JVM's SPI and runtime. Only the build's own providers are kept.
     *
     * @param checkout the build's checkout
     * @return its policies
     * @throws IllegalArgumentException if it has no compiled policy module
     */
    static PolicyRegistry policies(Path checkout) {
        List<URL> urls = new ArrayList<>();
        try (var modules = Files.list(checkout)) {
            for (Path m : modules.filter(p -> p.getFileName().toString().startsWith("policy-")).sorted().toList()) {
                Path classes = m.resolve("target/classes");
                if (Files.isDirectory(classes)) {
                    urls.add(url(classes));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (urls.isEmpty()) {
            throw new IllegalArgumentException("no policy-*/target/classes under " + checkout.toAbsolutePath());
        }
        ClassLoader loader = new OwnFirst("build " + checkout, urls.toArray(URL[]::new),
                BuildClasses.class.getClassLoader(), "io.clusterkv.policy.", true);
        return PolicyRegistry.of(ServiceLoader.load(RecallPolicyProvider.class, loader).stream()
                .filter(p -> p.type().getClassLoader() == loader).map(ServiceLoader.Provider::get).toList());
    }

    private static URL url(Path p) {
        try {
            return p.toUri().toURL();
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException(p.toString(), e);
        }
    }

    /**
     * Loads the classes under a package prefix from its own directories first (and, unless {@code fallBack}, only
     * from there), everything else from its parent.
     */
    private static final class OwnFirst extends URLClassLoader {
        private final String prefix;
        private final boolean fallBack;

        OwnFirst(String name, URL[] urls, ClassLoader parent, String prefix, boolean fallBack) {
            super(name, urls, parent);
            this.prefix = prefix;
            this.fallBack = fallBack;
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.startsWith(prefix)) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    try {
                        c = findClass(name);
                    } catch (ClassNotFoundException e) {
                        if (!fallBack) {
                            throw e;
                        }
                        return super.loadClass(name, resolve);
                    }
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }
    }
}

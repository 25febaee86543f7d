package io.clusterkv.runtime.policy;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.clusterkv.runtime.model.fixtures.FuzzInputs;
import io.clusterkv.spi.RecallPolicyProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Timeout;

/**
 * Fuzz targets of the plugin loader, {@link PolicyRegistry#load(ClassLoader)} over a class loader of one
 * plugin jar, as {@code ckv --plugin} builds it: any bytes as the jar, and any text as the provider file
 * ({@code META-INF/services/io.clusterkv.spi.RecallPolicyProvider}) of a valid jar. Property: a registry
 * that still holds the built-in policies, with each provider that failed reported as a
 * {@link PolicyRegistry.ProviderProblem}, or a {@link DuplicatePolicyException}; never another exception
 * or an {@link Error} escaping discovery. Each input within 5 seconds and {@link FuzzInputs}' memory
 * bound. Corpus: {@code src/test/resources/io/clusterkv/runtime/policy/PluginJarFuzzTestInputs/}.
 */
class PluginJarFuzzTest {

    private static final String SERVICES = "META-INF/services/" + RecallPolicyProvider.class.getName();

    /** Any bytes as a plugin jar. */
    @FuzzTest(maxDuration = "30s")
    @Timeout(value = 5, unit = TimeUnit.SECONDS)
    void jarBytes(byte[] bytes) throws Exception {
        load(bytes);
    }

    /** A valid jar whose provider file holds any text (class names, comments, blanks, garbage). */
    @FuzzTest(maxDuration = "30s")
    @Timeout(value = 5, unit = TimeUnit.SECONDS)
    void providerFile(FuzzedDataProvider data) throws Exception {
        byte[] services = data.consumeRemainingAsBytes();
        ByteArrayOutputStream jar = new ByteArrayOutputStream();
        try (JarOutputStream out = new JarOutputStream(jar)) {
            out.putNextEntry(new JarEntry(SERVICES));
            out.write(services);
            out.closeEntry();
        }
        load(jar.toByteArray());
    }

    private static void load(byte[] jarBytes) throws Exception {
        Path jar = FuzzInputs.write("plugin.jar", jarBytes); // one name: the previous loader closed its jar
        try {
            FuzzInputs.boundedAllocation(jarBytes.length, () -> {
                discover(jar);
                return null;
            });
        } finally {
            Files.deleteIfExists(jar);
        }
    }

    private static void discover(Path jar) throws IOException {
        try (URLClassLoader loader = new URLClassLoader("fuzz-plugin", new URL[] {jar.toUri().toURL()},
                PluginJarFuzzTest.class.getClassLoader())) {
            PolicyRegistry registry;
            try {
                registry = PolicyRegistry.load(loader);
            } catch (DuplicatePolicyException expected) {
                return;
            }
            assertTrue(registry.names().containsAll(List.of("full", "streaming", "oracle")), registry.names().toString());
            for (PolicyRegistry.ProviderProblem p : registry.problems()) {
                assertNotNull(p.providerClass());
                assertNotNull(p.message());
            }
        }
    }
}

package io.clusterkv.runtime.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.PolicyConfigException;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.ShardGeometry;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyRegistryTest {

    /** A provider whose constructor throws, as a plugin with a broken static initialiser would. */
    public static final class BrokenProvider implements RecallPolicyProvider {
        public BrokenProvider() {
            throw new IllegalStateException("cannot start");
        }

        @Override public String name() { return "broken"; }
        @Override public String description() { return "never loads"; }
        @Override public RecallPolicy create(PolicyContext context) { throw new AssertionError(); }
    }

    /** A second provider calling itself {@code full}. */
    public static final class AnotherFull implements RecallPolicyProvider {
        @Override public String name() { return "full"; }
        @Override public String description() { return "impostor"; }
        @Override public RecallPolicy create(PolicyContext context) { throw new AssertionError(); }
    }

    /** A provider whose create fails. */
    public static final class FailingCreate implements RecallPolicyProvider {
        @Override public String name() { return "failing"; }
        @Override public String description() { return "create throws"; }
        @Override public RecallPolicy create(PolicyContext context) { throw new UnsupportedOperationException("no GPU"); }
    }

    private static ClassLoader withServices(Path dir, String... providerClasses) throws IOException {
        Path services = dir.resolve("META-INF/services");
        Files.createDirectories(services);
        Files.writeString(services.resolve(RecallPolicyProvider.class.getName()), String.join("\n", providerClasses) + "\n");
        return new URLClassLoader(new URL[] {dir.toUri().toURL()}, PolicyRegistryTest.class.getClassLoader());
    }

    @Test
    void findsTheBuiltInBaselines() {
        PolicyRegistry r = PolicyRegistry.load();
        assertTrue(r.names().containsAll(List.of("full", "streaming", "oracle")), r.names().toString());
        assertTrue(r.problems().isEmpty(), r.problems().toString());
    }

    @Test
    void unknownNameListsTheOnesFound() {
        UnknownPolicyException e = assertThrows(UnknownPolicyException.class, () -> PolicyRegistry.load().provider("qeust"));
        assertEquals("qeust", e.name());
        assertTrue(e.getMessage().contains("'qeust'") && e.getMessage().contains("oracle") && e.getMessage().contains("full"),
                e.getMessage());
    }

    @Test
    void providerThatFailsToLoadIsReportedWithItsClass(@TempDir Path dir) throws IOException {
        PolicyRegistry r = PolicyRegistry.load(withServices(dir, BrokenProvider.class.getName(), "com.example.Missing"));
        assertTrue(r.names().contains("full"), "the others still load");
        assertEquals(2, r.problems().size(), r.problems().toString());
        assertEquals(BrokenProvider.class.getName(), r.problems().get(0).providerClass());
        assertTrue(r.problems().get(0).message().contains("cannot start"), r.problems().get(0).message());
        assertEquals("com.example.Missing", r.problems().get(1).providerClass());
        UnknownPolicyException e = assertThrows(UnknownPolicyException.class, () -> r.provider("broken"));
        assertTrue(e.getMessage().contains(BrokenProvider.class.getName()), e.getMessage());
    }

    /** Found by PluginJarFuzzTest: ServiceLoader let the ClassFormatError of a corrupt provider class escape discovery. */
    @Test
    void providerClassThatCannotBeDefinedIsAProblemNotAnError(@TempDir Path dir) throws IOException {
        Path cls = dir.resolve("com/example/Corrupt.class");
        Files.createDirectories(cls.getParent());
        Files.write(cls, new byte[] {(byte) 0xCA, (byte) 0xFE, (byte) 0xBA, (byte) 0xBE, 0, 0, 0, 69}); // truncated
        PolicyRegistry r = PolicyRegistry.load(withServices(dir, "com.example.Corrupt", FailingCreate.class.getName()));
        assertTrue(r.names().containsAll(List.of("full", "failing")), "the others still load: " + r.names());
        assertEquals(1, r.problems().size(), r.problems().toString());
        assertTrue(r.problems().getFirst().message().contains("ClassFormatError"), r.problems().getFirst().message());
    }

    @Test
    void duplicateNameIsAnErrorNamingBothClasses(@TempDir Path dir) throws IOException {
        ClassLoader cl = withServices(dir, AnotherFull.class.getName());
        DuplicatePolicyException e = assertThrows(DuplicatePolicyException.class, () -> PolicyRegistry.load(cl));
        assertTrue(e.getMessage().contains(FullPolicy.Provider.class.getName())
                && e.getMessage().contains(AnotherFull.class.getName()), e.getMessage());
    }

    @Test
    void creationErrorsNameThePolicy() {
        PolicyRegistry r = PolicyRegistry.of(List.of(new FailingCreate(), new StreamingPolicy.Provider()));
        ShardGeometry g = new ShardGeometry(0, 0, 1, 8);
        PolicyCreationException e = assertThrows(PolicyCreationException.class, () -> r.create("failing", g, 8, Map.of(), 1));
        assertTrue(e.getMessage().contains("'failing'") && e.getMessage().contains("no GPU"), e.getMessage());
        PolicyConfigException c = assertThrows(PolicyConfigException.class,
                () -> r.create("streaming", g, 8, Map.of("sink", "-1"), 1));
        assertEquals("clusterkv.policy.streaming.sink", c.key());
        assertThrows(IllegalArgumentException.class, () -> r.create("streaming", g, 0, Map.of(), 1));
    }
}

package io.clusterkv.runtime.policy;

import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The recall policies found by {@link ServiceLoader}, by name. Built-in baselines and plugins come
 * through the same door.
 *
 * <p>Discovery catches {@link ServiceConfigurationError} around both {@code hasNext()} and
 * {@code next()}: a provider that fails to load (missing class, constructor that throws, bad name) is
 * kept as a {@link ProviderProblem} naming its class, and the others still load. So is a
 * {@link LinkageError}, which {@link ServiceLoader} lets escape when a provider's class file cannot be
 * defined (corrupt, compiled for a newer Java, or needing a class the plugin lacks). Two providers with
 * one name are an error naming both classes. Looking up an unknown name lists the names found and the
 * providers that failed.
 */
public final class PolicyRegistry {

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]*");
    private static final Pattern PROVIDER_CLASS = Pattern.compile("Provider (\\S+)");
    private static final int MAX_PROVIDERS = 10_000;

    private final Map<String, RecallPolicyProvider> providers;
    private final List<ProviderProblem> problems;

    private PolicyRegistry(Map<String, RecallPolicyProvider> providers, List<ProviderProblem> problems) {
        this.providers = Collections.unmodifiableMap(providers);
        this.problems = List.copyOf(problems);
    }

    /**
     * A provider that could not be loaded.
     *
     * @param providerClass the class named in the service registration, or {@code "?"} when unknown
     * @param message       what went wrong
     * @param cause         the error
     */
    public record ProviderProblem(String providerClass, String message, Throwable cause) {
        @Override
        public String toString() {
            return providerClass + ": " + message;
        }
    }

    /**
     * Discovers the providers visible to the thread's context class loader (or this class's loader).
     *
     * @return the registry
     * @throws DuplicatePolicyException if two providers share a name
     */
    public static PolicyRegistry load() {
        ClassLoader cl = Thread.currentThread().getContextClassLoader();
        return load(cl != null ? cl : PolicyRegistry.class.getClassLoader());
    }

    /**
     * Discovers the providers visible to a class loader.
     *
     * @param loader where to look
     * @return the registry
     * @throws DuplicatePolicyException if two providers share a name
     */
    public static PolicyRegistry load(ClassLoader loader) {
        Iterator<RecallPolicyProvider> it = ServiceLoader.load(RecallPolicyProvider.class, loader).iterator();
        List<RecallPolicyProvider> found = new ArrayList<>();
        List<ProviderProblem> problems = new ArrayList<>();
        for (int attempt = 0; attempt < MAX_PROVIDERS; attempt++) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                found.add(it.next());
            } catch (ServiceConfigurationError e) {
                problems.add(new ProviderProblem(providerClassOf(e), describe(e), e));
            } catch (LinkageError e) {
                // ServiceLoader lets a provider class that cannot be defined escape as an Error: a corrupt
                // class file, one compiled for a newer Java, a superclass missing from the plugin jar
                problems.add(new ProviderProblem(providerClassOf(e), "its class could not be loaded: " + e
                        + " (a corrupt class file, one compiled for a newer Java, or a class it needs is missing)", e));
            }
        }
        return of(found, problems);
    }

    /**
     * A registry of the given providers, e.g. for tests or an application that wires its own.
     *
     * @param providers the providers
     * @return the registry
     * @throws DuplicatePolicyException if two providers share a name
     */
    public static PolicyRegistry of(List<? extends RecallPolicyProvider> providers) {
        return of(providers, List.of());
    }

    private static PolicyRegistry of(List<? extends RecallPolicyProvider> found, List<ProviderProblem> earlier) {
        Map<String, RecallPolicyProvider> byName = new LinkedHashMap<>();
        List<ProviderProblem> problems = new ArrayList<>(earlier);
        for (RecallPolicyProvider p : found) {
            String name;
            try {
                name = p.name();
                Objects.requireNonNull(p.description(), "description()");
                Objects.requireNonNull(p.configKeys(), "configKeys()");
            } catch (RuntimeException e) {
                problems.add(new ProviderProblem(p.getClass().getName(), "its name(), description() or configKeys() threw " + e, e));
                continue;
            }
            if (name == null || !NAME.matcher(name).matches()) {
                problems.add(new ProviderProblem(p.getClass().getName(), "invalid policy name '" + name
                        + "': expected lower case letters, digits and '-'", null));
                continue;
            }
            RecallPolicyProvider other = byName.putIfAbsent(name, p);
            if (other != null) {
                throw new DuplicatePolicyException(name, other.getClass().getName(), p.getClass().getName());
            }
        }
        return new PolicyRegistry(byName, problems);
    }

    /** @return the providers found, by name, in discovery order */
    public Map<String, RecallPolicyProvider> providers() {
        return providers;
    }

    /** @return the names found, in discovery order */
    public List<String> names() {
        return List.copyOf(providers.keySet());
    }

    /** @return providers that failed to load */
    public List<ProviderProblem> problems() {
        return problems;
    }

    /**
     * @param name a policy name
     * @return its provider
     * @throws UnknownPolicyException if none has that name; the message lists the names found
     */
    public RecallPolicyProvider provider(String name) {
        RecallPolicyProvider p = providers.get(name);
        if (p == null) {
            throw new UnknownPolicyException(name, names(), problems);
        }
        return p;
    }

    /**
     * Creates a policy instance with its configuration section built from the given overrides.
     *
     * @param name      the policy
     * @param geometry  the shard
     * @param budget    the session's budget
     * @param overrides config values inside the policy's section
     * @param seed      the shard's seed
     * @return the instance
     * @throws UnknownPolicyException               if the name is unknown
     * @throws io.clusterkv.spi.PolicyConfigException if a config value is bad
     * @throws PolicyCreationException               if the provider failed otherwise
     */
    public RecallPolicy create(String name, io.clusterkv.spi.ShardGeometry geometry, int budget,
                               Map<String, String> overrides, long seed) {
        RecallPolicyProvider p = provider(name);
        PolicyContext context = new PolicyContext(geometry, budget, PolicyConfig.of(name, p.configKeys(), overrides), seed);
        try {
            return Objects.requireNonNull(p.create(context), "create() returned null");
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new PolicyCreationException(name, p.getClass().getName(), e);
        }
    }

    private static String providerClassOf(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null) {
                Matcher m = PROVIDER_CLASS.matcher(t.getMessage());
                if (m.find()) {
                    return m.group(1);
                }
            }
        }
        return "?";
    }

    private static String describe(ServiceConfigurationError e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (cause: " + root + ")";
    }
}

package io.clusterkv.runtime.policy;

import java.util.List;

/** No policy of the requested name was found; the message lists the names that were. */
public final class UnknownPolicyException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String name;
    private final List<String> known;

    UnknownPolicyException(String name, List<String> known, List<PolicyRegistry.ProviderProblem> problems) {
        super("unknown policy '" + name + "'; policies found: " + String.join(", ", known)
                + (problems.isEmpty() ? "" : "; providers that failed to load: " + problems));
        this.name = name;
        this.known = List.copyOf(known);
    }

    /** @return the name asked for */
    public String name() {
        return name;
    }

    /** @return the names found */
    public List<String> known() {
        return known;
    }
}

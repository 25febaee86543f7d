package io.clusterkv.runtime.policy;

/** Two providers on the path declare the same policy name; the message names both classes. */
public final class DuplicatePolicyException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    DuplicatePolicyException(String name, String first, String second) {
        super("two providers declare policy '" + name + "': " + first + " and " + second
                + "; remove one from the class path or rename it");
    }
}

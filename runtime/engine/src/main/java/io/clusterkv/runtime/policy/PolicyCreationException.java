package io.clusterkv.runtime.policy;

/** A provider's {@code create} failed with something other than a bad argument; names the policy and class. */
public final class PolicyCreationException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    PolicyCreationException(String name, String providerClass, Throwable cause) {
        super("policy '" + name + "' (" + providerClass + ") failed to create: " + cause, cause);
    }
}

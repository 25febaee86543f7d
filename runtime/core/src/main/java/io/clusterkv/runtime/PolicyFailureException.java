package io.clusterkv.runtime;

/**
 * A recall policy threw: names the session, the policy method and the shard. The shard attended
 * exactly for that step; the failure is the cause of a {@link SessionFailedException} once a session
 * has more than {@code clusterkv.runtime.max-policy-failures} of them.
 */
public final class PolicyFailureException extends RuntimeException {

    /**
     * @param session the session
     * @param where   the policy method or task, e.g. {@code select}
     * @param layer   the shard's layer
     * @param kvHead  the shard's KV head
     * @param cause   what the policy threw
     */
    public PolicyFailureException(String session, String where, int layer, int kvHead, Throwable cause) {
        super("session " + session + ": policy failed in " + where + " at layer " + layer + ", kv head " + kvHead
                + ": " + cause, cause);
    }
}

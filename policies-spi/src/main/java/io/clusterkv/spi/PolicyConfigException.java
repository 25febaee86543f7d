package io.clusterkv.spi;

/**
 * A policy configuration value that is missing, malformed or out of range. The message names the
 * full key, the value given and what was expected.
 */
public final class PolicyConfigException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** The full key that was wrong. */
    private final String key;
    /** The value as given, or {@code null} when it was missing. */
    private final String value;

    /**
     * Creates the exception.
     *
     * @param key         the full key, e.g. {@code clusterkv.policy.quest.page-size}
     * @param value       the offending value as given, or {@code null} when absent
     * @param expectation what a valid value looks like, e.g. {@code "an integer >= 1"}
     */
    public PolicyConfigException(String key, String value, String expectation) {
        super("bad config value " + key + " = " + (value == null ? "(missing)" : "'" + value + "'")
                + ": expected " + expectation);
        this.key = key;
        this.value = value;
    }

    /** @return the full key that was wrong */
    public String key() {
        return key;
    }

    /** @return the value as given, or {@code null} when it was missing */
    public String value() {
        return value;
    }
}

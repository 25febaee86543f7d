package io.clusterkv.runtime;

/**
 * A configuration value the runtime cannot use: names the full key, the value as given and what was
 * expected, e.g. {@code clusterkv.runtime.budget = 0: expected an integer >= 1}.
 */
public final class ConfigValueException extends IllegalArgumentException {

    private final String key;
    private final String value;
    private final String expected;

    /**
     * @param key      the full key, e.g. {@code clusterkv.runtime.budget}
     * @param value    the value as given (rendered), or {@code null} if it was missing
     * @param expected what would have been accepted
     */
    public ConfigValueException(String key, String value, String expected) {
        this(key, value, expected, null);
    }

    /**
     * @param key      the full key
     * @param value    the value as given, or {@code null} if missing
     * @param expected what would have been accepted
     * @param cause    the underlying error, or {@code null}
     */
    public ConfigValueException(String key, String value, String expected, Throwable cause) {
        super(key + " = " + (value == null ? "(missing)" : value) + ": expected " + expected, cause);
        this.key = key;
        this.value = value;
        this.expected = expected;
    }

    /** @return the full key */
    public String key() {
        return key;
    }

    /** @return the value as given, or {@code null} if it was missing */
    public String value() {
        return value;
    }

    /** @return what was expected */
    public String expected() {
        return expected;
    }
}

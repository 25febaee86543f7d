package io.clusterkv.runtime.residency;

/**
 * A {@link ResidencyConfig} value out of range: names the key of the {@code clusterkv.residency}
 * section it stands for, the value and what was expected, e.g.
 * {@code clusterkv.residency.block-bytes = 3000: expected a power of two from 64 bytes to 1GiB}.
 * The runtime reports it to an application as its own {@code ConfigValueException}, with the value as
 * the configuration wrote it.
 */
public final class ResidencyConfigException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String key;
    private final String value;
    private final String expected;

    ResidencyConfigException(String key, String value, String expected) {
        super(key + " = " + value + ": expected " + expected);
        this.key = key;
        this.value = value;
        this.expected = expected;
    }

    /** @return the full key, e.g. {@code clusterkv.residency.capacity} */
    public String key() {
        return key;
    }

    /** @return the value given, as a number */
    public String value() {
        return value;
    }

    /** @return what would have been accepted */
    public String expected() {
        return expected;
    }
}

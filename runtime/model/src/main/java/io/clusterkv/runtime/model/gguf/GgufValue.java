package io.clusterkv.runtime.model.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One metadata value with its GGUF type. Scalars: every integer type as a {@link Long} (UINT64 as its
 * raw bits), FLOAT32 as {@link Float}, FLOAT64 as {@link Double}, BOOL as {@link Boolean}, STRING as
 * {@link String}. Arrays ({@code type == ARRAY}): {@code elementType} says what {@code value} holds:
 * {@code byte[]} for UINT8/INT8/BOOL, {@code short[]} for UINT16/INT16, {@code int[]} for
 * UINT32/INT32, {@code long[]} for UINT64/INT64, {@code float[]}, {@code double[]}, {@code String[]},
 * or {@code GgufValue[]} for nested arrays.
 *
 * @param type        the value's type
 * @param elementType for arrays, the elements' type; otherwise {@code null}
 * @param value       the value, as above
 */
public record GgufValue(GgufType type, GgufType elementType, Object value) {

    /** Checks the value's Java type against its GGUF type. */
    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        Class<?> expected = javaType(type == GgufType.ARRAY ? Objects.requireNonNull(elementType, "elementType") : type,
                type == GgufType.ARRAY);
        if (!expected.isInstance(value)) {
            throw new IllegalArgumentException("a " + type + (elementType != null ? " of " + elementType : "")
                    + " value must be a " + expected.getSimpleName() + ", was " + value.getClass().getSimpleName());
        }
    }

    private static Class<?> javaType(GgufType t, boolean array) {
        return switch (t) {
            case UINT8, INT8 -> array ? byte[].class : Long.class;
            case BOOL -> array ? byte[].class : Boolean.class;
            case UINT16, INT16 -> array ? short[].class : Long.class;
            case UINT32, INT32 -> array ? int[].class : Long.class;
            case UINT64, INT64 -> array ? long[].class : Long.class;
            case FLOAT32 -> array ? float[].class : Float.class;
            case FLOAT64 -> array ? double[].class : Double.class;
            case STRING -> array ? String[].class : String.class;
            case ARRAY -> GgufValue[].class;
        };
    }

    /** @param v a string @return a STRING value */
    public static GgufValue of(String v) {
        return new GgufValue(GgufType.STRING, null, v);
    }

    /** @param type an integer type @param v the value @return the value */
    public static GgufValue ofInteger(GgufType type, long v) {
        return new GgufValue(type, null, v);
    }

    /** @param v a float @return a FLOAT32 value */
    public static GgufValue of(float v) {
        return new GgufValue(GgufType.FLOAT32, null, v);
    }

    /** @param elementType the elements' type @param values a primitive or object array as documented @return an ARRAY */
    public static GgufValue array(GgufType elementType, Object values) {
        return new GgufValue(GgufType.ARRAY, elementType, values);
    }

    /** @return the number of elements of an array value, or 1 */
    public int length() {
        return type == GgufType.ARRAY ? java.lang.reflect.Array.getLength(value) : 1;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufValue g && g.type == type && g.elementType == elementType
                && Arrays.deepEquals(new Object[] {value}, new Object[] {g.value});
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, elementType, Arrays.deepHashCode(new Object[] {value}));
    }

    @Override
    public String toString() {
        if (type != GgufType.ARRAY) {
            return String.valueOf(value);
        }
        int n = length();
        StringBuilder sb = new StringBuilder("[" + elementType + " x " + n + ": ");
        for (int i = 0; i < Math.min(n, 8); i++) {
            sb.append(i > 0 ? ", " : "").append(java.lang.reflect.Array.get(value, i));
        }
        return sb.append(n > 8 ? ", ...]" : "]").toString();
    }
}

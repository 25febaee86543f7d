package io.clusterkv.runtime.model.gguf;

/** The 13 metadata value types of GGUF, with their on-disk codes. */
public enum GgufType {
    /** unsigned 8-bit integer */ UINT8(0, 1),
    /** signed 8-bit integer */ INT8(1, 1),
    /** unsigned 16-bit integer */ UINT16(2, 2),
    /** signed 16-bit integer */ INT16(3, 2),
    /** unsigned 32-bit integer */ UINT32(4, 4),
    /** signed 32-bit integer */ INT32(5, 4),
    /** IEEE binary32 */ FLOAT32(6, 4),
    /** one byte, 0 or 1 */ BOOL(7, 1),
    /** uint64 length + UTF-8 bytes */ STRING(8, 8),
    /** element type (uint32), count (uint64), elements */ ARRAY(9, 12),
    /** unsigned 64-bit integer */ UINT64(10, 8),
    /** signed 64-bit integer */ INT64(11, 8),
    /** IEEE binary64 */ FLOAT64(12, 8);

    private final int code;
    private final int minBytes;

    GgufType(int code, int minBytes) {
        this.code = code;
        this.minBytes = minBytes;
    }

    /** @return the on-disk code */
    public int code() {
        return code;
    }

    /** @return the fewest bytes a value of this type takes on disk */
    public int minBytes() {
        return minBytes;
    }

    /**
     * @param code an on-disk code
     * @return the type, or {@code null} if the code is unknown
     */
    public static GgufType ofCode(long code) {
        for (GgufType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}

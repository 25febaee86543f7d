package io.clusterkv.runtime.model.gguf;

import io.clusterkv.runtime.model.ModelFormatException;
import io.clusterkv.runtime.tensor.GgmlType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A GGUF file (version 3), memory-mapped: its metadata and its tensors as slices of the mapping.
 *
 * <p>Layout: magic {@code "GGUF"}, version (uint32), tensor count and metadata count (uint64), the
 * metadata key/value pairs, the tensor infos (name, dims, type, offset), then, at the next multiple of
 * {@code general.alignment} (default 32), the data section. Every count and length is checked against
 * the bytes left before anything is allocated for it, so a malformed or hostile file fails with a
 * {@link ModelFormatException} naming the file, the field and the offset, never with an
 * {@link OutOfMemoryError}. Tensors are slices of the mapping, without copy and without a 2^31 limit.
 *
 * <p>The mapping lives in a shared arena closed by {@link #close()}; tensor segments are invalid
 * after that.
 */
public final class GgufFile implements AutoCloseable {

    /** The magic number, "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    /** The only version read. */
    public static final int VERSION = 3;
    /** {@code general.alignment} when absent. */
    public static final int DEFAULT_ALIGNMENT = 32;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int MAX_DIMS = 8;
    private static final int MAX_NESTING = 8;

    private final Path path;
    private final Arena arena;
    private final int version;
    private final long alignment;
    private final long dataOffset;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensorInfo> tensors;

    private GgufFile(Path path, Arena arena, int version, long alignment, long dataOffset,
                     Map<String, GgufValue> metadata, Map<String, GgufTensorInfo> tensors) {
        this.path = path;
        this.arena = arena;
        this.version = version;
        this.alignment = alignment;
        this.dataOffset = dataOffset;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /**
     * Maps and parses a file.
     *
     * @param path the file
     * @return the parsed file, holding the mapping open
     * @throws ModelFormatException if it is not a readable GGUF v3 file
     * @throws IOException          if it cannot be opened or mapped
     */
    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            GgufFile f = new Reader(path, seg).read(arena);
            return f;
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Parses GGUF bytes held in memory (a vocabulary shipped as a resource), copied off-heap.
     *
     * @param source what {@link #path()} reports, for messages (e.g. the resource's name)
     * @param bytes  a whole GGUF v3 file
     * @return the parsed file; close it to free the copy
     * @throws ModelFormatException if the bytes are not a readable GGUF v3 file
     */
    public static GgufFile fromBytes(Path source, byte[] bytes) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg = arena.allocate(Math.max(1, bytes.length), 64).asSlice(0, bytes.length);
            MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
            return new Reader(source, seg).read(arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** @return the file */
    public Path path() {
        return path;
    }

    /** @return the format version, 3 */
    public int version() {
        return version;
    }

    /** @return the data section's alignment */
    public long alignment() {
        return alignment;
    }

    /** @return byte offset of the data section in the file */
    public long dataOffset() {
        return dataOffset;
    }

    /** @return every metadata pair, in file order */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** @return every tensor by name, in file order */
    public Map<String, GgufTensorInfo> tensors() {
        return tensors;
    }

    /**
     * @param name a tensor name
     * @return the tensor
     * @throws ModelFormatException if the file has no such tensor
     */
    public GgufTensorInfo tensor(String name) {
        GgufTensorInfo t = tensors.get(name);
        if (t == null) {
            throw new ModelFormatException(path, "tensor '" + name + "'", -1, "missing");
        }
        return t;
    }

    /**
     * @param key a metadata key
     * @return its value
     * @throws ModelFormatException if absent
     */
    public GgufValue value(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            throw new ModelFormatException(path, "metadata '" + key + "'", -1, "missing");
        }
        return v;
    }

    /**
     * @param key a metadata key holding a string
     * @return the string
     * @throws ModelFormatException if absent or not a string
     */
    public String getString(String key) {
        GgufValue v = value(key);
        if (v.value() instanceof String s) {
            return s;
        }
        throw typeError(key, v, "a string");
    }

    /**
     * @param key a metadata key holding an integer of any width
     * @return the value
     * @throws ModelFormatException if absent or not an integer
     */
    public long getLong(String key) {
        GgufValue v = value(key);
        if (v.type() != GgufType.ARRAY && v.value() instanceof Long l) {
            return l;
        }
        throw typeError(key, v, "an integer");
    }

    /**
     * @param key      a metadata key holding an integer
     * @param fallback the value when absent
     * @return the value
     * @throws ModelFormatException if present but not an integer
     */
    public long getLong(String key, long fallback) {
        return metadata.containsKey(key) ? getLong(key) : fallback;
    }

    /**
     * @param key a metadata key holding a float or an integer
     * @return the value
     * @throws ModelFormatException if absent or not a number
     */
    public double getDouble(String key) {
        GgufValue v = value(key);
        if (v.type() != GgufType.ARRAY && v.value() instanceof Number n) {
            return n.doubleValue();
        }
        throw typeError(key, v, "a number");
    }

    /**
     * @param key      a metadata key holding a number
     * @param fallback the value when absent
     * @return the value
     * @throws ModelFormatException if present but not a number
     */
    public double getDouble(String key, double fallback) {
        return metadata.containsKey(key) ? getDouble(key) : fallback;
    }

    /**
     * @param key a metadata key holding an array of strings
     * @return the strings
     * @throws ModelFormatException if absent or of another type
     */
    public String[] getStringArray(String key) {
        GgufValue v = value(key);
        if (v.value() instanceof String[] a) {
            return a;
        }
        throw typeError(key, v, "an array of strings");
    }

    /**
     * @param key a metadata key holding an array of FLOAT32
     * @return the floats
     * @throws ModelFormatException if absent or of another type
     */
    public float[] getFloatArray(String key) {
        GgufValue v = value(key);
        if (v.value() instanceof float[] a) {
            return a;
        }
        throw typeError(key, v, "an array of FLOAT32");
    }

    /**
     * @param key a metadata key holding an array of INT32 or UINT32
     * @return the ints
     * @throws ModelFormatException if absent or of another type
     */
    public int[] getIntArray(String key) {
        GgufValue v = value(key);
        if (v.value() instanceof int[] a) {
            return a;
        }
        throw typeError(key, v, "an array of INT32");
    }

    private ModelFormatException typeError(String key, GgufValue v, String expected) {
        return new ModelFormatException(path, "metadata '" + key + "'", -1, "expected " + expected + ", found "
                + (v.type() == GgufType.ARRAY ? "an array of " + v.elementType() : v.type()));
    }

    /** Unmaps the file. Tensor segments are invalid afterwards. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    /** Parses the header with bounds checks at every read. */
    private static final class Reader {
        private final Path path;
        private final MemorySegment seg;
        private final long size;
        private long pos;

        Reader(Path path, MemorySegment seg) {
            this.path = path;
            this.seg = seg;
            this.size = seg.byteSize();
        }

        private ModelFormatException error(String field, long at, String problem) {
            return new ModelFormatException(path, field, at, problem);
        }

        private void need(String field, long bytes) {
            if (bytes < 0 || bytes > size - pos) {
                throw error(field, pos, "needs " + (bytes < 0 ? "an impossible number of" : bytes) + " bytes, "
                        + (size - pos) + " left (truncated file?)");
            }
        }

        private int u32(String field) {
            need(field, 4);
            int v = seg.get(U32, pos);
            pos += 4;
            return v;
        }

        private long u64(String field) {
            need(field, 8);
            long v = seg.get(U64, pos);
            pos += 8;
            return v;
        }

        private String string(String field) {
            long at = pos;
            long len = u64(field + " length");
            if (len < 0 || len > size - pos) {
                throw error(field, at, "string length " + Long.toUnsignedString(len) + " exceeds the "
                        + (size - pos) + " bytes left");
            }
            if (len > Integer.MAX_VALUE - 8) {
                throw error(field, at, "string length " + len + " is too long");
            }
            byte[] b = seg.asSlice(pos, len).toArray(ValueLayout.JAVA_BYTE);
            pos += len;
            return new String(b, StandardCharsets.UTF_8);
        }

        private long count(String field, long minBytesEach) {
            long at = pos;
            long n = u64(field);
            if (n < 0 || (minBytesEach > 0 && n > (size - pos) / minBytesEach)) {
                throw error(field, at, "count " + Long.toUnsignedString(n) + " cannot fit in the " + (size - pos)
                        + " bytes left");
            }
            return n;
        }

        GgufFile read(Arena arena) {
            int magic = u32("magic");
            if (magic != MAGIC) {
                throw error("magic", 0, String.format("expected 'GGUF' (0x%08x), found 0x%08x: not a GGUF file", MAGIC, magic));
            }
            int version = u32("version");
            if (version == Integer.reverseBytes(VERSION)) {
                throw error("version", 4, "big-endian GGUF files are not supported; only little-endian version 3 is");
            }
            if (version != VERSION) {
                throw error("version", 4, "GGUF version " + Integer.toUnsignedString(version)
                        + " is not supported; only version 3 is (versions 1 and 2 are obsolete: re-convert the model)");
            }
            long tensorCount = count("tensor_count", 8 + 4 + 8 + 4 + 8);
            if (tensorCount > Integer.MAX_VALUE - 8) {
                throw error("tensor_count", 8, "count " + tensorCount + " exceeds " + (Integer.MAX_VALUE - 8));
            }
            long kvCount = count("metadata_kv_count", 8 + 4 + 1);
            Map<String, GgufValue> metadata = new LinkedHashMap<>();
            long alignmentAt = -1;
            for (long i = 0; i < kvCount; i++) {
                long at = pos;
                String key = string("metadata key #" + i);
                GgufType type = type("metadata '" + key + "' type");
                if (key.equals("general.alignment")) {
                    alignmentAt = pos;
                }
                GgufValue v = value("metadata '" + key + "'", type, 0);
                if (metadata.putIfAbsent(key, v) != null) {
                    throw error("metadata '" + key + "'", at, "duplicate key");
                }
            }
            long alignment = DEFAULT_ALIGNMENT;
            GgufValue a = metadata.get("general.alignment");
            if (a != null) {
                if (!(a.value() instanceof Long l) || l <= 0 || Long.bitCount(l) != 1 || l > 1 << 20) {
                    throw error("metadata 'general.alignment'", alignmentAt, "must be an integer power of two up to 2^20, was "
                            + a + " (" + a.type() + ")");
                }
                alignment = (Long) a.value();
            }
            record Raw(String name, long[] dims, GgmlType type, long offset, long at) {
            }
            Raw[] raws = new Raw[(int) tensorCount];
            for (int i = 0; i < tensorCount; i++) {
                long at = pos;
                String name = string("tensor #" + i + " name");
                String f = "tensor '" + name + "'";
                long dimsAt = pos;
                int nDims = u32(f + " n_dims");
                if (nDims < 1 || nDims > MAX_DIMS) {
                    throw error(f + " n_dims", dimsAt, "must be in [1, " + MAX_DIMS + "], was " + Integer.toUnsignedString(nDims));
                }
                long[] dims = new long[nDims];
                long elements = 1;
                for (int d = 0; d < nDims; d++) {
                    long dAt = pos;
                    dims[d] = u64(f + " dim " + d);
                    if (dims[d] < 0) {
                        throw error(f + " dim " + d, dAt, "absurd size " + Long.toUnsignedString(dims[d]));
                    }
                    if (dims[d] != 0 && elements > Long.MAX_VALUE / dims[d]) {
                        StringBuilder shape = new StringBuilder();
                        for (int k = 0; k <= d; k++) {
                            shape.append(k == 0 ? "" : " x ").append(dims[k]);
                        }
                        throw error(f + " dim " + d, dAt, "the product of its dims " + shape
                                + " overflows 64 bits: no file holds that many elements");
                    }
                    elements *= dims[d];
                }
                long typeAt = pos;
                int code = u32(f + " type");
                GgmlType type = GgmlType.ofCode(Integer.toUnsignedLong(code));
                if (type == null) {
                    throw error(f + " type", typeAt, "unsupported tensor type " + GgmlType.nameOfCode(Integer.toUnsignedLong(code))
                            + " in tensor " + name + "; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K");
                }
                if (dims[0] % type.blockSize() != 0) {
                    throw error(f + " dims", dimsAt, "row of " + dims[0] + " elements is not a multiple of the "
                            + type + " block size " + type.blockSize());
                }
                long offAt = pos;
                long offset = u64(f + " offset");
                if (offset < 0 || offset % alignment != 0) {
                    throw error(f + " offset", offAt, "offset " + Long.toUnsignedString(offset) + " is not a multiple of the alignment " + alignment);
                }
                raws[i] = new Raw(name, dims, type, offset, at);
            }
            long dataOffset = (pos + alignment - 1) / alignment * alignment;
            Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
            for (Raw r : raws) {
                long elements = 1;
                for (long d : r.dims) {
                    elements *= d; // checked against overflow when read
                }
                long blocks = elements / r.type.blockSize();
                long start = dataOffset + r.offset;
                // blocks * blockBytes may overflow a long: compare in blocks
                if (start < dataOffset || start > size || blocks > (size - start) / r.type.blockBytes()) {
                    throw error("tensor '" + r.name + "' data", r.at, "its " + Long.toUnsignedString(elements) + " "
                            + r.type + " elements (" + blocks + " blocks of " + r.type.blockBytes() + " bytes) at offset "
                            + Long.toUnsignedString(start) + " extend past the end of the file (" + size + " bytes)");
                }
                long bytes = blocks * r.type.blockBytes();
                GgufTensorInfo t = new GgufTensorInfo(r.name, r.dims, r.type, r.offset, seg.asSlice(start, bytes));
                if (tensors.putIfAbsent(r.name, t) != null) {
                    throw error("tensor '" + r.name + "'", r.at, "duplicate tensor name");
                }
            }
            return new GgufFile(path, arena, VERSION, alignment, dataOffset, metadata, tensors);
        }

        private GgufType type(String field) {
            long at = pos;
            int code = u32(field);
            GgufType t = GgufType.ofCode(Integer.toUnsignedLong(code));
            if (t == null) {
                throw error(field, at, "unknown value type " + Integer.toUnsignedString(code));
            }
            return t;
        }

        private GgufValue value(String field, GgufType type, int depth) {
            return switch (type) {
                case UINT8 -> scalar(type, Byte.toUnsignedLong(byte1(field)));
                case INT8 -> scalar(type, byte1(field));
                case UINT16 -> scalar(type, Short.toUnsignedLong(short2(field)));
                case INT16 -> scalar(type, short2(field));
                case UINT32 -> scalar(type, Integer.toUnsignedLong(u32(field)));
                case INT32 -> scalar(type, u32(field));
                case UINT64, INT64 -> scalar(type, u64(field));
                case FLOAT32 -> {
                    need(field, 4);
                    float f = seg.get(F32, pos);
                    pos += 4;
                    yield new GgufValue(type, null, f);
                }
                case FLOAT64 -> {
                    need(field, 8);
                    double d = seg.get(F64, pos);
                    pos += 8;
                    yield new GgufValue(type, null, d);
                }
                case BOOL -> {
                    long at = pos;
                    byte b = byte1(field);
                    if (b != 0 && b != 1) {
                        throw error(field, at, "bool must be 0 or 1, was " + b);
                    }
                    yield new GgufValue(type, null, b == 1);
                }
                case STRING -> new GgufValue(type, null, string(field));
                case ARRAY -> array(field, depth);
            };
        }

        private static GgufValue scalar(GgufType type, long v) {
            return new GgufValue(type, null, v);
        }

        private byte byte1(String field) {
            need(field, 1);
            return seg.get(ValueLayout.JAVA_BYTE, pos++);
        }

        private short short2(String field) {
            need(field, 2);
            short s = seg.get(U16, pos);
            pos += 2;
            return s;
        }

        private GgufValue array(String field, int depth) {
            if (depth >= MAX_NESTING) {
                throw error(field, pos, "arrays nested deeper than " + MAX_NESTING);
            }
            GgufType et = type(field + " element type");
            long n = count(field + " element count", et.minBytes());
            if (n > Integer.MAX_VALUE - 8) {
                throw error(field, pos, "array of " + n + " elements is too long");
            }
            int len = (int) n;
            Object values = switch (et) {
                case UINT8, INT8, BOOL -> bulk(len, ValueLayout.JAVA_BYTE, field);
                case UINT16, INT16 -> bulk(len, U16, field);
                case UINT32, INT32 -> bulk(len, U32, field);
                case UINT64, INT64 -> bulk(len, U64, field);
                case FLOAT32 -> bulk(len, F32, field);
                case FLOAT64 -> bulk(len, F64, field);
                case STRING -> {
                    String[] s = new String[len];
                    for (int i = 0; i < len; i++) {
                        s[i] = string(field + "[" + i + "]");
                    }
                    yield s;
                }
                case ARRAY -> {
                    GgufValue[] nested = new GgufValue[len];
                    for (int i = 0; i < len; i++) {
                        nested[i] = array(field + "[" + i + "]", depth + 1);
                    }
                    yield nested;
                }
            };
            return new GgufValue(GgufType.ARRAY, et, values);
        }

        private Object bulk(int len, ValueLayout layout, String field) {
            long bytes = len * layout.byteSize();
            need(field, bytes);
            MemorySegment src = seg.asSlice(pos, bytes);
            pos += bytes;
            return switch (layout) {
                case ValueLayout.OfByte b -> src.toArray(ValueLayout.JAVA_BYTE);
                case ValueLayout.OfShort s -> copy(src, new short[len], s);
                case ValueLayout.OfInt i -> copy(src, new int[len], i);
                case ValueLayout.OfLong l -> copy(src, new long[len], l);
                case ValueLayout.OfFloat f -> copy(src, new float[len], f);
                case ValueLayout.OfDouble d -> copy(src, new double[len], d);
                default -> throw new IllegalStateException(layout.toString());
            };
        }

        private static Object copy(MemorySegment src, Object dst, ValueLayout layout) {
            int n = java.lang.reflect.Array.getLength(dst);
            switch (dst) {
                case short[] a -> MemorySegment.copy(src, (ValueLayout.OfShort) layout, 0, a, 0, n);
                case int[] a -> MemorySegment.copy(src, (ValueLayout.OfInt) layout, 0, a, 0, n);
                case long[] a -> MemorySegment.copy(src, (ValueLayout.OfLong) layout, 0, a, 0, n);
                case float[] a -> MemorySegment.copy(src, (ValueLayout.OfFloat) layout, 0, a, 0, n);
                case double[] a -> MemorySegment.copy(src, (ValueLayout.OfDouble) layout, 0, a, 0, n);
                default -> throw new IllegalStateException();
            }
            return dst;
        }
    }
}

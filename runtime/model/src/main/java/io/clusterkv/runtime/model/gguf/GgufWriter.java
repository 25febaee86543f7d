package io.clusterkv.runtime.model.gguf;

import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.Quantizer;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes GGUF version 3 files, deterministically: the same calls give the same bytes. Used by tests
 * and tools to build small models, and by {@link io.clusterkv.runtime.model.GgufModelWriter} to export whole ones.
 *
 * <p>Metadata pairs and tensors are written in the order they were added. The alignment is the
 * value of {@code general.alignment} when that key is set (an integer, a power of two up to 2^20),
 * 32 otherwise; the data section starts at the first multiple of it after the tensor infos, each
 * tensor starts at a multiple of it from there, and zero bytes pad every tensor (the last one too,
 * as ggml does) to that multiple.
 *
 * <pre>{@code
 * new GgufWriter()
 *         .put("general.architecture", GgufValue.of("llama"))
 *         .addTensor("output.weight", GgmlType.Q8_0, new long[] {cols, rows}, weights) // quantized here
 *         .write(path);
 * }</pre>
 *
 * Not thread-safe.
 */
public final class GgufWriter {

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();

    private record Tensor(String name, long[] dims, GgmlType type, MemorySegment data) {
    }

    /** An empty file: no metadata, no tensors. */
    public GgufWriter() {
    }

    /**
     * Adds a metadata pair.
     *
     * @param key   the key, unique
     * @param value the value; integers must fit their type, BOOL arrays hold only 0 and 1, and nested
     *              arrays hold ARRAY values
     * @return this
     * @throws IllegalArgumentException if the key is already set or the value cannot be written, naming it
     */
    public GgufWriter put(String key, GgufValue value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        check(key, value);
        if (key.equals("general.alignment")) {
            alignmentOf(value);
        }
        if (metadata.putIfAbsent(key, value) != null) {
            throw new IllegalArgumentException("metadata key '" + key + "' is already set");
        }
        return this;
    }

    /**
     * Adds a tensor from floats, converted or quantized with {@link Quantizer}.
     *
     * @param name   the name, unique
     * @param type   F32, F16, BF16, Q8_0 or Q4_0
     * @param dims   the shape, innermost first: a matrix of {@code rows} rows of {@code cols} is
     *               {@code {cols, rows}}; {@code dims[0]} a multiple of the type's block size
     * @param values {@code Π dims} floats, row after row
     * @return this
     * @throws IllegalArgumentException if the name is taken, the shape is bad, the count differs, or
     *                                  the type cannot be quantized here
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, float[] values) {
        long elements = elements(name, type, dims);
        if (values.length != elements) {
            throw new IllegalArgumentException("tensor '" + name + "' of shape " + java.util.Arrays.toString(dims)
                    + " needs " + elements + " values, got " + values.length);
        }
        return add(name, type, dims, MemorySegment.ofArray(Quantizer.quantize(type, values)));
    }

    /**
     * Adds a tensor from its stored bytes (any type, e.g. Q4_K or Q6_K quantized elsewhere).
     *
     * @param name  the name, unique
     * @param type  the type
     * @param dims  the shape, innermost first; {@code dims[0]} a multiple of the type's block size
     * @param bytes exactly {@code type.bytesFor(Π dims)} bytes; not copied, do not change them afterwards
     * @return this
     * @throws IllegalArgumentException if the name is taken, the shape is bad or the byte count differs
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, byte[] bytes) {
        long need = type.bytesFor(elements(name, type, dims));
        if (bytes.length != need) {
            throw new IllegalArgumentException("tensor '" + name + "' of " + type + " " + java.util.Arrays.toString(dims)
                    + " takes " + need + " bytes, got " + bytes.length);
        }
        return add(name, type, dims, MemorySegment.ofArray(bytes));
    }

    /**
     * Adds a tensor from its stored bytes in memory (a model's mapped or off-heap weights), written
     * without a copy on the heap.
     *
     * @param name the name, unique
     * @param type the type
     * @param dims the shape, innermost first; {@code dims[0]} a multiple of the type's block size
     * @param data exactly {@code type.bytesFor(Π dims)} bytes; not copied: they must stay readable and
     *             unchanged until the file is written
     * @return this
     * @throws IllegalArgumentException if the name is taken, the shape is bad or the byte count differs
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, MemorySegment data) {
        long need = type.bytesFor(elements(name, type, dims));
        if (data.byteSize() != need) {
            throw new IllegalArgumentException("tensor '" + name + "' of " + type + " " + java.util.Arrays.toString(dims)
                    + " takes " + need + " bytes, got " + data.byteSize());
        }
        return add(name, type, dims, data);
    }

    private GgufWriter add(String name, GgmlType type, long[] dims, MemorySegment data) {
        for (Tensor t : tensors) {
            if (t.name.equals(name)) {
                throw new IllegalArgumentException("tensor '" + name + "' is already added");
            }
        }
        tensors.add(new Tensor(name, dims.clone(), type, data));
        return this;
    }

    private static long elements(String name, GgmlType type, long[] dims) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        if (dims.length < 1 || dims.length > 8) {
            throw new IllegalArgumentException("tensor '" + name + "' needs 1 to 8 dims, got " + dims.length);
        }
        long n = 1;
        for (long d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "' has a negative dim " + d);
            }
            n = Math.multiplyExact(n, d);
        }
        if (dims[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': a row of " + dims[0]
                    + " elements is not a multiple of the " + type + " block size " + type.blockSize());
        }
        return n;
    }

    /** @return the alignment the file will use */
    public int alignment() {
        GgufValue a = metadata.get("general.alignment");
        return a == null ? GgufFile.DEFAULT_ALIGNMENT : alignmentOf(a);
    }

    private static int alignmentOf(GgufValue a) {
        if (a.type() == GgufType.ARRAY || !(a.value() instanceof Long l) || l <= 0 || Long.bitCount(l) != 1
                || l > 1 << 20) {
            throw new IllegalArgumentException("general.alignment must be an integer power of two up to 2^20, was "
                    + a + " (" + a.type() + ")");
        }
        return (int) (long) l;
    }

    /**
     * Writes the file, replacing it if present.
     *
     * @param path the file
     * @throws IOException if it cannot be written
     */
    public void write(Path path) throws IOException {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 16)) {
            writeTo(out);
        }
    }

    /** @return the file's bytes */
    public byte[] toByteArray() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            writeTo(out);
        } catch (IOException e) {
            throw new AssertionError(e); // a ByteArrayOutputStream does not throw
        }
        return out.toByteArray();
    }

    /**
     * Writes the file to a stream (not closed).
     *
     * @param stream the destination
     * @throws IOException if the stream fails
     */
    public void writeTo(OutputStream stream) throws IOException {
        long align = alignment();
        Sink out = new Sink(stream);
        out.u32(GgufFile.MAGIC);
        out.u32(GgufFile.VERSION);
        out.u64(tensors.size());
        out.u64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.u32(e.getValue().type().code());
            value(out, e.getValue());
        }
        long offset = 0;
        for (Tensor t : tensors) {
            out.string(t.name);
            out.u32(t.dims.length);
            for (long d : t.dims) {
                out.u64(d);
            }
            out.u32(t.type.code());
            out.u64(offset);
            offset += pad(t.data.byteSize(), align);
        }
        out.zeros(pad(out.written, align) - out.written);
        for (Tensor t : tensors) {
            out.segment(t.data);
            out.zeros(pad(t.data.byteSize(), align) - t.data.byteSize());
        }
        stream.flush();
    }

    private static long pad(long n, long align) {
        return (n + align - 1) / align * align;
    }

    private static void check(String field, GgufValue v) {
        if (v.type() != GgufType.ARRAY) {
            if (v.value() instanceof Long l) {
                long lo;
                long hi;
                switch (v.type()) {
                    case UINT8 -> { lo = 0; hi = 0xff; }
                    case INT8 -> { lo = Byte.MIN_VALUE; hi = Byte.MAX_VALUE; }
                    case UINT16 -> { lo = 0; hi = 0xffff; }
                    case INT16 -> { lo = Short.MIN_VALUE; hi = Short.MAX_VALUE; }
                    case UINT32 -> { lo = 0; hi = 0xffffffffL; }
                    case INT32 -> { lo = Integer.MIN_VALUE; hi = Integer.MAX_VALUE; }
                    default -> { lo = Long.MIN_VALUE; hi = Long.MAX_VALUE; } // 64-bit: any bits
                }
                if (l < lo || l > hi) {
                    throw new IllegalArgumentException("metadata '" + field + "': " + l + " does not fit " + v.type());
                }
            }
            return;
        }
        switch (v.value()) {
            case byte[] a when v.elementType() == GgufType.BOOL -> {
                for (byte b : a) {
                    if (b != 0 && b != 1) {
                        throw new IllegalArgumentException("metadata '" + field + "': a BOOL array holds " + b);
                    }
                }
            }
            case GgufValue[] nested -> {
                for (int i = 0; i < nested.length; i++) {
                    if (nested[i] == null || nested[i].type() != GgufType.ARRAY) {
                        throw new IllegalArgumentException("metadata '" + field + "[" + i
                                + "]': an array of ARRAY holds only arrays, found " + nested[i]);
                    }
                    check(field + "[" + i + "]", nested[i]);
                }
            }
            case String[] s -> {
                for (int i = 0; i < s.length; i++) {
                    Objects.requireNonNull(s[i], () -> "metadata '" + field + "' has a null string");
                }
            }
            default -> { }
        }
    }

    private static void value(Sink out, GgufValue v) throws IOException {
        switch (v.type()) {
            case UINT8, INT8 -> out.u8((int) (long) (Long) v.value());
            case BOOL -> out.u8((Boolean) v.value() ? 1 : 0);
            case UINT16, INT16 -> out.u16((int) (long) (Long) v.value());
            case UINT32, INT32 -> out.u32((int) (long) (Long) v.value());
            case UINT64, INT64 -> out.u64((Long) v.value());
            case FLOAT32 -> out.u32(Float.floatToRawIntBits((Float) v.value()));
            case FLOAT64 -> out.u64(Double.doubleToRawLongBits((Double) v.value()));
            case STRING -> out.string((String) v.value());
            case ARRAY -> {
                out.u32(v.elementType().code());
                out.u64(v.length());
                switch (v.value()) {
                    case byte[] a -> out.bytes(a);
                    case short[] a -> {
                        for (short x : a) {
                            out.u16(x);
                        }
                    }
                    case int[] a -> {
                        for (int x : a) {
                            out.u32(x);
                        }
                    }
                    case long[] a -> {
                        for (long x : a) {
                            out.u64(x);
                        }
                    }
                    case float[] a -> {
                        for (float x : a) {
                            out.u32(Float.floatToRawIntBits(x));
                        }
                    }
                    case double[] a -> {
                        for (double x : a) {
                            out.u64(Double.doubleToRawLongBits(x));
                        }
                    }
                    case String[] a -> {
                        for (String x : a) {
                            out.string(x);
                        }
                    }
                    case GgufValue[] a -> {
                        for (GgufValue x : a) {
                            value(out, x);
                        }
                    }
                    default -> throw new IllegalStateException(v.value().getClass().toString());
                }
            }
        }
    }

    /** Little-endian primitives over a stream, counting bytes. */
    private static final class Sink {
        private final OutputStream out;
        private final byte[] buf = new byte[8];
        long written;

        Sink(OutputStream out) {
            this.out = out;
        }

        void u8(int v) throws IOException {
            out.write(v);
            written++;
        }

        void u16(int v) throws IOException {
            buf[0] = (byte) v;
            buf[1] = (byte) (v >>> 8);
            out.write(buf, 0, 2);
            written += 2;
        }

        void u32(int v) throws IOException {
            for (int i = 0; i < 4; i++) {
                buf[i] = (byte) (v >>> (8 * i));
            }
            out.write(buf, 0, 4);
            written += 4;
        }

        void u64(long v) throws IOException {
            for (int i = 0; i < 8; i++) {
                buf[i] = (byte) (v >>> (8 * i));
            }
            out.write(buf, 0, 8);
            written += 8;
        }

        void bytes(byte[] b) throws IOException {
            out.write(b);
            written += b.length;
        }

        void segment(MemorySegment s) throws IOException {
            byte[] chunk = new byte[(int) Math.min(s.byteSize(), 1 << 20)];
            for (long o = 0; o < s.byteSize(); o += chunk.length) {
                int n = (int) Math.min(chunk.length, s.byteSize() - o);
                MemorySegment.copy(s, ValueLayout.JAVA_BYTE, o, chunk, 0, n);
                out.write(chunk, 0, n);
            }
            written += s.byteSize();
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void zeros(long n) throws IOException {
            for (long i = 0; i < n; i++) {
                out.write(0);
            }
            written += n;
        }
    }
}

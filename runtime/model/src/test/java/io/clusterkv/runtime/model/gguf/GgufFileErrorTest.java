package io.clusterkv.runtime.model.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.model.ModelFormatException;
import io.clusterkv.runtime.tensor.GgmlType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed GGUF files: each fails with a {@link ModelFormatException} whose message names the file,
 * the field and the offset, before any allocation sized by the bad value.
 */
class GgufFileErrorTest {

    @TempDir
    Path dir;

    /** A valid file: a few metadata pairs (one an array of strings), an F32 tensor and a Q8_0 tensor. */
    static byte[] valid() {
        return new GgufWriter()
                .put("general.alignment", GgufValue.ofInteger(GgufType.UINT32, 32))
                .put("general.name", GgufValue.of("tiny"))
                .put("tokenizer.ggml.tokens", GgufValue.array(GgufType.STRING, new String[] {"a", "bc"}))
                .addTensor("first", GgmlType.F32, new long[] {8}, new float[8])
                .addTensor("second", GgmlType.Q8_0, new long[] {32, 2}, new float[64])
                .toByteArray();
    }

    static int find(byte[] hay, String s) {
        byte[] needle = s.getBytes(StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError(s + " not found");
    }

    static void putU64(byte[] b, int at, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
    }

    static void putU32(byte[] b, int at, int v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, v);
    }

    /** Offset of tensor {@code name}'s type field (after name, n_dims, dims). */
    static int typeFieldOf(byte[] b, String name, int nDims) {
        return find(b, name) + name.length() + 4 + 8 * nDims;
    }

    private ModelFormatException fails(byte[] bytes, String field, String... phrases) throws IOException {
        Path p = dir.resolve("bad.gguf");
        Files.write(p, bytes);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufFile.open(p).close());
        String m = e.getMessage();
        assertEquals(p, e.file());
        assertTrue(m.contains(p.toString()), "names the file: " + m);
        assertTrue(e.field().contains(field), "field '" + field + "': " + m);
        assertTrue(m.contains(e.field()), m);
        assertTrue(e.offset() >= 0 && m.contains("at offset " + e.offset()), "names the offset: " + m);
        for (String phrase : phrases) {
            assertTrue(m.contains(phrase), "'" + phrase + "' in: " + m);
        }
        return e;
    }

    @Test
    void validFileOpens() throws IOException {
        Path p = dir.resolve("ok.gguf");
        Files.write(p, valid());
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals("tiny", f.getString("general.name"));
            assertEquals(2, f.tensors().size());
        }
    }

    @Test
    void truncatedAtEveryCutPointBeforeTheLastTensorEnds() throws IOException {
        byte[] b = valid();
        int end;
        try (GgufFile f = GgufFile.open(Files.write(dir.resolve("ok.gguf"), b))) {
            GgufTensorInfo last = f.tensor("second");
            end = (int) (f.dataOffset() + last.offset() + last.data().byteSize());
        }
        for (int cut = 0; cut < end; cut++) {
            Path p = dir.resolve("cut.gguf");
            Files.write(p, Arrays.copyOf(b, cut));
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufFile.open(p).close(),
                    "cut at " + cut);
            assertTrue(e.getMessage().startsWith(p.toString()) && e.offset() >= 0 && e.offset() <= cut,
                    "cut at " + cut + ": " + e.getMessage());
        }
    }

    @Test
    void wrongMagic() throws IOException {
        byte[] b = valid();
        b[0] = 'X';
        fails(b, "magic", "not a GGUF file");
    }

    @Test
    void versionTwo() throws IOException {
        byte[] b = valid();
        putU32(b, 4, 2);
        fails(b, "version", "version 2 is not supported", "only version 3");
        putU32(b, 4, Integer.reverseBytes(3));
        fails(b, "version", "big-endian");
    }

    @Test
    void unsupportedTensorType() throws IOException {
        byte[] b = valid();
        putU32(b, typeFieldOf(b, "second", 2), 17); // IQ2_XS
        fails(b, "tensor 'second' type", "unsupported tensor type IQ2_XS in tensor second", "supported: F32, F16, ",
                "Q5_K");
        putU32(b, typeFieldOf(b, "second", 2), 1000);
        fails(b, "tensor 'second' type", "unsupported tensor type type code 1000");
    }

    @Test
    void tensorPastTheEnd() throws IOException {
        byte[] b = valid();
        putU64(b, typeFieldOf(b, "second", 2) + 4, 1L << 40);
        fails(b, "tensor 'second' data", "extend past the end of the file");
        b = valid();
        putU64(b, find(b, "second") + 6 + 4 + 8, 1L << 57); // 2^57 blocks x 34 bytes overflow a long
        fails(b, "tensor 'second' data", "extend past the end of the file");
        b = valid();
        putU64(b, find(b, "second") + 6 + 4 + 8, 1L << 62); // 32 x 2^62 elements overflow
        // regression (issue 16): "absurd size 4611686018427387904" did not say that the product overflows
        fails(b, "tensor 'second' dim 1", "the product of its dims 32 x 4611686018427387904 overflows 64 bits");
    }

    @Test
    void absurdCountsFailBeforeAllocating() throws IOException {
        byte[] b = valid();
        putU64(b, 8, 1L << 40);
        fails(b, "tensor_count", "cannot fit");
        b = valid();
        putU64(b, 16, 1L << 40);
        fails(b, "metadata_kv_count", "cannot fit");
        b = valid();
        putU64(b, 16, -1);
        fails(b, "metadata_kv_count", "18446744073709551615");
        b = valid();
        putU64(b, 24, 1L << 40); // the first key's length
        fails(b, "metadata key #0", "string length");
        b = valid();
        int tokens = find(b, "tokenizer.ggml.tokens") + "tokenizer.ggml.tokens".length();
        putU64(b, tokens + 4 + 4, 1L << 40); // after the value type and the element type: the count
        fails(b, "metadata 'tokenizer.ggml.tokens' element count", "cannot fit");
        b = valid();
        putU64(b, tokens + 4 + 4 + 8, -8); // the first string's length
        fails(b, "metadata 'tokenizer.ggml.tokens'[0]", "string length");
        b = valid();
        putU32(b, find(b, "first") + 5, 1 << 30); // n_dims
        fails(b, "tensor 'first' n_dims", "must be in [1, 8]");
    }

    @Test
    void badAlignment() throws IOException {
        byte[] b = valid();
        int at = find(b, "general.alignment") + "general.alignment".length() + 4;
        putU32(b, at, 24);
        ModelFormatException e = fails(b, "general.alignment", "power of two");
        assertEquals(at, e.offset());
        putU32(b, at, 0);
        fails(b, "general.alignment", "power of two");
    }

    @Test
    void misalignedTensorOffset() throws IOException {
        byte[] b = valid();
        putU64(b, typeFieldOf(b, "second", 2) + 4, 33);
        fails(b, "tensor 'second' offset", "not a multiple of the alignment 32");
    }
}

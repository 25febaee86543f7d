package io.clusterkv.runtime.model.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.Quantizer;
import io.clusterkv.runtime.tensor.WeightMatrix;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GgufWriter → GgufFile round trips: metadata of all 13 value types (arrays of each, nested arrays,
 * unicode strings), tensors of every type (quantized from floats or raw bytes) with identical bytes,
 * alignments other than 32, determinism, and the writer's own validation.
 */
class GgufWriterTest {

    @TempDir
    Path dir;

    static Map<String, GgufValue> allValueTypes() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("u8", GgufValue.ofInteger(GgufType.UINT8, 255));
        m.put("i8", GgufValue.ofInteger(GgufType.INT8, -128));
        m.put("u16", GgufValue.ofInteger(GgufType.UINT16, 65535));
        m.put("i16", GgufValue.ofInteger(GgufType.INT16, -32768));
        m.put("u32", GgufValue.ofInteger(GgufType.UINT32, 0xffffffffL));
        m.put("i32", GgufValue.ofInteger(GgufType.INT32, Integer.MIN_VALUE));
        m.put("u64", GgufValue.ofInteger(GgufType.UINT64, -1L)); // 2^64 - 1 as raw bits
        m.put("i64", GgufValue.ofInteger(GgufType.INT64, Long.MIN_VALUE));
        m.put("f32", GgufValue.of(-1.5e-3f));
        m.put("f64", new GgufValue(GgufType.FLOAT64, null, Math.PI));
        m.put("bool", new GgufValue(GgufType.BOOL, null, true));
        m.put("string", GgufValue.of("héllo, 世界 🚀 \u0000 end"));
        m.put("empty string", GgufValue.of(""));
        m.put("a.u8", GgufValue.array(GgufType.UINT8, new byte[] {0, 1, (byte) 255}));
        m.put("a.i8", GgufValue.array(GgufType.INT8, new byte[] {-1, 2}));
        m.put("a.bool", GgufValue.array(GgufType.BOOL, new byte[] {1, 0, 1}));
        m.put("a.u16", GgufValue.array(GgufType.UINT16, new short[] {-1, 7}));
        m.put("a.i16", GgufValue.array(GgufType.INT16, new short[] {Short.MIN_VALUE}));
        m.put("a.u32", GgufValue.array(GgufType.UINT32, new int[] {-1, 0}));
        m.put("a.i32", GgufValue.array(GgufType.INT32, new int[] {1, 2, 3}));
        m.put("a.u64", GgufValue.array(GgufType.UINT64, new long[] {-1L}));
        m.put("a.i64", GgufValue.array(GgufType.INT64, new long[] {Long.MAX_VALUE, 0}));
        m.put("a.f32", GgufValue.array(GgufType.FLOAT32, new float[] {Float.NaN, -0f, 1e30f}));
        m.put("a.f64", GgufValue.array(GgufType.FLOAT64, new double[] {Double.MIN_VALUE}));
        m.put("a.string", GgufValue.array(GgufType.STRING, new String[] {"a", "", "ünïcödé", "▁the"}));
        m.put("a.empty", GgufValue.array(GgufType.INT32, new int[0]));
        GgufValue inner1 = GgufValue.array(GgufType.STRING, new String[] {"x", "y"});
        GgufValue inner2 = GgufValue.array(GgufType.FLOAT32, new float[] {1, 2});
        m.put("a.nested", GgufValue.array(GgufType.ARRAY, new GgufValue[] {inner1, inner2}));
        m.put("a.nested2", GgufValue.array(GgufType.ARRAY, new GgufValue[] {
            GgufValue.array(GgufType.ARRAY, new GgufValue[] {GgufValue.array(GgufType.UINT8, new byte[] {9})}),
            GgufValue.array(GgufType.ARRAY, new GgufValue[0])}));
        return m;
    }

    record Written(String name, GgmlType type, long[] dims, byte[] bytes) {
    }

    static List<Written> addTensors(GgufWriter w, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Written> out = new ArrayList<>();
        for (GgmlType t : GgmlType.values()) {
            long[] dims = t.blockSize() == 1 ? new long[] {7, 3} : new long[] {t.blockSize() * 2L, 3, 1};
            int n = (int) (dims[0] * dims[1]);
            byte[] bytes;
            if (Quantizer.canQuantize(t)) {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = (float) rnd.nextGaussian();
                }
                w.addTensor("t." + t, t, dims, v);
                bytes = Quantizer.quantize(t, v);
            } else {
                bytes = new byte[(int) t.bytesFor(n)];
                rnd.nextBytes(bytes);
                w.addTensor("t." + t, t, dims, bytes);
            }
            out.add(new Written("t." + t, t, dims, bytes));
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 8, 32, 64, 4096})
    void roundTripKeepsMetadataAndTensorBytes(int alignment) throws IOException {
        GgufWriter w = new GgufWriter();
        if (alignment > 0) {
            w.put("general.alignment", GgufValue.ofInteger(GgufType.UINT32, alignment));
        }
        Map<String, GgufValue> meta = allValueTypes();
        meta.forEach(w::put);
        List<Written> tensors = addTensors(w, alignment);
        Path p = dir.resolve("a" + alignment + ".gguf");
        w.write(p);
        assertArrayEquals(w.toByteArray(), Files.readAllBytes(p), "write and toByteArray agree");
        GgufWriter again = new GgufWriter();
        if (alignment > 0) {
            again.put("general.alignment", GgufValue.ofInteger(GgufType.UINT32, alignment));
        }
        meta.forEach(again::put);
        addTensors(again, alignment);
        assertArrayEquals(w.toByteArray(), again.toByteArray(), "the same calls give the same bytes");
        int align = alignment == 0 ? 32 : alignment;
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(align, f.alignment());
            assertEquals(0, f.dataOffset() % align);
            List<String> keys = new ArrayList<>(f.metadata().keySet());
            if (alignment > 0) {
                assertEquals("general.alignment", keys.removeFirst());
            }
            assertEquals(new ArrayList<>(meta.keySet()), keys, "metadata order");
            meta.forEach((k, v) -> assertEquals(v, f.value(k), k));
            assertEquals(tensors.size(), f.tensors().size());
            for (Written t : tensors) {
                GgufTensorInfo info = f.tensor(t.name);
                assertEquals(t.type, info.type(), t.name);
                assertArrayEquals(t.dims, info.dims(), t.name);
                assertEquals(0, info.offset() % align, t.name + " offset");
                assertArrayEquals(t.bytes, info.data().toArray(ValueLayout.JAVA_BYTE), t.name + " bytes");
            }
        }
    }

    @Test
    void writtenWeightsMultiplyAsQuantized() throws IOException {
        float[] v = new float[64 * 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(i);
        }
        Path p = dir.resolve("w.gguf");
        new GgufWriter().addTensor("w", GgmlType.Q8_0, new long[] {64, 4}, v).write(p);
        try (GgufFile f = GgufFile.open(p)) {
            WeightMatrix m = f.tensor("w").asMatrix();
            assertEquals(4, m.rows());
            assertEquals(64, m.cols());
            float[] row = new float[64];
            m.dequantizeRow(2, row, 0);
            for (int i = 0; i < 64; i++) {
                assertEquals(v[128 + i], row[i], 1.0 / 127 / 2 + 1e-3);
            }
        }
    }

    @Test
    void rejectsWhatCannotBeWritten() {
        GgufWriter w = new GgufWriter().put("k", GgufValue.of("v"));
        assertThrows(IllegalArgumentException.class, () -> w.put("k", GgufValue.of("again")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> w.put("big", GgufValue.ofInteger(GgufType.UINT8, 300)));
        assertTrue(e.getMessage().contains("300") && e.getMessage().contains("UINT8"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> w.put("general.alignment", GgufValue.ofInteger(GgufType.UINT32, 24)));
        assertThrows(IllegalArgumentException.class,
                () -> w.put("bools", GgufValue.array(GgufType.BOOL, new byte[] {2})));
        assertThrows(IllegalArgumentException.class,
                () -> w.put("nest", GgufValue.array(GgufType.ARRAY, new GgufValue[] {GgufValue.of("x")})));
        assertThrows(IllegalArgumentException.class,
                () -> w.addTensor("t", GgmlType.Q4_K, new long[] {256}, new byte[10]));
        assertThrows(IllegalArgumentException.class,
                () -> w.addTensor("t", GgmlType.Q4_0, new long[] {16}, new float[16]));
        w.addTensor("t", GgmlType.F32, new long[] {2}, new float[2]);
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new long[] {2}, new float[2]));
    }
}

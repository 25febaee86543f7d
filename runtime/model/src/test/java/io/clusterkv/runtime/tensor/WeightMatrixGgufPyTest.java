package io.clusterkv.runtime.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Our kernels against llama.cpp's {@code gguf-py}: random stored rows of every quantized type, with the values
 * gguf-py's {@code dequantize} gives them (numpy, an implementation independent of ours), written by
 * {@code scripts/make-dequant-fixture.py}. Dequantization must agree to float rounding, and {@code dot}
 * (Vector API or scalar, whichever this JVM runs) with a float64 product of the reference values.
 */
class WeightMatrixGgufPyTest {

    record Row(GgmlType type, int cols, byte[] bytes, float[] values) {
    }

    static List<Row> rows() throws IOException {
        try (InputStream in = WeightMatrixGgufPyTest.class.getResourceAsStream("gguf-py-dequantized.bin")) {
            assertNotNull(in, "fixture gguf-py-dequantized.bin");
            ByteBuffer b = ByteBuffer.wrap(new DataInputStream(in).readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
            List<Row> rows = new ArrayList<>();
            for (int n = b.getInt(), i = 0; i < n; i++) {
                GgmlType type = GgmlType.ofCode(b.getInt());
                int cols = b.getInt();
                byte[] bytes = new byte[b.getInt()];
                b.get(bytes);
                float[] values = new float[cols];
                b.asFloatBuffer().get(values);
                b.position(b.position() + 4 * cols);
                rows.add(new Row(type, cols, bytes, values));
            }
            return rows;
        }
    }

    @Test
    void everyQuantizedTypeDequantizesAsGgufPyDoes() throws IOException {
        Set<GgmlType> seen = EnumSet.noneOf(GgmlType.class);
        SplittableRandom rnd = new SplittableRandom(7);
        try (Arena arena = Arena.ofConfined()) {
            for (Row row : rows()) {
                assertNotNull(row.type(), "a type this runtime reads");
                seen.add(row.type());
                MemorySegment seg = arena.allocate(row.bytes().length);
                MemorySegment.copy(row.bytes(), 0, seg, ValueLayout.JAVA_BYTE, 0, row.bytes().length);
                WeightMatrix m = WeightMatrix.of(row.type(), seg, 1, row.cols());
                float[] got = new float[row.cols()];
                m.dequantizeRow(0, got, 0);
                double magnitude = 0;
                float[] x = new float[row.cols()];
                double exact = 0;
                for (int i = 0; i < row.cols(); i++) {
                    float want = row.values()[i];
                    assertEquals(want, got[i], 1e-6f * Math.max(1, Math.abs(want)), row.type() + " element " + i);
                    x[i] = (float) (rnd.nextDouble() * 2 - 1);
                    exact += (double) want * x[i];
                    magnitude += Math.abs((double) want * x[i]);
                }
                float dot = m.dot(0, x, 0);
                assertTrue(Math.abs(dot - exact) <= 1e-5 * magnitude + 1e-6,
                        row.type() + " dot " + dot + " vs " + exact + " (magnitude " + magnitude + ")");
            }
        }
        assertEquals(EnumSet.of(GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
                GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.IQ4_NL), seen, "the fixture covers every quantized type");
    }
}

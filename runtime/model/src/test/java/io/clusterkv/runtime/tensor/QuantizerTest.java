package io.clusterkv.runtime.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import org.junit.jupiter.api.Test;

/**
 * Quantize → dequantize error bounds for Q8_0 and Q4_0 over generated blocks of many magnitudes, the
 * exact codes of ggml's reference rounding on hand-made blocks, and the F16/BF16 conversions.
 */
class QuantizerTest {

    /**
     * Rows of 1 to 4 blocks; each block's values have magnitudes up to 2^e, e from -12 to 7 as in the
     * weights of real checkpoints, and now and then a block is all zeros. A failure shrinks to the
     * fewest, smallest blocks that break the bound.
     */
    @Provide
    Arbitrary<float[]> rows() {
        Arbitrary<float[]> scaled = Arbitraries.integers().between(-12, 7).flatMap(e -> Arbitraries.doubles()
                .between(-1, 1).ofScale(9).array(double[].class).ofSize(32).map(unit -> {
                    float[] block = new float[32];
                    for (int j = 0; j < 32; j++) {
                        block[j] = (float) (unit[j] * Math.scalb(1.0, e));
                    }
                    return block;
                }));
        Arbitrary<float[]> block = Arbitraries.frequencyOf(Tuple.of(9, scaled), Tuple.of(1, Arbitraries.just(new float[32])));
        return block.list().ofMinSize(1).ofMaxSize(4).map(blocks -> {
            float[] x = new float[32 * blocks.size()];
            for (int b = 0; b < blocks.size(); b++) {
                System.arraycopy(blocks.get(b), 0, x, 32 * b, 32);
            }
            return x;
        });
    }

    private static float[] roundTrip(GgmlType type, float[] x) {
        byte[] q = Quantizer.quantize(type, x);
        float[] y = new float[x.length];
        WeightMatrix.of(type, MemorySegment.ofArray(q), 1, x.length).dequantizeRow(0, y, 0);
        return y;
    }

    @Property(tries = 200)
    void q80ErrorIsAtMostHalfAStep(@ForAll("rows") float[] x) {
        float[] y = roundTrip(GgmlType.Q8_0, x);
        for (int b = 0; b < x.length / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[32 * b + j]));
            }
            double d = amax / 127f;
            double d16 = Float.float16ToFloat(Float.floatToFloat16((float) d));
            double bound = d / 2 + 127 * Math.abs(d - d16) + 1e-6 * d;
            for (int j = 0; j < 32; j++) {
                int i = 32 * b + j;
                assertTrue(Math.abs(x[i] - y[i]) <= bound, "block " + b + " elem " + j + ": " + x[i] + " -> " + y[i]
                        + ", bound " + bound);
            }
        }
    }

    @Property(tries = 200)
    void q40ErrorIsAtMostHalfAStepExceptOppositeTheMax(@ForAll("rows") float[] x) {
        float[] y = roundTrip(GgmlType.Q4_0, x);
        for (int b = 0; b < x.length / 32; b++) {
            float amax = 0;
            float max = 0;
            for (int j = 0; j < 32; j++) {
                if (amax < Math.abs(x[32 * b + j])) {
                    amax = Math.abs(x[32 * b + j]);
                    max = x[32 * b + j];
                }
            }
            double d = max / -8f;
            double d16 = Float.float16ToFloat(Float.floatToFloat16((float) d));
            for (int j = 0; j < 32; j++) {
                int i = 32 * b + j;
                double t = d == 0 ? 0 : x[i] / d;
                double bound = (t < 7.5 ? Math.abs(d) / 2 : Math.abs(d)) + 8 * Math.abs(d - d16) + 1e-6 * Math.abs(d);
                assertTrue(Math.abs(x[i] - y[i]) <= bound, "block " + b + " elem " + j + ": " + x[i] + " -> " + y[i]
                        + ", bound " + bound);
            }
        }
    }

    @Test
    void q80RoundsHalvesAwayFromZeroAsGgml() {
        float[] x = new float[32];
        for (int j = 0; j < 31; j++) {
            x[j] = j - 15.5f; // halves: -15.5 .. 14.5
        }
        x[31] = 127; // d = 1 exactly
        byte[] q = Quantizer.quantize(GgmlType.Q8_0, x);
        assertEquals(0x3c00, (q[0] & 0xff) | (q[1] & 0xff) << 8, "d = 1.0 in F16");
        for (int j = 0; j < 31; j++) {
            int expected = (int) Math.signum(x[j]) * (int) (Math.abs(x[j]) + 0.5);
            assertEquals(expected, q[2 + j], "x = " + x[j]);
        }
        assertEquals(127, q[33]);
    }

    @Test
    void q40MapsTheLargestMagnitudeToMinusEight() {
        float[] x = new float[32];
        x[5] = -4; // the max by magnitude: d = 0.5, q = 0 (value -8 d = -4)
        x[20] = 3.9f; // x / d = 7.8 -> clipped to 15 -> 3.5
        x[7] = 0.25f; // 0.5 step: 0.5 + 8.5 = 9 -> 9 -> 0.5 (ggml truncates after adding 8.5)
        byte[] q = Quantizer.quantize(GgmlType.Q4_0, x);
        assertEquals(0.5f, Float.float16ToFloat((short) ((q[0] & 0xff) | (q[1] & 0xff) << 8)));
        assertEquals(0, q[2 + 5] & 0x0f);
        assertEquals(15, (q[2 + 4] >> 4) & 0x0f);
        assertEquals(9, q[2 + 7] & 0x0f);
        assertEquals(8, q[2] & 0x0f, "zero maps to 8");
    }

    @Test
    void zeroBlocksStayZero() {
        float[] x = new float[64];
        for (GgmlType t : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
            for (float y : roundTrip(t, x)) {
                assertEquals(0, y, 0, t + ": " + y); // Q4_0 gives d = -0.0 as ggml does; ±0 both pass
            }
        }
    }

    @Test
    void halfFormatsRoundToNearestEven() {
        float[] x = {1 + 0x1p-8f, 1 + 3 * 0x1p-8f, -2.5f, 0, Float.POSITIVE_INFINITY, 65504, 1e-7f};
        float[] bf = roundTrip(GgmlType.BF16, x);
        assertEquals(1f, bf[0]);
        assertEquals(1 + 0x1p-6f, bf[1]);
        assertEquals(-2.5f, bf[2]);
        assertEquals(Float.POSITIVE_INFINITY, bf[4]);
        assertTrue(Float.isNaN(Quantizer.bf16ToFloat(Quantizer.floatToBf16(Float.NaN))));
        float[] h = roundTrip(GgmlType.F16, x);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(x[i])), h[i]);
        }
        assertArrayEquals(x, roundTrip(GgmlType.F32, x));
    }

    @Test
    void rejectsKQuantsAndPartialBlocks() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Quantizer.quantize(GgmlType.Q4_K, new float[256]));
        assertTrue(e.getMessage().contains("Q4_K"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Quantizer.quantize(GgmlType.Q8_0, new float[33]));
        assertThrows(IndexOutOfBoundsException.class, () -> Quantizer.quantize(GgmlType.Q8_0, new float[32], 0, 32,
                MemorySegment.ofArray(new byte[33]), 0));
    }
}

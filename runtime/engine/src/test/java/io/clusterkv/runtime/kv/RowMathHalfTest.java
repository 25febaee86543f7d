package io.clusterkv.runtime.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * The F16 widening of {@link RowMath}, both the in-register Vector API one ({@code widen} into a
 * segment, which {@code dot} and {@code axpy} share) and the plain loops C2 vectorises ({@code read},
 * {@code widen} into arrays), against {@link Float#float16ToFloat} for every one of the 65536 bit
 * patterns: zeros, subnormals, normals, infinities and NaNs of both signs. It must be exact: the same
 * binary32 bits, or a NaN for a NaN.
 */
class RowMathHalfTest {

    private static final int PATTERNS = 1 << 16;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static MemorySegment allPatterns(Arena arena, int leadingBytes) {
        MemorySegment seg = arena.allocate(leadingBytes + 2L * PATTERNS, 64);
        for (int b = 0; b < PATTERNS; b++) {
            seg.set(SHORT, leadingBytes + 2L * b, (short) b);
        }
        return seg;
    }

    private static void assertWidened(int bits, float actual) {
        float expected = Float.float16ToFloat((short) bits);
        if (Float.isNaN(expected)) {
            assertTrue(Float.isNaN(actual), () -> "0x" + Integer.toHexString(bits) + " must widen to NaN, was " + actual);
        } else {
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual),
                    () -> "0x" + Integer.toHexString(bits) + ": expected " + expected + ", was " + actual);
        }
    }

    @Test
    void readWidensEveryPatternExactly() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = allPatterns(arena, 0);
            float[] out = new float[PATTERNS];
            RowMath.read(seg, 0, KvFormat.F16, out, 0, PATTERNS);
            for (int b = 0; b < PATTERNS; b++) {
                assertWidened(b, out[b]);
            }
        }
    }

    @Test
    void widenConvertsEveryPatternExactlyAtAnyAlignment() {
        try (Arena arena = Arena.ofConfined()) {
            for (int lead : new int[] {0, 2, 6}) { // unaligned sources too
                MemorySegment src = allPatterns(arena, lead);
                MemorySegment dst = arena.allocate(4L * PATTERNS + 4, 64);
                RowMath.widen(src, lead, dst, 4, PATTERNS);
                for (int b = 0; b < PATTERNS; b++) {
                    assertWidened(b, dst.get(FLOAT, 4 + 4L * b));
                }
            }
        }
    }

    @Test
    void widenIntoAnArrayConvertsEveryPatternExactly() {
        try (Arena arena = Arena.ofConfined()) {
            for (int lead : new int[] {0, 2}) {
                MemorySegment src = allPatterns(arena, lead);
                float[] out = new float[PATTERNS + 3];
                for (int repeat = 0; repeat < 20; repeat++) { // again once C2 has vectorised the loop
                    RowMath.widen(src, lead, out, 3, PATTERNS);
                }
                for (int b = 0; b < PATTERNS; b++) {
                    assertWidened(b, out[3 + b]);
                }
            }
        }
    }

    @Test
    void widenFromShortsConvertsEveryPatternExactly() {
        short[] src = new short[PATTERNS + 1];
        for (int b = 0; b < PATTERNS; b++) {
            src[1 + b] = (short) b;
        }
        float[] out = new float[PATTERNS];
        for (int repeat = 0; repeat < 20; repeat++) { // again once C2 has vectorised the loop
            RowMath.widen(src, 1, out, 0, PATTERNS);
        }
        for (int b = 0; b < PATTERNS; b++) {
            assertWidened(b, out[b]);
        }
    }

    @Test
    void widenHandlesCountsThatAreNotAMultipleOfTheLanes() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = allPatterns(arena, 0);
            MemorySegment dst = arena.allocate(4L * PATTERNS, 64);
            int start = 0x7bf0; // just below infinity: the scalar tail sees large normals, inf and NaNs
            for (int count : new int[] {1, 7, RowMath.lanes() + 3, 33}) {
                dst.fill((byte) 0x55);
                RowMath.widen(src, 2L * start, dst, 0, count);
                for (int i = 0; i < count; i++) {
                    assertWidened(start + i, dst.get(FLOAT, 4L * i));
                }
                assertEquals(0x55555555, dst.get(ValueLayout.JAVA_INT_UNALIGNED, 4L * count), "wrote past the count");
            }
        }
    }
}

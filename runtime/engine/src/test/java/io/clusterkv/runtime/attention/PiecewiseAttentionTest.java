package io.clusterkv.runtime.attention;

import static io.clusterkv.runtime.attention.AttentionTest.TOLERANCE;
import static io.clusterkv.runtime.attention.AttentionTest.assertClose;
import static io.clusterkv.runtime.attention.AttentionTest.maxAbsValue;
import static io.clusterkv.runtime.attention.AttentionTest.queries;
import static io.clusterkv.runtime.attention.AttentionTest.reference;
import static io.clusterkv.runtime.attention.AttentionTest.shard;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link PiecewiseAttention} over a selection cut into pieces (packed row copies, gathered positions,
 * a range) equals {@link Attention#selected} over the whole and the double reference.
 */
class PiecewiseAttentionTest {

    @ParameterizedTest(name = "{0} dim={1}")
    @CsvSource({"F32, 64", "F32, 40", "F16, 64", "F16, 40", "F32, 128", "F16, 8"})
    void piecesEqualTheWhole(KvFormat format, int dim) {
        int n = 600;
        int heads = 3;
        try (KvShard shard = shard(n, dim, format, 64, 11); Arena arena = Arena.ofConfined()) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(heads, dim, 1.0, 12);
            float scale = (float) (1 / Math.sqrt(dim));
            // explicit positions: 0, 3, 6, ... below 400; the window [500, 600)
            int[] positions = IntStream.range(0, 400).filter(p -> p % 3 == 0).toArray();
            // the first 100 of them copied into a packed segment, keys then values, as the device tier does
            int copied = 100;
            long rowBytes = (long) dim * format.bytes();
            MemorySegment packed = arena.allocate(2 * copied * rowBytes + 16);
            long keys = 16; // unaligned on purpose
            long values = keys + copied * rowBytes;
            for (int i = 0; i < copied; i++) {
                int p = positions[i];
                MemorySegment.copy(kv.keySegmentOf(p), kv.rowOffset(p), packed, keys + i * rowBytes, rowBytes);
                MemorySegment.copy(kv.valueSegmentOf(p), kv.rowOffset(p), packed, values + i * rowBytes, rowBytes);
            }
            int[] all = IntStream.concat(IntStream.of(positions), IntStream.range(500, 600)).toArray();
            PiecewiseAttention pass = new PiecewiseAttention();
            AttentionScratch scratch = new AttentionScratch();
            for (int h = 0; h < heads; h++) {
                float[] out = new float[heads * dim];
                pass.begin(q, h, scale);
                pass.absorbRange(kv, 500, 600);
                pass.absorbRows(packed, keys, packed, values, format, 60);
                pass.absorbPositions(kv, positions, copied, positions.length, 400);
                pass.absorbRows(packed, keys + 60 * rowBytes, packed, values + 60 * rowBytes, format, copied - 60);
                pass.finish(out);
                float[] whole = new float[heads * dim];
                Attention.selected(kv, q, h, positions, positions.length, 500, 600, scale, whole, scratch);
                double max = maxAbsValue(kv);
                assertClose(reference(kv, q, h, all, scale), out, h * dim, TOLERANCE * max, "pieces");
                for (int c = 0; c < dim; c++) {
                    assertEquals(whole[h * dim + c], out[h * dim + c], 2 * TOLERANCE * max,
                            "pieces against selected, channel " + c);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"F32", "F16"})
    void aGroupPassWithHeadMasksEqualsEachHeadOverItsOwnPieces(KvFormat format) {
        int dim = 64;
        int heads = 5; // head 4 attends no piece: zeros
        try (KvShard shard = shard(700, dim, format, 64, 21); Arena arena = Arena.ofConfined()) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(heads, dim, 1.0, 22);
            float scale = (float) (1 / Math.sqrt(dim));
            int[] gathered = IntStream.range(0, 300).map(i -> (i * 7) % 600).distinct().toArray();
            long rowBytes = (long) dim * format.bytes();
            int copied = 40; // positions 600..639 as a packed copy
            MemorySegment packed = arena.allocate(2 * copied * rowBytes);
            for (int i = 0; i < copied; i++) {
                MemorySegment.copy(kv.keySegmentOf(600 + i), kv.rowOffset(600 + i), packed, i * rowBytes, rowBytes);
                MemorySegment.copy(kv.valueSegmentOf(600 + i), kv.rowOffset(600 + i), packed,
                        (copied + i) * rowBytes, rowBytes);
            }
            PiecewiseAttention pass = new PiecewiseAttention();
            float[] out = new float[heads * dim];
            java.util.Arrays.fill(out, Float.NaN);
            pass.beginGroup(q, scale);
            pass.mask(0b0101);
            pass.absorbPositions(kv, gathered, 0, gathered.length, 600);   // heads 0 and 2
            pass.mask(0b0010);
            pass.absorbRange(kv, 650, 700);                                // head 1
            pass.mask(0b1111);
            pass.absorbRows(packed, 0, packed, copied * rowBytes, format, copied); // heads 0..3
            pass.finish(out);
            int[][] expected = {
                    IntStream.concat(IntStream.of(gathered), IntStream.range(600, 640)).toArray(),
                    IntStream.concat(IntStream.range(650, 700), IntStream.range(600, 640)).toArray(),
                    IntStream.concat(IntStream.of(gathered), IntStream.range(600, 640)).toArray(),
                    IntStream.range(600, 640).toArray()};
            for (int h = 0; h < 4; h++) {
                assertClose(reference(kv, q, h, expected[h], scale), out, h * dim, TOLERANCE * maxAbsValue(kv),
                        "head " + h);
            }
            for (int c = 0; c < dim; c++) {
                assertEquals(0f, out[4 * dim + c], "head 4 attended nothing");
            }
            PiecewiseAttention single = new PiecewiseAttention();
            single.begin(q, 0, scale);
            assertThrows(IllegalStateException.class, () -> single.mask(1), "a mask needs a group pass");
        }
    }

    @Test
    void nothingAbsorbedWritesZerosToItsRowOnly() {
        float[] out = new float[2 * 16];
        java.util.Arrays.fill(out, 5f);
        PiecewiseAttention pass = new PiecewiseAttention();
        pass.begin(queries(2, 16, 1, 1), 1, 1f);
        pass.finish(out);
        for (int c = 0; c < 16; c++) {
            assertEquals(5f, out[c]);
            assertEquals(0f, out[16 + c]);
        }
    }

    @Test
    void misuseIsRejected() {
        try (KvShard shard = shard(50, 16, KvFormat.F32, 64, 1); Arena arena = Arena.ofConfined()) {
            KvShard.View kv = shard.snapshot();
            PiecewiseAttention pass = new PiecewiseAttention();
            float[] out = new float[16];
            assertThrows(IllegalStateException.class, () -> pass.finish(out));
            assertThrows(IllegalStateException.class, () -> pass.absorbRange(kv, 0, 10));
            Queries q = queries(1, 16, 1, 1);
            assertThrows(IllegalArgumentException.class, () -> pass.begin(q, 0, Float.POSITIVE_INFINITY));
            assertThrows(IndexOutOfBoundsException.class, () -> pass.begin(q, 1, 1f));
            pass.begin(q, 0, 1f);
            assertThrows(IndexOutOfBoundsException.class, () -> pass.absorbRange(kv, 40, 51));
            assertThrows(IllegalArgumentException.class, () -> pass.absorbPositions(kv, new int[] {1}, 0, 1, 51));
            assertThrows(IndexOutOfBoundsException.class, () -> pass.absorbPositions(kv, new int[] {30}, 0, 1, 20));
            MemorySegment small = arena.allocate(16 * 4 * 3);
            assertThrows(IndexOutOfBoundsException.class,
                    () -> pass.absorbRows(small, 0, small, 16 * 4, KvFormat.F32, 3));
            try (KvShard wide = shard(10, 32, KvFormat.F32, 64, 1)) {
                assertThrows(IllegalArgumentException.class, () -> pass.absorbRange(wide.snapshot(), 0, 1));
            }
            pass.finish(out);
            assertThrows(IllegalStateException.class, () -> pass.finish(out));
        }
    }
}

package io.clusterkv.runtime.model.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.WeightMatrix;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No 2^31 limit: a sparse file (a few pages on disk) holds a GGUF header and a Q8_0 tensor whose data
 * starts past 2^31 bytes, and a matrix whose last row starts past 2^31 bytes; both read correctly.
 */
class LargeOffsetTest {

    @TempDir
    Path dir;

    @Test
    void tensorsAndRowsPastTwoGigabytes() throws IOException {
        assumeTrue(Files.getFileStore(dir).getUsableSpace() > 8L << 30, "needs room for a sparse 2.2 GB file");
        long bigOffset = 1L << 31; // from the data section, aligned to 32
        int rows = 3;
        // header: a small F32 tensor at 0 and a 32 x 3 Q8_0 tensor at 2^31
        byte[] small = new GgufWriter().addTensor("small", GgmlType.F32, new long[] {8}, new float[8])
                .addTensor("big", GgmlType.Q8_0, new long[] {32, rows}, new float[32 * rows]).toByteArray();
        int typeAt = GgufFileErrorTest.typeFieldOf(small, "big", 2);
        GgufFileErrorTest.putU64(small, typeAt + 4, bigOffset);
        long dataOffset = small.length - 32 - 128; // header end: the data section holds 32 + 3·34 padded to 128
        Path p = dir.resolve("sparse.gguf");
        byte[] block = new byte[34 * rows];
        for (int r = 0; r < rows; r++) {
            ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN).putShort(34 * r, Float.floatToFloat16(r + 1f));
            for (int j = 0; j < 32; j++) {
                block[34 * r + 2 + j] = (byte) (j - 16);
            }
        }
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.write(small, 0, (int) dataOffset);
            f.seek(dataOffset + bigOffset);
            f.write(block);
        }
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(dataOffset, f.dataOffset());
            GgufTensorInfo big = f.tensor("big");
            assertEquals(bigOffset, big.offset());
            WeightMatrix m = big.asMatrix();
            float[] ones = new float[32];
            java.util.Arrays.fill(ones, 1);
            for (int r = 0; r < rows; r++) {
                assertEquals((r + 1) * -16f, m.dot(r, ones, 0), "row " + r); // Σ (j - 16) = -16
            }
        }
        // a matrix over the whole mapping: rows of 34 bytes, the last starting past 2^31
        long size = Files.size(p);
        long lastRowStart = dataOffset + bigOffset + 34L * (rows - 1);
        try (var arena = java.lang.foreign.Arena.ofConfined();
             var ch = java.nio.channels.FileChannel.open(p)) {
            long first = lastRowStart % 34; // choose the start so rows line up with the written blocks
            long n = (size - first) / 34;
            var seg = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, first, n * 34, arena);
            WeightMatrix m = WeightMatrix.of(GgmlType.Q8_0, seg, Math.toIntExact(n), 32);
            int last = Math.toIntExact(n - 1);
            assertTrue(34L * last > Integer.MAX_VALUE);
            float[] row = new float[32];
            m.dequantizeRow(last, row, 0);
            assertEquals(3f * (31 - 16), row[31]);
            assertEquals(0f, m.dot(0, new float[32], 0));
        }
    }
}

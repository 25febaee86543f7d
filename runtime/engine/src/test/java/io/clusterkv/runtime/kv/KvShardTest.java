package io.clusterkv.runtime.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.KeyView;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class KvShardTest {

    @ParameterizedTest
    @EnumSource(KvFormat.class)
    void rowsReadBackAcrossChunks(KvFormat format) {
        int d = 40;
        int n = 300;
        Random r = new Random(1);
        float[] k = new float[n * d];
        float[] v = new float[n * d];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) r.nextGaussian();
            v[i] = (float) r.nextGaussian() * 3;
        }
        try (KvShard shard = new KvShard(d, format, 64)) {
            shard.appendAll(k, v, n);
            assertEquals(n, shard.size());
            KvShard.View view = shard.snapshot();
            float[] q = new float[d];
            for (int c = 0; c < d; c++) {
                q[c] = (float) r.nextGaussian();
            }
            float[] back = new float[n * d];
            view.copyKeys(0, n, back, 0);
            float[] backV = new float[n * d];
            view.copyValues(0, n, backV, 0);
            for (int p = 0; p < n; p++) {
                double dot = 0;
                for (int c = 0; c < d; c++) {
                    float expectK = round(format, k[p * d + c]);
                    float expectV = round(format, v[p * d + c]);
                    assertEquals(expectK, view.get(p, c), 0f);
                    assertEquals(expectK, back[p * d + c], 0f);
                    assertEquals(expectV, view.value(p, c), 0f);
                    assertEquals(expectV, backV[p * d + c], 0f);
                    dot += (double) expectK * q[c];
                }
                assertEquals(dot, view.dot(p, q, 0), 1e-4 * (1 + Math.abs(dot)));
            }
        }
    }

    private static float round(KvFormat f, float x) {
        return f == KvFormat.F16 ? Float.float16ToFloat(Float.floatToFloat16(x)) : x;
    }

    @Test
    void snapshotKeepsItsSizeWhileTheShardGrows() throws Exception {
        try (KvShard shard = new KvShard(8, KvFormat.F32, 4)) {
            float[] row = new float[8];
            for (int i = 0; i < 10; i++) {
                row[0] = i;
                shard.append(row, 0, row, 0);
            }
            KeyView snap = shard.snapshot();
            KeyView live = shard.keys();
            ExecutorService ex = Executors.newSingleThreadExecutor();
            try {
                Future<Float> sum = ex.submit(() -> {
                    float s = 0;
                    for (int p = 0; p < snap.size(); p++) {
                        s += snap.get(p, 0);
                    }
                    return s;
                });
                for (int i = 10; i < 100; i++) {
                    row[0] = i;
                    shard.append(row, 0, row, 0);
                }
                assertEquals(45f, sum.get());
            } finally {
                ex.shutdown();
            }
            assertEquals(10, snap.size());
            assertEquals(100, live.size());
            assertEquals(99f, live.get(99, 0));
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> snap.get(10, 0));
            assertTrue(e.getMessage().contains("10"), e.getMessage());
        }
    }

    @Test
    void badArgumentsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new KvShard(0, KvFormat.F32));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new KvShard(8, KvFormat.F32, 100));
        assertTrue(e.getMessage().contains("100"), e.getMessage());
        try (KvShard shard = new KvShard(8, KvFormat.F16)) {
            assertThrows(IndexOutOfBoundsException.class, () -> shard.append(new float[4], 0, new float[8], 0));
            assertEquals(0, shard.size(), "a failed append writes nothing");
            assertThrows(IndexOutOfBoundsException.class, () -> shard.keys().get(0, 0));
        }
    }
}

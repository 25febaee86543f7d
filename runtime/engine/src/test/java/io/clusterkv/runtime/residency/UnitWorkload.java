package io.clusterkv.runtime.residency;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.attention.Attention;
import io.clusterkv.runtime.attention.AttentionScratch;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A seeded stream of selections over one shard, shaped like ClusterKV's: the first {@code indexed}
 * positions are split into disjoint units (scattered positions in a fixed order, ids {@code 0 ..
 * units-1}) and a pool of loose positions; each step every query head takes a random subset of units,
 * each whole or truncated to a prefix, a few loose positions ({@link HeadSelectionBuffer#NO_UNIT}) and
 * usually a recent window over the positions not indexed. Now and then a unit's order is reshuffled
 * and its version bumped, as a policy does when a unit's membership changes.
 *
 * <p>{@link #check} compares an output against {@link Attention#selected} per head and against a
 * double-precision reference (as {@code AttentionTest} does; same tolerance, see there).
 */
final class UnitWorkload {

    static final double TOLERANCE = 2e-6;

    final KvShard shard;
    final int dim;
    final int heads;
    final int indexed;
    final int[][] units;   // (units) ordered positions
    final int[] versions;  // (units)
    final int[] loose;
    final double maxAbsValue;
    private final Random random;
    private final AttentionScratch scratch = new AttentionScratch();

    UnitWorkload(int n, int indexed, int dim, KvFormat format, int heads, int unitCount, int maxUnit, long seed) {
        this(n, indexed, dim, format, heads, unitCount, maxUnit, false, seed);
    }

    /** With {@code fixed}, every unit has exactly {@code maxUnit} positions. */
    UnitWorkload(int n, int indexed, int dim, KvFormat format, int heads, int unitCount, int maxUnit, boolean fixed,
                 long seed) {
        this.dim = dim;
        this.heads = heads;
        this.indexed = indexed;
        this.random = new Random(seed);
        this.shard = new KvShard(dim, format, 64);
        float[] k = new float[n * dim];
        float[] v = new float[n * dim];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) random.nextGaussian();
            v[i] = (float) (random.nextGaussian() * 2 + 0.5);
        }
        shard.appendAll(k, v, n);
        List<Integer> order = new ArrayList<>();
        for (int p = 0; p < indexed; p++) {
            order.add(p);
        }
        Collections.shuffle(order, random);
        // runs of consecutive positions sometimes, as Quest pages are: exercises run copies
        units = new int[unitCount][];
        versions = new int[unitCount];
        int next = 0;
        for (int u = 0; u < unitCount; u++) {
            int size = Math.min(fixed ? maxUnit : 1 + random.nextInt(maxUnit), indexed - next - 8);
            units[u] = new int[Math.max(size, 0)];
            for (int i = 0; i < units[u].length; i++) {
                units[u][i] = order.get(next++);
            }
            if (u % 3 == 0) {
                java.util.Arrays.sort(units[u]);
            }
        }
        loose = new int[indexed - next];
        for (int i = 0; i < loose.length; i++) {
            loose[i] = order.get(next++);
        }
        double m = 0;
        KvShard.View view = shard.snapshot();
        for (int p = 0; p < n; p++) {
            for (int c = 0; c < dim; c++) {
                m = Math.max(m, Math.abs(view.value(p, c)));
            }
        }
        maxAbsValue = m;
    }

    Queries queries() {
        float[] q = new float[heads * dim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) random.nextGaussian();
        }
        return Queries.wrap(q, heads, dim);
    }

    float scale() {
        return (float) (1 / Math.sqrt(dim));
    }

    /** Reshuffles one unit's order under a new version, with probability {@code p}. */
    void maybeReversion(double p) {
        if (random.nextDouble() < p) {
            int u = random.nextInt(units.length);
            List<Integer> list = new ArrayList<>();
            for (int x : units[u]) {
                list.add(x);
            }
            Collections.shuffle(list, random);
            for (int i = 0; i < units[u].length; i++) {
                units[u][i] = list.get(i);
            }
            versions[u]++;
        }
    }

    /** Fills a random selection over {@code [0, context)}, {@code context >= indexed}. */
    void fill(SelectionBuffer selection, int context, double unitProbability) {
        selection.reset(indexed, context);
        for (int h = 0; h < heads; h++) {
            HeadSelectionBuffer head = selection.head(h);
            int looseTaken = 0;
            for (int u = 0; u < units.length; u++) {
                if (random.nextDouble() >= unitProbability || units[u].length == 0) {
                    continue;
                }
                int length = random.nextDouble() < 0.6 ? units[u].length : 1 + random.nextInt(units[u].length);
                head.beginUnit(u, versions[u]);
                for (int i = 0; i < length; i++) {
                    head.add(units[u][i]);
                }
                head.endUnit();
                if (random.nextDouble() < 0.3 && looseTaken < loose.length) { // loose positions between units
                    head.add(loose[looseTaken]);
                    looseTaken += 1 + random.nextInt(2);
                }
            }
            if (random.nextDouble() < 0.8) {
                head.attendFrom(indexed + random.nextInt(context - indexed + 1));
            }
        }
    }

    /** Selects every unit listed, whole, for every head; nothing else. */
    void fillUnits(SelectionBuffer selection, int context, int... unitIndexes) {
        selection.reset(indexed, context);
        for (int h = 0; h < heads; h++) {
            for (int u : unitIndexes) {
                HeadSelectionBuffer head = selection.head(h);
                head.beginUnit(u, versions[u]);
                for (int p : units[u]) {
                    head.add(p);
                }
                head.endUnit();
            }
        }
    }

    /** Asserts {@code out} matches {@link Attention#selected} and the double reference for every head. */
    void check(KvShard.View kv, Queries q, SelectionBuffer selection, float[] out, String what) {
        float[] expected = new float[heads * dim];
        double tolerance = TOLERANCE * maxAbsValue;
        for (int h = 0; h < heads; h++) {
            HeadSelectionBuffer head = selection.head(h);
            Attention.selected(kv, q, head, scale(), expected, scratch);
            double[] exact = reference(kv, q, head);
            for (int c = 0; c < dim; c++) {
                float got = out[h * dim + c];
                float kernel = expected[h * dim + c];
                assertTrue(Math.abs(got - kernel) <= 2 * tolerance, what + ": head " + h + " channel " + c
                        + ": residency " + got + " vs Attention.selected " + kernel);
                assertTrue(Math.abs(got - exact[c]) <= tolerance, what + ": head " + h + " channel " + c
                        + ": residency " + got + " vs reference " + exact[c]);
            }
        }
    }

    /** One head's output over its selection, every step in double. */
    double[] reference(KvShard.View kv, Queries q, HeadSelectionBuffer head) {
        List<Integer> positions = new ArrayList<>();
        for (int i = 0; i < head.size(); i++) {
            positions.add(head.position(i));
        }
        if (head.windowStart() != HeadSelectionBuffer.NO_WINDOW) {
            for (int p = head.windowStart(); p < head.contextSize(); p++) {
                positions.add(p);
            }
        }
        double[] out = new double[dim];
        if (positions.isEmpty()) {
            return out;
        }
        double[] s = new double[positions.size()];
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < s.length; i++) {
            double dot = 0;
            for (int c = 0; c < dim; c++) {
                dot += (double) q.get(head.head(), c) * kv.get(positions.get(i), c);
            }
            s[i] = dot * scale();
            m = Math.max(m, s[i]);
        }
        double sum = 0;
        for (int i = 0; i < s.length; i++) {
            s[i] = Math.exp(s[i] - m);
            sum += s[i];
        }
        for (int i = 0; i < s.length; i++) {
            for (int c = 0; c < dim; c++) {
                out[c] += s[i] / sum * kv.value(positions.get(i), c);
            }
        }
        return out;
    }
}

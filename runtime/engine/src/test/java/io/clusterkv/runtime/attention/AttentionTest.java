package io.clusterkv.runtime.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Attention} against a naive reference: every score in double, a plain softmax over all of
 * them in double, the weighted sum in double, reading the stored (for F16, rounded) rows back
 * through the view, so storage rounding is not counted as kernel error.
 *
 * <p>Tolerance. The kernels compute in float: each score is a float dot product ({@code headDim}
 * terms, pairwise-ish, relative error a few {@code 1e-7} of {@code sum |q_c k_c|}, here about 1 in
 * magnitude), each weight a float exp (a few ulp) and the sums accumulate in float within a block and
 * in double across blocks. A score error {@code d} changes a weight by a factor {@code 1 + d}, so the
 * output, a convex combination of value rows, moves by at most about
 * {@code (d + n_block * 1e-7) * max|v|}: for the sizes here about {@code 1e-6 * max|v|} at worst
 * (observed: at most 7% of the tolerance, in the peaked case). The tests allow {@code 2e-6 * max|v|}
 * absolute per channel;
 * a rescale off by {@code 1e-4}, let alone a wrong block boundary or a dropped row, fails most cases.
 */
class AttentionTest {

    static final double TOLERANCE = 2e-6;
    private static final int CHUNK = 64;

    private static ForkJoinPool pool;

    @BeforeAll
    static void startPool() {
        pool = new ForkJoinPool(2);
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    // ---------------------------------------------------------------- fixtures

    /** A shard of {@code n} random rows; values have a non-zero mean so outputs are not near zero. */
    static KvShard shard(int n, int dim, KvFormat format, int chunk, long seed) {
        Random r = new Random(seed);
        float[] k = new float[n * dim];
        float[] v = new float[n * dim];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) r.nextGaussian();
            v[i] = (float) (r.nextGaussian() * 2 + 0.5);
        }
        KvShard shard = new KvShard(dim, format, chunk);
        shard.appendAll(k, v, n);
        return shard;
    }

    static Queries queries(int heads, int dim, double sigma, long seed) {
        Random r = new Random(seed);
        float[] q = new float[heads * dim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) (r.nextGaussian() * sigma);
        }
        return Queries.wrap(q, heads, dim);
    }

    /** Reference output of one head over the given positions, in double. */
    static double[] reference(KvShard.View kv, Queries q, int head, int[] positions, double scale) {
        return reference(kv, q, head, positions, scale, 0);
    }

    /** The same with each scaled score {@code s} soft-capped to {@code cap · tanh(s / cap)} (none for cap 0). */
    static double[] reference(KvShard.View kv, Queries q, int head, int[] positions, double scale, double cap) {
        int dim = kv.headDim();
        double[] s = new double[positions.length];
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < positions.length; i++) {
            double dot = 0;
            for (int c = 0; c < dim; c++) {
                dot += (double) q.get(head, c) * kv.get(positions[i], c);
            }
            s[i] = dot * scale;
            if (cap > 0) {
                s[i] = cap * Math.tanh(s[i] / cap);
            }
            m = Math.max(m, s[i]);
        }
        double sum = 0;
        for (int i = 0; i < s.length; i++) {
            s[i] = Math.exp(s[i] - m);
            sum += s[i];
        }
        double[] out = new double[dim];
        for (int i = 0; i < positions.length; i++) {
            for (int c = 0; c < dim; c++) {
                out[c] += s[i] / sum * kv.value(positions[i], c);
            }
        }
        return out;
    }

    static double maxAbsValue(KvShard.View kv) {
        double m = 0;
        for (int p = 0; p < kv.size(); p++) {
            for (int c = 0; c < kv.headDim(); c++) {
                m = Math.max(m, Math.abs(kv.value(p, c)));
            }
        }
        return m;
    }

    static void assertClose(double[] expected, float[] actual, int off, double tolerance, String what) {
        for (int c = 0; c < expected.length; c++) {
            double err = Math.abs(expected[c] - actual[off + c]);
            int channel = c;
            assertTrue(err <= tolerance, () -> what + ", channel " + channel + ": expected " + expected[channel]
                    + ", was " + actual[off + channel] + " (error " + err + " > " + tolerance + ")");
        }
    }

    static float scale(int dim) {
        return (float) (1 / Math.sqrt(dim));
    }

    // ---------------------------------------------------------------- exact

    static Stream<Arguments> exactCases() {
        List<Arguments> cases = new ArrayList<>();
        for (KvFormat format : KvFormat.values()) {
            for (int dim : new int[] {8, 64, 72, 128}) {
                for (int heads : new int[] {1, 2, 4}) {
                    for (int n : new int[] {1, 7, 63, 64, 65, 1000}) {
                        cases.add(Arguments.of(format, dim, heads, n));
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} dim={1} heads={2} n={3}")
    @MethodSource("exactCases")
    void exactMatchesReference(KvFormat format, int dim, int heads, int n) {
        try (KvShard shard = shard(n + 5, dim, format, CHUNK, 31L * n + dim)) { // extra rows must be ignored
            KvShard.View kv = shard.snapshot();
            Queries q = queries(heads, dim, 1, n * 7L + heads);
            float[] out = new float[heads * dim];
            Attention.exact(kv, n, q, scale(dim), out, new AttentionScratch());
            int[] all = IntStream.range(0, n).toArray();
            double tol = TOLERANCE * maxAbsValue(kv);
            for (int h = 0; h < heads; h++) {
                assertClose(reference(kv, q, h, all, scale(dim)), out, h * dim, tol, "head " + h);
            }
        }
    }

    @ParameterizedTest(name = "chunk={0}")
    @MethodSource("chunkSizes")
    void exactIsIndependentOfTheChunkSize(int chunk) {
        int dim = 72;
        int heads = 3; // a pair and a single head
        int n = 301;
        try (KvShard shard = shard(n, dim, KvFormat.F32, chunk, 5)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(heads, dim, 1, 6);
            float[] out = new float[heads * dim];
            Attention.exact(kv, n, q, scale(dim), out, new AttentionScratch());
            int[] all = IntStream.range(0, n).toArray();
            double tol = TOLERANCE * maxAbsValue(kv);
            for (int h = 0; h < heads; h++) {
                assertClose(reference(kv, q, h, all, scale(dim)), out, h * dim, tol, "head " + h);
            }
        }
    }

    static IntStream chunkSizes() {
        return IntStream.of(1, 2, 4, 16, 64, 1024);
    }

    @ParameterizedTest(name = "heads={0}")
    @MethodSource("wideGroups")
    void exactHandlesGroupsOfAnySize(int heads) {
        int dim = 64;
        int n = 500;
        try (KvShard shard = shard(n, dim, KvFormat.F16, CHUNK, heads)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(heads, dim, 1, 40 + heads);
            float[] out = new float[heads * dim];
            Attention.exact(kv, n, q, scale(dim), out, new AttentionScratch());
            int[] all = IntStream.range(0, n).toArray();
            double tol = TOLERANCE * maxAbsValue(kv);
            for (int h = 0; h < heads; h++) {
                assertClose(reference(kv, q, h, all, scale(dim)), out, h * dim, tol, "head " + h);
            }
        }
    }

    static IntStream wideGroups() {
        return IntStream.of(3, 5, 7, 8);
    }

    @ParameterizedTest
    @EnumSource(KvFormat.class)
    void peakedScoresRescaleCorrectly(KvFormat format) {
        // large queries: weights span many orders of magnitude and the running max moves often
        int dim = 64;
        int n = 700;
        try (KvShard shard = shard(n, dim, format, CHUNK, 77)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(4, dim, 4, 78);
            float[] out = new float[4 * dim];
            Attention.exact(kv, n, q, scale(dim), out, new AttentionScratch());
            int[] all = IntStream.range(0, n).toArray();
            double tol = 4 * TOLERANCE * maxAbsValue(kv); // scores up to ~30: their float error grows with them
            for (int h = 0; h < 4; h++) {
                assertClose(reference(kv, q, h, all, scale(dim)), out, h * dim, tol, "head " + h);
            }
        }
    }

    @Test
    void attendingNothingWritesZeros() {
        try (KvShard shard = shard(10, 8, KvFormat.F32, CHUNK, 1)) {
            float[] out = new float[16];
            java.util.Arrays.fill(out, 9f);
            Attention.exact(shard.snapshot(), 0, queries(2, 8, 1, 2), 1f, out, new AttentionScratch());
            assertArrayEquals(new float[16], out);
        }
    }

    @Test
    void scratchIsReusedAcrossShapes() {
        AttentionScratch scratch = new AttentionScratch();
        try (KvShard a = shard(200, 128, KvFormat.F16, CHUNK, 1); KvShard b = shard(90, 8, KvFormat.F32, 4, 2)) {
            for (int round = 0; round < 2; round++) {
                for (KvShard s : new KvShard[] {a, b}) {
                    KvShard.View kv = s.snapshot();
                    int dim = kv.headDim();
                    Queries q = queries(4, dim, 1, round);
                    float[] out = new float[4 * dim];
                    Attention.exact(kv, kv.size(), q, scale(dim), out, scratch);
                    int[] all = IntStream.range(0, kv.size()).toArray();
                    double tol = TOLERANCE * maxAbsValue(kv);
                    for (int h = 0; h < 4; h++) {
                        assertClose(reference(kv, q, h, all, scale(dim)), out, h * dim, tol,
                                "head " + h);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- parallel

    @ParameterizedTest(name = "{0} dim={1} heads={2} n={3}")
    @MethodSource("parallelCases")
    void parallelEqualsSerial(KvFormat format, int dim, int heads, int n) {
        try (KvShard shard = shard(n, dim, format, CHUNK, n + dim)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(heads, dim, 1, 3);
            float[] serial = new float[heads * dim];
            float[] parallel = new float[heads * dim];
            Attention.exact(kv, n, q, scale(dim), serial, new AttentionScratch());
            AttentionScratch scratch = new AttentionScratch();
            double tol = TOLERANCE * maxAbsValue(kv);
            for (int round = 0; round < 2; round++) { // tasks are reused
                Attention.exactParallel(kv, n, q, scale(dim), parallel, pool, scratch);
                for (int i = 0; i < serial.length; i++) {
                    assertEquals(serial[i], parallel[i], tol, "index " + i);
                }
            }
            int[] all = IntStream.range(0, n).toArray();
            for (int h = 0; h < heads; h++) {
                assertClose(reference(kv, q, h, all, scale(dim)), parallel, h * dim, tol, "head " + h);
            }
        }
    }

    static Stream<Arguments> parallelCases() {
        return Stream.of(
                Arguments.of(KvFormat.F32, 64, 4, 2048),
                Arguments.of(KvFormat.F16, 128, 4, 2100),
                Arguments.of(KvFormat.F32, 72, 2, 3001),
                Arguments.of(KvFormat.F16, 8, 1, 2100),
                Arguments.of(KvFormat.F32, 64, 4, 700)); // below the task minimum: serial
    }

    @Test
    void parallelFromInsideThePoolForks() throws Exception {
        int dim = 64;
        int n = 4000;
        try (KvShard shard = shard(n, dim, KvFormat.F32, CHUNK, 8); ForkJoinPool wide = new ForkJoinPool(3)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(4, dim, 1, 9);
            float[] serial = new float[4 * dim];
            Attention.exact(kv, n, q, scale(dim), serial, new AttentionScratch());
            float[] parallel = new float[4 * dim];
            wide.submit(() -> Attention.exactParallel(kv, n, q, scale(dim), parallel, wide, new AttentionScratch()))
                    .get();
            double tol = TOLERANCE * maxAbsValue(kv);
            for (int i = 0; i < serial.length; i++) {
                assertEquals(serial[i], parallel[i], tol, "index " + i);
            }
        }
    }

    @Test
    void parallelSurvivesManyBackToBackCalls() {
        // regression: the benchmark's baseline, reusing its pool tasks with ForkJoinTask.reinitialize
        // as this kernel once did, hung after a few thousand calls; every call must complete, and the
        // result must not drift
        int dim = 64;
        int n = 2 * Attention.MIN_POSITIONS_PER_TASK;
        try (KvShard shard = shard(n, dim, KvFormat.F32, 1024, 21)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(4, dim, 1, 22);
            float[] first = new float[4 * dim];
            float[] out = new float[4 * dim];
            AttentionScratch scratch = new AttentionScratch();
            Attention.exactParallel(kv, n, q, scale(dim), first, pool, scratch);
            assertTimeoutPreemptively(java.time.Duration.ofSeconds(30), () -> {
                for (int i = 0; i < 3000; i++) {
                    Attention.exactParallel(kv, n, q, scale(dim), out, pool, scratch);
                }
            });
            assertArrayEquals(first, out, "same split, same order: the same bits");
        }
    }

    // ---------------------------------------------------------------- selection

    /**
     * A view of {@code n} rows of one of the dims the tolerance was worked out for; a window of the last
     * rows and distinct positions before it, in any order, together at least one row. A failure shrinks
     * to the fewest rows and positions.
     */
    record SelectionCase(KvFormat format, int dim, int n, int window, int[] positions) {
        @Override
        public String toString() {
            return format + " dim=" + dim + " n=" + n + " window=" + window + " positions="
                    + java.util.Arrays.toString(positions);
        }
    }

    @Provide
    Arbitrary<SelectionCase> selectionCases() {
        Arbitrary<KvFormat> formats = Arbitraries.of(KvFormat.class);
        Arbitrary<Integer> dims = Arbitraries.of(8, 64, 72, 128);
        return Combinators.combine(formats, dims, Arbitraries.integers().between(1, 1000)).flatAs((format, dim, n) ->
                Arbitraries.integers().between(0, n).flatMap(window -> {
                    Arbitrary<int[]> positions = window.intValue() == n.intValue() ? Arbitraries.just(new int[0])
                            : Arbitraries.integers().between(0, n - window - 1).list().uniqueElements()
                                    .ofMaxSize(Math.min(n - window, 400))
                                    .map(l -> l.stream().mapToInt(Integer::intValue).toArray());
                    return positions.filter(p -> p.length + window > 0)
                            .map(p -> new SelectionCase(format, dim, n, window, p));
                }));
    }

    /** Unique random positions from {@code [0, bound)}, in random order. */
    static int[] randomSubset(Random r, int bound, int count) {
        int[] all = IntStream.range(0, bound).toArray();
        for (int i = 0; i < count; i++) {
            int j = i + r.nextInt(bound - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        return java.util.Arrays.copyOf(all, count);
    }

    @Property(tries = 100)
    void selectedMatchesReference(@ForAll("selectionCases") SelectionCase c, @ForAll long seed) {
        Random r = new Random(seed);
        KvFormat format = c.format();
        int dim = c.dim();
        int n = c.n();
        int count = c.positions().length;
        try (KvShard shard = shard(n, dim, format, CHUNK, r.nextLong())) {
            KvShard.View kv = shard.snapshot();
            int heads = 4;
            int head = 2;
            Queries q = queries(heads, dim, 1, r.nextLong());
            int windowFrom = n - c.window();
            int[] positions = c.positions();
            int[] buffer = java.util.Arrays.copyOf(positions, count + 3); // count, not the length, bounds it
            float[] out = new float[heads * dim];
            Attention.selected(kv, q, head, buffer, count, windowFrom, n, scale(dim), out, new AttentionScratch());
            int[] attended = IntStream.concat(IntStream.of(positions), IntStream.range(windowFrom, n)).toArray();
            assertClose(reference(kv, q, head, attended, scale(dim)), out, head * dim, TOLERANCE * maxAbsValue(kv),
                    "selected head");
            for (int i = 0; i < heads * dim; i++) {
                if (i / dim != head) {
                    assertEquals(0f, out[i], "only the head's row is written");
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(KvFormat.class)
    void selectedFromAHeadSelection(KvFormat format) {
        int dim = 64;
        int n = 900;
        int context = 850; // the view may be ahead of the selection's step
        Random r = new Random(4);
        try (KvShard shard = shard(n, dim, format, CHUNK, 5)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(2, dim, 1, 6);
            SelectionBuffer selection = new SelectionBuffer(2, 256);
            selection.reset(256, context);
            HeadSelectionBuffer h1 = selection.head(1);
            int[] positions = randomSubset(r, 700, 200);
            h1.beginUnit(3, 1);
            for (int p : positions) {
                h1.add(p);
            }
            h1.endUnit();
            h1.attendFrom(700);
            float[] out = new float[2 * dim];
            Attention.selected(kv, q, h1, scale(dim), out, new AttentionScratch());
            int[] attended = IntStream.concat(IntStream.of(positions), IntStream.range(700, context)).toArray();
            assertClose(reference(kv, q, 1, attended, scale(dim)), out, dim, TOLERANCE * maxAbsValue(kv), "head 1");

            HeadSelectionBuffer h0 = selection.head(0); // explicit positions only
            h0.addRange(0, 0, 100, 164);
            Attention.selected(kv, q, h0, scale(dim), out, new AttentionScratch());
            assertClose(reference(kv, q, 0, IntStream.range(100, 164).toArray(), scale(dim)), out, 0,
                    TOLERANCE * maxAbsValue(kv), "head 0");
        }
    }

    @ParameterizedTest
    @EnumSource(KvFormat.class)
    void sharedSelectionIsAttendedByEveryHeadOfTheGroup(KvFormat format) {
        int dim = 64;
        int heads = 4;
        int context = 850;
        try (KvShard shard = shard(900, dim, format, CHUNK, 21)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(heads, dim, 1, 22);
            SelectionBuffer selection = new SelectionBuffer(1, 300);
            selection.reset(300, context);
            HeadSelectionBuffer shared = selection.head(0);
            int[] positions = randomSubset(new Random(23), 700, 250);
            shared.beginUnit(5, 0);
            for (int p : positions) {
                shared.add(p);
            }
            shared.endUnit();
            shared.attendFrom(780);
            float[] out = new float[heads * dim];
            Attention.shared(kv, q, shared, scale(dim), out, new AttentionScratch());
            int[] attended = IntStream.concat(IntStream.of(positions), IntStream.range(780, context)).toArray();
            for (int h = 0; h < heads; h++) {
                assertClose(reference(kv, q, h, attended, scale(dim)), out, h * dim, TOLERANCE * maxAbsValue(kv),
                        "head " + h);
            }
        }
    }

    @Test
    void sharedSelectionRejectsAPositionOutsideItsContext() {
        int dim = 16;
        try (KvShard shard = shard(100, dim, KvFormat.F32, CHUNK, 24)) {
            SelectionBuffer selection = new SelectionBuffer(1, 8);
            selection.reset(8, 50);
            selection.head(0).add(10);
            float[] out = new float[2 * dim];
            Queries q = queries(2, dim, 1, 25);
            // a selection whose context is larger than the view
            SelectionBuffer wide = new SelectionBuffer(1, 8);
            wide.reset(8, 200);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.shared(shard.snapshot(), q, wide.head(0), scale(dim), out, new AttentionScratch()));
            assertTrue(e.getMessage().contains("200") && e.getMessage().contains("100"), e.getMessage());
            Attention.shared(shard.snapshot(), q, selection.head(0), scale(dim), out, new AttentionScratch());
            assertClose(reference(shard.snapshot(), q, 1, new int[] {10}, scale(dim)), out, dim,
                    TOLERANCE * maxAbsValue(shard.snapshot()), "one position");
        }
    }

    /** Windows per head for {@link #groupedEqualsEachHeadOverItsOwnSelection}: none, shared, staggered. */
    static Stream<Arguments> groupedCases() {
        int none = HeadSelectionBuffer.NO_WINDOW;
        return Stream.of(
                Arguments.of(KvFormat.F16, 64, new int[] {none, none, none, none}),
                Arguments.of(KvFormat.F32, 64, new int[] {780, 780, 780, 780}),
                Arguments.of(KvFormat.F16, 40, new int[] {700, 760, none, 820}),
                Arguments.of(KvFormat.F32, 128, new int[] {0, 790, 790, 845}),
                Arguments.of(KvFormat.F16, 64, new int[] {760, 700}));
    }

    /**
     * Gemma 2's soft-capping: scores capped before the softmax in the exact pass, in the parallel pass, in the
     * prefill's causal blocks and in the grouped pass, where a head's masked rows stay masked (the mask comes after
     * the cap). The queries are large enough that the cap changes every output.
     */
    @ParameterizedTest
    @EnumSource(KvFormat.class)
    void softCappedScoresMatchTheReference(KvFormat format) {
        int dim = 64;
        int heads = 4;
        int n = 700;
        float cap = 2f;
        try (KvShard shard = shard(n, dim, format, CHUNK, 41)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(heads, dim, 3, 42);
            int[] all = IntStream.range(0, n).toArray();
            double tol = TOLERANCE * maxAbsValue(kv);
            float[] out = new float[heads * dim];
            Attention.exact(kv, n, q, scale(dim), out, new AttentionScratch(cap));
            for (int h = 0; h < heads; h++) {
                double[] want = reference(kv, q, h, all, scale(dim), cap);
                assertClose(want, out, h * dim, tol, "exact, head " + h);
                double[] uncapped = reference(kv, q, h, all, scale(dim));
                double change = 0;
                for (int c = 0; c < dim; c++) {
                    change = Math.max(change, Math.abs(uncapped[c] - want[c]));
                }
                assertTrue(change > 1000 * tol, "the cap changes head " + h + "'s output: " + change);
            }
            float[] parallel = new float[heads * dim];
            Attention.exactParallel(kv, n, q, scale(dim), parallel, pool, new AttentionScratch(cap));
            for (int h = 0; h < heads; h++) {
                assertClose(reference(kv, q, h, all, scale(dim), cap), parallel, h * dim, tol, "parallel, head " + h);
            }
            // the prefill's causal block: the last 2 rows of the shard, 2 query heads each (the first 2 heads' queries)
            float[] causal = new float[heads * dim];
            Attention.causal(kv, q, 2, n - 2, scale(dim), causal, new AttentionScratch(cap));
            for (int t = 0; t < 2; t++) {
                int[] seen = IntStream.range(0, n - 1 + t).toArray();
                for (int h = 0; h < 2; h++) {
                    assertClose(reference(kv, q, 2 * t + h, seen, scale(dim), cap), causal, (2 * t + h) * dim, tol,
                            "causal row " + t + ", head " + h);
                }
            }
            // grouped: each head its own positions, read once for all; masked rows must not come back through the cap
            SelectionBuffer selection = new SelectionBuffer(heads, 300);
            selection.reset(300, n);
            int[][] chosen = new int[heads][];
            for (int h = 0; h < heads; h++) {
                int k = h;
                chosen[h] = IntStream.range(0, n).filter(p -> p % (k + 2) == 0 && p % 7 != k).limit(200).toArray();
                HeadSelectionBuffer head = selection.head(h);
                for (int p : chosen[h]) {
                    head.add(p);
                }
            }
            float[] grouped = new float[heads * dim];
            Attention.grouped(kv, q, selection, scale(dim), grouped, new AttentionScratch(cap));
            for (int h = 0; h < heads; h++) {
                assertClose(reference(kv, q, h, chosen[h], scale(dim), cap), grouped, h * dim, tol, "grouped, head " + h);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new AttentionScratch(-1f));
        assertThrows(IllegalArgumentException.class, () -> new PiecewiseAttention(Float.NaN));
    }

    @ParameterizedTest
    @MethodSource("groupedCases")
    void groupedEqualsEachHeadOverItsOwnSelection(KvFormat format, int dim, int[] windows) {
        int heads = windows.length;
        int context = 850;
        Random r = new Random(31 + dim);
        try (KvShard shard = shard(900, dim, format, CHUNK, 32)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(heads, dim, 1, 33);
            SelectionBuffer selection = new SelectionBuffer(heads, 400);
            selection.reset(400, context);
            int[] common = randomSubset(r, 600, 150); // heads of a group share much of what they select
            for (int h = 0; h < heads; h++) {
                HeadSelectionBuffer head = selection.head(h);
                int bound = Math.min(windows[h], 600);
                if (h == 2) {
                    continue; // selects nothing explicit: only its window, if any
                }
                head.beginUnit(h, 0);
                for (int p : common) {
                    if (p < bound && (p + h) % 3 != 0) {
                        head.add(p);
                    }
                }
                head.endUnit();
                for (int p : randomSubset(r, bound, Math.min(bound, 100))) {
                    if (head.remaining() > 0 && Arrays.stream(head.positionBuffer(), 0, head.size()).noneMatch(x -> x == p)) {
                        head.add(p);
                    }
                }
                int late = bound - 1; // a late position, in the union's last block, that only the last head attends
                if (h == heads - 1 && late >= 0 && head.remaining() > 0
                        && Arrays.stream(head.positionBuffer(), 0, head.size()).noneMatch(x -> x == late)) {
                    head.add(late);
                }
            }
            for (int h = 0; h < heads; h++) {
                if (windows[h] != HeadSelectionBuffer.NO_WINDOW) {
                    selection.head(h).attendFrom(windows[h]);
                }
            }
            float[] out = new float[heads * dim];
            Arrays.fill(out, Float.NaN);
            Attention.grouped(kv, q, selection, scale(dim), out, new AttentionScratch());
            float[] each = new float[heads * dim];
            AttentionScratch scratch = new AttentionScratch();
            double tol = TOLERANCE * maxAbsValue(kv);
            for (int h = 0; h < heads; h++) {
                HeadSelectionBuffer head = selection.head(h);
                Attention.selected(kv, q, head, scale(dim), each, scratch);
                int from = head.windowStart() == HeadSelectionBuffer.NO_WINDOW ? context : head.windowStart();
                int[] attended = IntStream.concat(Arrays.stream(head.positionBuffer(), 0, head.size()),
                        IntStream.range(from, context)).toArray();
                if (attended.length == 0) {
                    for (int c = 0; c < dim; c++) {
                        assertEquals(0f, out[h * dim + c], "head " + h + " attends nothing");
                    }
                    continue;
                }
                assertClose(reference(kv, q, h, attended, scale(dim)), out, h * dim, tol, "head " + h);
                for (int c = 0; c < dim; c++) {
                    assertEquals(each[h * dim + c], out[h * dim + c], 2 * tol, "head " + h + " against selected");
                }
            }
            // the scratch's marks are cleared: a second call on other selections is not affected by the first
            selection.reset(400, context);
            for (int h = 0; h < heads; h++) {
                selection.head(h).add(h);
            }
            Attention.grouped(kv, q, selection, scale(dim), out, new AttentionScratch());
            for (int h = 0; h < heads; h++) {
                assertClose(reference(kv, q, h, new int[] {h}, scale(dim)), out, h * dim, tol, "one position, head " + h);
            }
        }
    }

    @Test
    void groupedRejectsAPositionOutOfRangeBeforeWriting() {
        int dim = 16;
        try (KvShard shard = shard(100, dim, KvFormat.F32, CHUNK, 34)) {
            SelectionBuffer selection = new SelectionBuffer(2, 8);
            selection.reset(8, 50);
            selection.head(0).add(10);
            selection.head(1).add(49);
            float[] out = new float[2 * dim];
            AttentionScratch scratch = new AttentionScratch();
            Attention.grouped(shard.snapshot(), queries(2, dim, 1, 35), selection, scale(dim), out, scratch);
            IllegalArgumentException heads = assertThrows(IllegalArgumentException.class, () -> Attention.grouped(
                    shard.snapshot(), queries(3, dim, 1, 35), selection, scale(dim), new float[3 * dim], scratch));
            assertTrue(heads.getMessage().contains("2 query heads"), heads.getMessage());
        }
    }

    @ParameterizedTest(name = "{0} dim={1} group={2} first={3} rows={4}")
    @org.junit.jupiter.params.provider.CsvSource({"F16, 64, 4, 700, 64", "F32, 64, 4, 0, 64", "F32, 40, 2, 130, 17",
            "F16, 128, 1, 1000, 3", "F16, 8, 8, 64, 1"})
    void causalBlockEqualsEachRowOverItsPrefix(KvFormat format, int dim, int groupSize, int first, int rows) {
        try (KvShard shard = shard(first + rows + 5, dim, format, CHUNK, 41)) { // the view may hold more
            KvShard.View kv = shard.snapshot();
            Queries q = queries(rows * groupSize, dim, 1.5, 42);
            float[] out = new float[rows * groupSize * dim];
            Attention.causal(kv, q, groupSize, first, scale(dim), out, new AttentionScratch());
            double tol = TOLERANCE * maxAbsValue(kv);
            for (int t = 0; t < rows; t++) {
                int[] prefix = IntStream.rangeClosed(0, first + t).toArray();
                for (int g = 0; g < groupSize; g++) {
                    int head = t * groupSize + g;
                    assertClose(reference(kv, q, head, prefix, scale(dim)), out, head * dim, tol,
                            "row " + t + " head " + g);
                }
            }
            IllegalArgumentException partial = assertThrows(IllegalArgumentException.class, () -> Attention.causal(kv,
                    queries(3, dim, 1, 1), 2, first, scale(dim), new float[3 * dim], new AttentionScratch()));
            assertTrue(partial.getMessage().contains("whole rows"), partial.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Attention.causal(kv, q, groupSize, kv.size() - rows + 1,
                    scale(dim), out, new AttentionScratch()));
        }
    }

    @Test
    void selectedOverEverythingEqualsExact() {
        int dim = 128;
        int n = 1000;
        try (KvShard shard = shard(n, dim, KvFormat.F16, CHUNK, 12)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(1, dim, 1, 13);
            float[] exact = new float[dim];
            float[] gathered = new float[dim];
            float[] window = new float[dim];
            AttentionScratch scratch = new AttentionScratch();
            Attention.exact(kv, n, q, scale(dim), exact, scratch);
            int[] all = randomSubset(new Random(1), n, n);
            Attention.selected(kv, q, 0, all, n, n, n, scale(dim), gathered, scratch);
            Attention.selected(kv, q, 0, all, 0, 0, n, scale(dim), window, scratch);
            double tol = TOLERANCE * maxAbsValue(kv);
            for (int c = 0; c < dim; c++) {
                assertEquals(exact[c], gathered[c], tol);
                assertEquals(exact[c], window[c], tol);
            }
        }
    }

    // ---------------------------------------------------------------- bad input

    @Test
    void headDimMismatchNamesBothValues() {
        try (KvShard shard = shard(10, 128, KvFormat.F32, CHUNK, 1)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(4, 64, 1, 1);
            float[] out = new float[4 * 128];
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.exact(kv, 10, q, 1f, out, new AttentionScratch()));
            assertTrue(e.getMessage().contains("64") && e.getMessage().contains("128"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.exactParallel(kv, 10, q, 1f, out, pool, new AttentionScratch()));
            assertTrue(e.getMessage().contains("64") && e.getMessage().contains("128"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.selected(kv, q, 0, new int[] {1}, 1, 10, 10, 1f, out, new AttentionScratch()));
            assertTrue(e.getMessage().contains("64") && e.getMessage().contains("128"), e.getMessage());
        }
    }

    @Test
    void shortOutputNamesItsLengthAndTheNeed() {
        try (KvShard shard = shard(10, 64, KvFormat.F32, CHUNK, 1)) {
            float[] out = new float[3 * 64];
            float[] before = out.clone();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.exact(shard.snapshot(), 10, queries(4, 64, 1, 1), 1f, out, new AttentionScratch()));
            assertTrue(e.getMessage().contains("192") && e.getMessage().contains("256")
                    && e.getMessage().contains("64"), e.getMessage());
            assertArrayEquals(before, out);
        }
    }

    @Test
    void attendingMoreThanTheViewNamesBoth() {
        try (KvShard shard = shard(10, 8, KvFormat.F16, CHUNK, 1)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(1, 8, 1, 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.exact(kv, 11, q, 1f, new float[8], new AttentionScratch()));
            assertTrue(e.getMessage().contains("11") && e.getMessage().contains("10"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.exactParallel(kv, 11, q, 1f, new float[8], pool, new AttentionScratch()));
            assertTrue(e.getMessage().contains("11") && e.getMessage().contains("10"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> Attention.exact(kv, -1, q, 1f, new float[8], new AttentionScratch()));
            e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.exact(kv, 5, q, Float.NaN, new float[8], new AttentionScratch()));
            assertTrue(e.getMessage().contains("NaN"), e.getMessage());
        }
    }

    @Test
    void positionOutOfRangeNamesThePositionAndTheContext() {
        try (KvShard shard = shard(100, 8, KvFormat.F32, CHUNK, 1)) {
            KvShard.View kv = shard.snapshot();
            Queries q = queries(1, 8, 1, 1);
            float[] out = new float[8];
            for (int bad : new int[] {100, -1, 4096}) {
                IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                        () -> Attention.selected(kv, q, 0, new int[] {3, bad, 5}, 3, 100, 100, 1f, out,
                                new AttentionScratch()));
                assertTrue(e.getMessage().contains("position " + bad) && e.getMessage().contains("100"), e.getMessage());
                assertArrayEquals(new float[8], out, "output untouched");
            }
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                    () -> Attention.selected(kv, q, 0, new int[0], 0, 90, 101, 1f, out, new AttentionScratch()));
            assertTrue(e.getMessage().contains("101") && e.getMessage().contains("100"), e.getMessage());
            assertThrows(IndexOutOfBoundsException.class,
                    () -> Attention.selected(kv, q, 0, new int[0], 0, 50, 40, 1f, out, new AttentionScratch()));
            assertThrows(IndexOutOfBoundsException.class,
                    () -> Attention.selected(kv, q, 0, new int[2], 3, 100, 100, 1f, out, new AttentionScratch()));
            assertThrows(IndexOutOfBoundsException.class,
                    () -> Attention.selected(kv, q, 1, new int[0], 0, 100, 100, 1f, out, new AttentionScratch()));
        }
    }

    @Test
    void selectionLargerThanTheViewIsRejected() {
        try (KvShard shard = shard(100, 8, KvFormat.F32, CHUNK, 1)) {
            SelectionBuffer selection = new SelectionBuffer(1, 8);
            selection.reset(8, 120);
            selection.head(0).add(110);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.selected(shard.snapshot(), queries(1, 8, 1, 1), selection.head(0), 1f, new float[8],
                            new AttentionScratch()));
            assertTrue(e.getMessage().contains("120") && e.getMessage().contains("100"), e.getMessage());
        }
    }
}

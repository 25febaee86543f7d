package io.clusterkv.policy.quest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Quest's selections against a brute-force ranking computed here: the paper's bound per page in
 * double from the raw keys, sorted by score (ties: lower page first).
 */
class QuestSelectionTest {

    private static final int[] HEAD_DIMS = {1, 2, 3, 5, 8, 16, 19, 33, 64};
    private static final int[] PAGE_SIZES = {1, 2, 3, 5, 16, 17};

    /** One random case: a policy fed a prompt then appends, and the step's inputs. */
    private record Case(int pageSize, int hd, int heads, int budget, int n, float[] keys, float[] q, SelectionBuffer sel) {
        @Override
        public String toString() {
            return "page-size " + pageSize + " hd " + hd + " heads " + heads + " budget " + budget + " context " + n;
        }
    }

    /** The size of a case: page size, head dim, heads, budget, context and prompt. */
    record Dims(int pageSize, int hd, int heads, int budget, int n, int prompt) {
    }

    /** Budgets of 1 to 6 pages and a remainder, contexts of up to 8 budgets; a failure shrinks to the smallest. */
    @Provide
    Arbitrary<Dims> dims() {
        return Combinators.combine(Arbitraries.of(IntStream.of(PAGE_SIZES).boxed().toList()),
                Arbitraries.of(IntStream.of(HEAD_DIMS).boxed().toList()), Arbitraries.integers().between(1, 4),
                Arbitraries.integers().between(1, 6)).flatAs((pageSize, hd, heads, pages) ->
                Arbitraries.integers().between(0, pageSize - 1).flatMap(remainder -> {
                    int budget = pageSize * pages + remainder;
                    return Arbitraries.integers().between(1, budget * 8).flatMap(n -> Arbitraries.integers()
                            .between(1, n).map(prompt -> new Dims(pageSize, hd, heads, budget, n, prompt)));
                }));
    }

    private static Case run(SplittableRandom rnd, boolean integerValued, int budget) {
        int pageSize = PAGE_SIZES[rnd.nextInt(PAGE_SIZES.length)];
        int hd = HEAD_DIMS[rnd.nextInt(HEAD_DIMS.length)];
        int heads = 1 + rnd.nextInt(4);
        int n = 1 + rnd.nextInt(budget * 8);
        return run(new Dims(pageSize, hd, heads, budget, n, 1 + rnd.nextInt(n)), rnd, integerValued);
    }

    /** Feeds a policy a prompt then appends, with keys and queries drawn from {@code rnd}, and selects. */
    private static Case run(Dims d, SplittableRandom rnd, boolean integerValued) {
        int pageSize = d.pageSize();
        int hd = d.hd();
        int heads = d.heads();
        int budget = d.budget();
        int n = d.n();
        float[] keys = new float[n * hd];
        float[] q = new float[heads * hd];
        fill(rnd, keys, integerValued);
        fill(rnd, q, integerValued);
        QuestPolicy policy = new QuestPolicy(pageSize, hd, heads, Math.max(budget, pageSize));
        int prompt = d.prompt();
        policy.onPrompt(KeyView.of(keys, prompt, hd));
        for (int size = prompt + 1; size <= n; size++) {
            policy.onAppend(size - 1, KeyView.of(keys, size, hd));
        }
        SelectionBuffer sel = new SelectionBuffer(heads, budget);
        sel.reset(budget, n);
        policy.select(Queries.wrap(q, heads, hd), KeyView.of(keys, n, hd), budget, sel);
        return new Case(pageSize, hd, heads, budget, n, keys, q, sel);
    }

    /** Small integers make every product and sum exact in float, so ties are real and frequent. */
    private static void fill(SplittableRandom rnd, float[] a, boolean integerValued) {
        for (int i = 0; i < a.length; i++) {
            a[i] = integerValued ? rnd.nextInt(-3, 4) : (float) rnd.nextGaussian() - 0.2f;
        }
    }

    /** The paper's bound of page {@code page} for head {@code h}, in double from the raw keys. */
    private static double pageScore(Case c, int h, int page) {
        double s = 0;
        for (int ch = 0; ch < c.hd; ch++) {
            double mn = Double.POSITIVE_INFINITY;
            double mx = Double.NEGATIVE_INFINITY;
            for (int p = page * c.pageSize; p < Math.min(c.n, (page + 1) * c.pageSize); p++) {
                mn = Math.min(mn, c.keys[p * c.hd + ch]);
                mx = Math.max(mx, c.keys[p * c.hd + ch]);
            }
            double qc = c.q[h * c.hd + ch];
            s += Math.max(qc * mn, qc * mx);
        }
        return s;
    }

    /** Pages of a head's selection, checking that each is whole (the newest up to the newest position). */
    private static TreeSet<Integer> selectedPages(Case c, HeadSelectionBuffer s) {
        TreeSet<Integer> pages = new TreeSet<>();
        for (int p : s.sortedPositions()) {
            pages.add(p / c.pageSize);
        }
        int[] expected = pages.stream()
                .flatMapToInt(pg -> IntStream.range(pg * c.pageSize, Math.min(c.n, (pg + 1) * c.pageSize))).toArray();
        assertArrayEquals(expected, s.sortedPositions(), "pages are selected whole");
        return pages;
    }

    /** Units: one per page, id = page index, version = the selected range's addPages encoding. */
    private static void checkUnits(Case c, HeadSelectionBuffer s) {
        for (int u = 0; u < s.unitCount(); u++) {
            int first = s.position(s.unitStart(u));
            int count = s.unitEnd(u) - s.unitStart(u);
            long page = first / c.pageSize;
            assertEquals(page, s.unitId(u), "unit id is the page index");
            assertEquals(page * c.pageSize, first, "a unit starts at its page's start");
            assertEquals(count - 1, s.unitVersion(u), "version of a page selected from its start");
            assertTrue(count == c.pageSize || first + count == c.n, "only the newest page is partial");
        }
    }

    @Property(tries = 200)
    void chosenPagesAreExactlyTheBruteForceTopPages(@ForAll("dims") Dims dims, @ForAll long seed) {
        Case c = run(dims, new SplittableRandom(seed), true);
        String at = c.toString();
        int newest = (c.n - 1) / c.pageSize;
        for (int h = 0; h < c.heads; h++) {
            HeadSelectionBuffer s = c.sel.head(h);
            assertTrue(s.size() <= c.budget, at + ": over budget");
            assertEquals(HeadSelectionBuffer.NO_WINDOW, s.windowStart(), at);
            TreeSet<Integer> pages = selectedPages(c, s);
            checkUnits(c, s);
            if (c.n <= c.budget) {
                assertEquals(c.n, s.size(), at + ": context within budget is attended whole");
                continue;
            }
            assertTrue(pages.contains(newest), at + ": newest page missing");
            int k = c.budget / c.pageSize - 1;
            assertEquals(k + 1, pages.size(), at + ": floor(budget / page-size) pages");
            int head = h;
            Integer[] ranked = IntStream.range(0, newest).boxed().toArray(Integer[]::new);
            Arrays.sort(ranked, Comparator.<Integer>comparingDouble(p -> -pageScore(c, head, p))
                    .thenComparingInt(p -> p));
            TreeSet<Integer> expected = new TreeSet<>(Arrays.asList(ranked).subList(0, k));
            expected.add(newest);
            assertEquals(expected, pages, at + " head " + h);
        }
    }

    @Property(tries = 100)
    void realValuedSelectionsAreTopPagesUpToRounding(@ForAll("dims") Dims dims, @ForAll long seed) {
        Case c = run(dims, new SplittableRandom(seed), false);
        if (c.n <= c.budget) {
            return;
        }
        int newest = (c.n - 1) / c.pageSize;
        for (int h = 0; h < c.heads; h++) {
            TreeSet<Integer> pages = selectedPages(c, c.sel.head(h));
            assertTrue(pages.contains(newest));
            assertEquals(c.budget / c.pageSize, pages.size());
            double worstChosen = Double.POSITIVE_INFINITY;
            double bestLeft = Double.NEGATIVE_INFINITY;
            for (int p = 0; p < newest; p++) {
                double score = pageScore(c, h, p);
                if (pages.contains(p)) {
                    worstChosen = Math.min(worstChosen, score);
                } else {
                    bestLeft = Math.max(bestLeft, score);
                }
            }
            assertTrue(worstChosen >= bestLeft - 1e-4 * (1 + Math.abs(bestLeft)),
                    c + ": chose a page scoring " + worstChosen + " over one scoring "
                            + bestLeft);
        }
    }

    @Test
    void budgetNotAMultipleOfThePageSizeTakesWholePagesOnly() {
        SplittableRandom rnd = new SplittableRandom(3);
        Case c = run(rnd, false, 47); // page sizes 1..17: 47 = floor pages plus a remainder for most
        int pages = 47 / c.pageSize;
        for (int h = 0; h < c.heads; h++) {
            HeadSelectionBuffer s = c.sel.head(h);
            if (c.n > 47) {
                assertEquals(pages, selectedPages(c, s).size());
                assertTrue(s.size() <= pages * c.pageSize);
            }
        }
    }

    @Test
    void newestPageVersionChangesWhileFillingAndIsFixedOnceFull() {
        int pageSize = 16;
        int hd = 8;
        float[] keys = new float[200 * hd];
        fill(new SplittableRandom(4), keys, false);
        float[] q = new float[hd];
        Arrays.fill(q, 1f);
        QuestPolicy policy = new QuestPolicy(pageSize, hd, 1, 32);
        policy.onPrompt(KeyView.of(keys, 40, hd));
        SelectionBuffer sel = new SelectionBuffer(1, 32);
        for (int n = 41; n <= 200; n++) {
            policy.onAppend(n - 1, KeyView.of(keys, n, hd));
            sel.reset(32, n);
            policy.select(Queries.wrap(q, 1, hd), KeyView.of(keys, n, hd), 32, sel);
            HeadSelectionBuffer s = sel.head(0);
            assertEquals(2, s.unitCount());
            int last = s.unitCount() - 1;
            assertEquals((n - 1) / pageSize, s.unitId(last));
            assertEquals((n - 1) % pageSize, s.unitVersion(last), "newest page's version at context " + n);
            assertEquals(pageSize - 1, s.unitVersion(0), "a full page's version");
        }
    }

    @Test
    void stepBudgetBelowOnePageAttendsTheNewestPositions() {
        float[] keys = new float[100 * 4];
        fill(new SplittableRandom(5), keys, false);
        QuestPolicy policy = new QuestPolicy(16, 4, 2, 64);
        policy.onPrompt(KeyView.of(keys, 100, 4));
        SelectionBuffer sel = new SelectionBuffer(2, 5);
        sel.reset(5, 100);
        policy.select(Queries.wrap(new float[8], 2, 4), KeyView.of(keys, 100, 4), 5, sel);
        for (int h = 0; h < 2; h++) {
            assertArrayEquals(new int[] {95, 96, 97, 98, 99}, sel.head(h).sortedPositions());
        }
    }

    @Test
    void unreportedAppendsAreIndexedAtSelect() {
        SplittableRandom rnd = new SplittableRandom(6);
        float[] keys = new float[300 * 8];
        fill(rnd, keys, true);
        float[] q = new float[8];
        fill(rnd, q, true);
        QuestPolicy skipping = new QuestPolicy(16, 8, 1, 64);
        QuestPolicy told = new QuestPolicy(16, 8, 1, 64);
        skipping.onPrompt(KeyView.of(keys, 100, 8));
        told.onPrompt(KeyView.of(keys, 100, 8));
        for (int n = 101; n <= 300; n++) {
            told.onAppend(n - 1, KeyView.of(keys, n, 8));
        }
        SelectionBuffer a = new SelectionBuffer(1, 64);
        SelectionBuffer b = new SelectionBuffer(1, 64);
        a.reset(64, 300);
        b.reset(64, 300);
        skipping.select(Queries.wrap(q, 1, 8), KeyView.of(keys, 300, 8), 64, a);
        told.select(Queries.wrap(q, 1, 8), KeyView.of(keys, 300, 8), 64, b);
        assertArrayEquals(b.head(0).sortedPositions(), a.head(0).sortedPositions());
    }

    /** Scores at an offset of 0 to 4: ascending, descending, mostly tied or Gaussian-like. */
    record Scores(int shape, int offset, float[] scores) {
        @Override
        public String toString() {
            return "shape " + shape + " offset " + offset + " " + Arrays.toString(scores);
        }
    }

    @Provide
    Arbitrary<Scores> scores() {
        return Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.integers().between(0, 4),
                Arbitraries.integers().between(1, 300)).flatAs((shape, offset, n) -> {
                    Arbitrary<Float> score = switch (shape) {
                        case 2 -> Arbitraries.integers().between(0, 2).map(i -> (float) i); // mostly ties
                        default -> Arbitraries.integers().between(-3_000_000, 3_000_000).map(i -> i * 1e-6f);
                    };
                    return score.list().ofSize(offset + n).map(list -> {
                        float[] scores = new float[list.size()];
                        for (int i = 0; i < scores.length; i++) {
                            scores[i] = switch (shape) {
                                case 0 -> i;  // ascending: every page enters the heap
                                case 1 -> -i; // descending
                                default -> list.get(i);
                            };
                        }
                        return new Scores(shape, offset, scores);
                    });
                });
    }

    @Property(tries = 300)
    void partialSelectionMatchesASort(@ForAll("scores") Scores c, @ForAll @IntRange(max = 300) int kWish) {
        int offset = c.offset();
        float[] scores = c.scores();
        int n = scores.length - offset;
        int k = kWish % (n + 1);
        int[] best = new int[n];
        PageRanking.selectBest(scores, offset, best, new long[n], n, k);
        int[] chosen = Arrays.copyOf(best, k);
        Arrays.sort(chosen);
        int[] expected = IntStream.range(0, n).boxed()
                .sorted(Comparator.<Integer>comparingDouble(p -> -scores[offset + p]).thenComparingInt(p -> p))
                .limit(k).mapToInt(Integer::intValue).sorted().toArray();
        assertArrayEquals(expected, chosen, "n " + n + " k " + k);
    }
}

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

    private static Case run(SplittableRandom rnd, boolean integerValued, int budgetOverride) {
        int pageSize = PAGE_SIZES[rnd.nextInt(PAGE_SIZES.length)];
        int hd = HEAD_DIMS[rnd.nextInt(HEAD_DIMS.length)];
        int heads = 1 + rnd.nextInt(4);
        int budget = budgetOverride > 0 ? budgetOverride : pageSize * (1 + rnd.nextInt(6)) + rnd.nextInt(pageSize);
        int n = 1 + rnd.nextInt(budget * 8);
        float[] keys = new float[n * hd];
        float[] q = new float[heads * hd];
        fill(rnd, keys, integerValued);
        fill(rnd, q, integerValued);
        QuestPolicy policy = new QuestPolicy(pageSize, hd, heads, Math.max(budget, pageSize));
        int prompt = 1 + rnd.nextInt(n);
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

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void chosenPagesAreExactlyTheBruteForceTopPages(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int round = 0; round < 25; round++) {
            Case c = run(rnd, true, 0);
            String at = "seed " + seed + " round " + round + " " + c;
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
    }

    @ParameterizedTest
    @ValueSource(longs = {21, 22, 23, 24})
    void realValuedSelectionsAreTopPagesUpToRounding(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int round = 0; round < 25; round++) {
            Case c = run(rnd, false, 0);
            if (c.n <= c.budget) {
                continue;
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
                        "seed " + seed + " " + c + ": chose a page scoring " + worstChosen + " over one scoring "
                                + bestLeft);
            }
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

    @ParameterizedTest
    @ValueSource(longs = {31, 32, 33})
    void partialSelectionMatchesASort(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int round = 0; round < 300; round++) {
            int n = 1 + rnd.nextInt(300);
            int offset = rnd.nextInt(5);
            float[] scores = new float[offset + n];
            int shape = rnd.nextInt(4);
            for (int i = 0; i < scores.length; i++) {
                scores[i] = switch (shape) {
                    case 0 -> i;                  // ascending: every page enters the heap
                    case 1 -> -i;                 // descending
                    case 2 -> rnd.nextInt(3);     // mostly ties
                    default -> (float) rnd.nextGaussian();
                };
            }
            int k = rnd.nextInt(n + 1);
            int[] best = new int[n];
            PageRanking.selectBest(scores, offset, best, new long[n], n, k);
            int[] chosen = Arrays.copyOf(best, k);
            Arrays.sort(chosen);
            int[] expected = IntStream.range(0, n).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(p -> -scores[offset + p]).thenComparingInt(p -> p))
                    .limit(k).mapToInt(Integer::intValue).sorted().toArray();
            assertArrayEquals(expected, chosen, "shape " + shape + " n " + n + " k " + k);
        }
    }
}

package io.clusterkv.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PageScoringPolicyTest {

    /** Scores from a table: coarse values (many ties) and some NaN, to test the order, not the scoring. */
    private static final class TablePolicy extends PageScoringPolicy {
        final float[] table; // (heads, pages)
        final int pages;

        TablePolicy(int pageSize, int sink, int recent, float[] table, int pages) {
            super(pageSize, sink, recent);
            this.table = table;
            this.pages = pages;
        }

        @Override
        protected float score(Queries queries, int head, KeyView keys, int page, int from, int to) {
            return table[head * pages + page];
        }
    }

    /** The rule of the class javadoc, written plainly: every candidate page sorted, best first. */
    private static List<long[]> reference(TablePolicy p, int pageSize, int sink, int recent, int n, int budget, int head) {
        List<long[]> units = new ArrayList<>(); // (first position, end) per unit, in order
        if (n <= budget) {
            return units;
        }
        int sinks = Math.min(n, Math.min(sink, budget / 4));
        int recentFrom = Math.max(sinks, n - Math.max(1, Math.min(recent, budget / 4)));
        int remaining = budget - sinks - (n - recentFrom);
        pages(units, pageSize, 0, sinks);
        pages(units, pageSize, recentFrom, n);
        List<Integer> candidates = new ArrayList<>();
        for (int page = sinks / pageSize; page * pageSize < recentFrom; page++) {
            candidates.add(page);
        }
        Comparator<Integer> byScore = Comparator.comparingDouble(page -> {
            float s = p.table[head * p.pages + page];
            return Float.isNaN(s) ? Double.NEGATIVE_INFINITY : s;
        });
        candidates.sort(byScore.reversed().thenComparing(Comparator.naturalOrder()));
        for (int page : candidates) {
            if (remaining == 0) {
                break;
            }
            int from = Math.max(page * pageSize, sinks);
            int to = Math.min(from + remaining, Math.min((page + 1) * pageSize, recentFrom));
            pages(units, pageSize, from, to);
            remaining -= to - from;
        }
        return units;
    }

    private static void pages(List<long[]> units, int pageSize, int from, int to) {
        for (int p = from; p < to; p = Math.min(to, (p / pageSize + 1) * pageSize)) {
            units.add(new long[] {p, Math.min(to, (p / pageSize + 1) * pageSize)});
        }
    }

    @ParameterizedTest
    @CsvSource({"16, 4, 32", "7, 3, 10", "1, 0, 1", "5, 9, 2", "64, 4, 32"})
    void selectsTheBestPagesAsAFullSortWould(int pageSize, int sink, int recent) {
        SplittableRandom random = new SplittableRandom(pageSize * 31L + sink);
        int heads = 2;
        for (int n : new int[] {1, 40, 333, 700}) {
            int pages = (n + pageSize - 1) / pageSize;
            float[] table = new float[heads * pages];
            for (int i = 0; i < table.length; i++) {
                table[i] = random.nextInt(10) == 0 ? Float.NaN : random.nextInt(6) - 2.5f; // ties and NaN
            }
            TablePolicy policy = new TablePolicy(pageSize, sink, recent, table, pages);
            KeyView keys = KeyView.of(new float[n], n, 1);
            Queries queries = Queries.wrap(new float[heads], heads, 1);
            for (int budget : new int[] {1, 3, 16, 50, 64, 256, 1000}) {
                SelectionBuffer sel = new SelectionBuffer(heads, budget);
                sel.reset(budget, n);
                policy.select(queries, keys, budget, sel);
                for (int h = 0; h < heads; h++) {
                    HeadSelectionBuffer s = sel.head(h);
                    String at = "n=" + n + " budget=" + budget + " head=" + h;
                    assertEquals(n <= budget ? 0 : HeadSelectionBuffer.NO_WINDOW, s.windowStart(), at);
                    List<long[]> expected = reference(policy, pageSize, sink, recent, n, budget, h);
                    assertEquals(expected.size(), s.unitCount(), at + ": units");
                    for (int u = 0; u < s.unitCount(); u++) {
                        int first = s.position(s.unitStart(u));
                        int end = first + s.unitEnd(u) - s.unitStart(u);
                        assertEquals(expected.get(u)[0] + ".." + expected.get(u)[1], first + ".." + end, at + " unit " + u);
                        assertEquals(first / pageSize, s.unitId(u), at + ": unit id is the page");
                    }
                    assertTrue(s.size() <= budget, at);
                }
            }
        }
    }

    @Test
    void argumentsAreValidated() {
        var e = assertThrows(IllegalArgumentException.class, () -> new TablePolicy(0, 4, 32, new float[0], 0));
        assertTrue(e.getMessage().contains("page size") && e.getMessage().contains("was 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new TablePolicy(16, -1, 32, new float[0], 0));
        assertTrue(e.getMessage().contains("sink") && e.getMessage().contains("was -1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new TablePolicy(16, 4, 0, new float[0], 0));
        assertTrue(e.getMessage().contains("recent") && e.getMessage().contains("was 0"), e.getMessage());
    }
}

package io.clusterkv.spi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import org.junit.jupiter.api.Test;

class SelectionTest {

    @Test
    void budgetIsEnforced() {
        SelectionBuffer s = new SelectionBuffer(2, 4);
        s.reset(4, 100);
        HeadSelectionBuffer h = s.head(1);
        h.addRange(7, 1, 10, 13);
        h.add(50);
        BudgetExceededException e = assertThrows(BudgetExceededException.class, () -> h.add(51));
        assertTrue(e.getMessage().contains("query head 1") && e.getMessage().contains("budget of 4"), e.getMessage());
        assertThrows(BudgetExceededException.class, () -> s.head(0).addRange(0, 0, 0, 5));
    }

    @Test
    void positionsOutOfRangeAndBadBudgetAreRejected() {
        SelectionBuffer s = new SelectionBuffer(1, 8);
        s.reset(8, 10);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> s.head(0).add(10));
        assertTrue(e.getMessage().contains("10"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> s.head(0).add(-1));
        IllegalArgumentException b = assertThrows(IllegalArgumentException.class, () -> s.reset(0, 10));
        assertTrue(b.getMessage().contains("was 0"), b.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new SelectionBuffer(1, -5));
    }

    @Test
    void unitsGroupPositions() {
        SelectionBuffer s = new SelectionBuffer(1, 16);
        s.reset(16, 100);
        HeadSelectionBuffer h = s.head(0);
        h.beginUnit(3, 9);
        h.add(40);
        h.add(20);
        h.endUnit();
        h.add(5);
        h.add(6);
        h.addRange(4, 2, 60, 63);
        assertEquals(3, h.unitCount());
        assertEquals(3, h.unitId(0));
        assertEquals(9, h.unitVersion(0));
        assertEquals(HeadSelectionBuffer.NO_UNIT, h.unitId(1));
        assertEquals(2, h.unitStart(1));
        assertEquals(4, h.unitEnd(1));
        assertArrayEquals(new int[] {5, 6, 20, 40, 60, 61, 62}, h.sortedPositions());
        h.attendFrom(90);
        assertEquals(17, h.attendedCount());
    }

    @Test
    void pagesSplitAtBoundariesWithMembershipVersions() {
        SelectionBuffer s = new SelectionBuffer(1, 64);
        s.reset(64, 100);
        HeadSelectionBuffer h = s.head(0);
        h.addPages(100, 16, 10, 40);
        assertEquals(3, h.unitCount());
        assertEquals(100, h.unitId(0));
        assertEquals(102, h.unitId(2));
        assertEquals((10 << 16) | 15, h.unitVersion(0));
        assertEquals(15, h.unitVersion(1));
        assertEquals(7, h.unitVersion(2));
        assertEquals(30, h.size());
    }

    @Test
    void resetEmptiesAndGrowsForLargerBudgets() {
        SelectionBuffer s = new SelectionBuffer(1, 2);
        s.reset(2, 10);
        s.head(0).add(1);
        s.reset(50, 100);
        assertEquals(0, s.head(0).size());
        s.head(0).addRange(0, 0, 0, 50);
        assertEquals(50, s.head(0).size());
    }
}

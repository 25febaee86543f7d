package io.clusterkv.spi.internal;

import io.clusterkv.spi.BudgetExceededException;
import io.clusterkv.spi.HeadSelection;
import java.util.Arrays;
import java.util.Objects;

/**
 * The runtime's side of one query head's selection: the buffers a policy fills through
 * {@link HeadSelection} and the runtime's attention kernels and device tier read after
 * {@link io.clusterkv.spi.RecallPolicy#select select}. Not part of the plugin contract: this package
 * is exported only to the runtime's modules.
 *
 * <p>Layout: the explicit positions in the order added, unit after unit; unit {@code u} spans
 * {@code [unitStart(u), unitEnd(u))} of them. Positions added outside a unit form {@link #NO_UNIT}
 * groups. The window, if any, is {@code [windowStart(), contextSize())}. The backing arrays grow in
 * {@link SelectionBuffer#reset} to the largest budget seen and are kept, so neither writing nor
 * reading allocates in steady state.
 */
public final class HeadSelectionBuffer implements HeadSelection {

    /** The unit id of positions added outside any unit. */
    public static final long NO_UNIT = -1L;

    /** {@link #windowStart()} when no window is attended. */
    public static final int NO_WINDOW = Integer.MAX_VALUE;

    private final int head;
    private int budget;
    private int contextSize;
    private int windowStart = NO_WINDOW;

    private int[] positions;        // (budget) selected positions, unit after unit
    private int size;
    private long[] unitIds;         // (units)
    private int[] unitVersions;     // (units)
    private int[] unitStarts;       // (units) index into positions of each unit's first position
    private int unitCount;
    private boolean unitOpen;

    HeadSelectionBuffer(int head, int capacity) {
        this.head = head;
        this.positions = new int[capacity];
        this.unitIds = new long[capacity];
        this.unitVersions = new int[capacity];
        this.unitStarts = new int[capacity];
    }

    void reset(int budget, int contextSize) {
        if (budget > positions.length) {
            int cap = Math.max(budget, positions.length * 2);
            positions = new int[cap];
            unitIds = new long[cap];
            unitVersions = new int[cap];
            unitStarts = new int[cap];
        }
        this.budget = budget;
        this.contextSize = contextSize;
        this.size = 0;
        this.unitCount = 0;
        this.unitOpen = false;
        this.windowStart = NO_WINDOW;
    }

    // ---- writing (the policy, through HeadSelection) ----

    @Override
    public void addRange(long unitId, int version, int from, int to) {
        Objects.checkFromToIndex(from, to, contextSize);
        if (to - from > budget - size) {
            throw new BudgetExceededException(head, budget);
        }
        beginUnit(unitId, version);
        for (int p = from; p < to; p++) {
            positions[size++] = p;
        }
        unitOpen = false;
    }

    @Override
    public void addPages(long firstUnitId, int pageSize, int from, int to) {
        if (pageSize < 1 || pageSize > 65536) {
            throw new IllegalArgumentException("page size must be in [1, 65536], was " + pageSize);
        }
        Objects.checkFromToIndex(from, to, contextSize);
        if (to - from > budget - size) {
            throw new BudgetExceededException(head, budget);
        }
        int p = from;
        while (p < to) {
            int page = p / pageSize;
            int pageStart = page * pageSize;
            int end = Math.min(to, pageStart + pageSize);
            addRange(firstUnitId + page, ((p - pageStart) << 16) | (end - pageStart - 1), p, end);
            p = end;
        }
    }

    @Override
    public void beginUnit(long unitId, int version) {
        if (unitId < 0) {
            throw new IllegalArgumentException("unit id must be >= 0, was " + unitId);
        }
        if (unitOpen) {
            throw new IllegalStateException("unit " + unitIds[unitCount - 1] + " is still open");
        }
        openUnit(unitId, version);
        unitOpen = true;
    }

    @Override
    public void endUnit() {
        if (!unitOpen) {
            throw new IllegalStateException("no unit is open");
        }
        unitOpen = false;
        if (unitStarts[unitCount - 1] == size) {
            unitCount--;
        }
    }

    @Override
    public void add(int position) {
        Objects.checkIndex(position, contextSize);
        if (size == budget) {
            throw new BudgetExceededException(head, budget);
        }
        if (!unitOpen && (unitCount == 0 || unitIds[unitCount - 1] != NO_UNIT)) {
            openUnit(NO_UNIT, 0);
        }
        positions[size++] = position;
    }

    @Override
    public void attendFrom(int from) {
        Objects.checkIndex(from, contextSize + 1);
        windowStart = from;
    }

    @Override
    public int remaining() {
        return budget - size;
    }

    private void openUnit(long unitId, int version) {
        unitIds[unitCount] = unitId;
        unitVersions[unitCount] = version;
        unitStarts[unitCount] = size;
        unitCount++;
    }

    // ---- reading (the runtime) ----

    /** @return the query head this selection is for */
    public int head() {
        return head;
    }

    @Override
    public int budget() {
        return budget;
    }

    @Override
    public int contextSize() {
        return contextSize;
    }

    /** @return explicit positions selected, {@code <= budget()} */
    public int size() {
        return size;
    }

    /**
     * @param i an index in {@code [0, size())}
     * @return the i-th explicit position
     * @throws IndexOutOfBoundsException if the index is out of range
     */
    public int position(int i) {
        Objects.checkIndex(i, size);
        return positions[i];
    }

    /**
     * The backing array of the explicit positions, valid in {@code [0, size())}, for kernels that
     * gather without copying. Callers must not write to it.
     *
     * @return the backing array
     */
    public int[] positionBuffer() {
        return positions;
    }

    /** @return the first position of the recent window, or {@link #NO_WINDOW} */
    public int windowStart() {
        return windowStart;
    }

    /** @return explicit positions plus the window's */
    public int attendedCount() {
        return size + (windowStart == NO_WINDOW ? 0 : contextSize - windowStart);
    }

    /** @return whether every position of the context is attended through the window */
    public boolean attendsAll() {
        return windowStart == 0;
    }

    /** @return number of units, including {@link #NO_UNIT} groups */
    public int unitCount() {
        return unitCount;
    }

    /**
     * @param u a unit index in {@code [0, unitCount())}
     * @return its id, or {@link #NO_UNIT}
     * @throws IndexOutOfBoundsException if the index is out of range
     */
    public long unitId(int u) {
        Objects.checkIndex(u, unitCount);
        return unitIds[u];
    }

    /**
     * @param u a unit index in {@code [0, unitCount())}
     * @return its version
     * @throws IndexOutOfBoundsException if the index is out of range
     */
    public int unitVersion(int u) {
        Objects.checkIndex(u, unitCount);
        return unitVersions[u];
    }

    /**
     * @param u a unit index in {@code [0, unitCount())}
     * @return index in the explicit positions of its first position
     * @throws IndexOutOfBoundsException if the index is out of range
     */
    public int unitStart(int u) {
        Objects.checkIndex(u, unitCount);
        return unitStarts[u];
    }

    /**
     * @param u a unit index in {@code [0, unitCount())}
     * @return index in the explicit positions after its last position
     * @throws IndexOutOfBoundsException if the index is out of range
     */
    public int unitEnd(int u) {
        Objects.checkIndex(u, unitCount);
        return u + 1 < unitCount ? unitStarts[u + 1] : size;
    }

    /** @return a copy of the explicit positions, sorted (for tests and tools; allocates) */
    public int[] sortedPositions() {
        int[] copy = Arrays.copyOf(positions, size);
        Arrays.sort(copy);
        return copy;
    }

    @Override
    public String toString() {
        return "HeadSelection[head=" + head + ", budget=" + budget + ", context=" + contextSize + ", positions="
                + size + ", units=" + unitCount + ", window=" + (windowStart == NO_WINDOW ? "none" : windowStart + "..")
                + "]";
    }
}

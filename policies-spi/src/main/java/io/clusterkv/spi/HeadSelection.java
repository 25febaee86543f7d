package io.clusterkv.spi;

import java.util.Arrays;
import java.util.Objects;

/**
 * What one query head attends at one step: up to {@code budget} explicit positions, grouped in
 * residency units, plus optionally a recent window {@code [windowStart, contextSize)} attended on top
 * of the budget.
 *
 * <p><b>Units.</b> A unit is the grain the runtime's device tier caches: a ClusterKV cluster, a Quest
 * page. It has a non-negative id, unique within the shard, and a version that the policy changes
 * whenever the unit's membership changes (so a cached copy is never stale): a (unit id, version) pair
 * names one fixed, ordered list of positions. A selection gives a prefix of that list: all of it, or
 * its first {@code k} positions when the budget truncates the unit (the cached copy then serves its
 * first {@code k} rows). Positions added outside a unit ({@link #add} with no unit open) belong to
 * {@link #NO_UNIT} and are copied each step.
 *
 * <p><b>Window.</b> {@link #attendFrom(int)} declares that every position from {@code windowStart} to
 * the newest is attended, without counting against the budget: the positions a policy has not
 * indexed yet (ClusterKV), or everything ({@code attendFrom(0)}, exact attention). Explicit positions
 * must not fall inside the window.
 *
 * <p>Validity is partly enforced here (budget, range; a violation throws) and fully checked by the
 * conformance kit (uniqueness, disjointness from the window). Instances are owned by a
 * {@link Selection} and reused across steps: no allocation once the budget has been seen.
 */
public final class HeadSelection {

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

    HeadSelection(int head, int capacity) {
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

    // ---- writing (the policy) ----

    /**
     * Adds the contiguous positions {@code [from, to)} as one unit.
     *
     * @param unitId  the unit's id, {@code >= 0}
     * @param version the unit's version
     * @param from    first position, inclusive
     * @param to      last position, exclusive
     * @throws IndexOutOfBoundsException if the range is not within the context
     * @throws BudgetExceededException   if the budget would be exceeded
     * @throws IllegalStateException     if a unit is open
     */
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

    /**
     * Adds the positions {@code [from, to)} split at multiples of {@code pageSize}, one unit per page:
     * unit id {@code firstUnitId + page}, version encoding which part of the page is selected (so the
     * version changes whenever the page's membership does). The convenient grain for policies that
     * select runs of positions (a sliding window, fixed pages).
     *
     * @param firstUnitId id of page 0, {@code >= 0}
     * @param pageSize    positions per page, in {@code [1, 65536]}
     * @param from        first position, inclusive
     * @param to          last position, exclusive
     * @throws IndexOutOfBoundsException if the range is not within the context
     * @throws BudgetExceededException   if the budget would be exceeded
     */
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

    /**
     * Opens a unit; positions added until {@link #endUnit()} belong to it.
     *
     * @param unitId  the unit's id, {@code >= 0}
     * @param version the unit's version
     * @throws IllegalArgumentException if the id is negative
     * @throws IllegalStateException    if a unit is already open
     */
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

    /** Closes the open unit (an empty unit is dropped). */
    public void endUnit() {
        if (!unitOpen) {
            throw new IllegalStateException("no unit is open");
        }
        unitOpen = false;
        if (unitStarts[unitCount - 1] == size) {
            unitCount--;
        }
    }

    /**
     * Adds one position, to the open unit or else to {@link #NO_UNIT}.
     *
     * @param position a position in {@code [0, contextSize)}
     * @throws IndexOutOfBoundsException if the position is out of range
     * @throws BudgetExceededException   if the budget is already full
     */
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

    /**
     * Attends every position from {@code from} to the newest, on top of the budget.
     *
     * @param from first position of the window, in {@code [0, contextSize]}
     * @throws IndexOutOfBoundsException if {@code from} is out of range
     */
    public void attendFrom(int from) {
        Objects.checkIndex(from, contextSize + 1);
        windowStart = from;
    }

    /** @return positions the budget still allows */
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

    /** @return the step's budget */
    public int budget() {
        return budget;
    }

    /** @return the context size of the step: valid positions are {@code [0, contextSize)} */
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
     */
    public long unitId(int u) {
        Objects.checkIndex(u, unitCount);
        return unitIds[u];
    }

    /**
     * @param u a unit index
     * @return its version
     */
    public int unitVersion(int u) {
        Objects.checkIndex(u, unitCount);
        return unitVersions[u];
    }

    /**
     * @param u a unit index
     * @return index in the explicit positions of its first position
     */
    public int unitStart(int u) {
        Objects.checkIndex(u, unitCount);
        return unitStarts[u];
    }

    /**
     * @param u a unit index
     * @return index in the explicit positions after its last position
     */
    public int unitEnd(int u) {
        Objects.checkIndex(u, unitCount);
        return u + 1 < unitCount ? unitStarts[u + 1] : size;
    }

    /** @return a copy of the explicit positions, sorted (for tests and tools) */
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

package io.clusterkv.spi;

/**
 * What one query head attends at one step, as a policy writes it in {@link RecallPolicy#select}: up
 * to {@link #budget()} explicit positions, grouped in residency units, plus optionally a recent window
 * {@code [from, contextSize)} attended on top of the budget.
 *
 * <p><b>Units.</b> A unit is the grain the runtime's device tier caches: a ClusterKV cluster, a Quest
 * page. It has a non-negative id, unique within the shard, and a version that the policy changes
 * whenever the unit's membership changes (so a cached copy is never stale): a (unit id, version) pair
 * names one fixed, ordered list of positions. A selection gives a prefix of that list: all of it, or
 * its first {@code k} positions when the budget truncates the unit (the cached copy then serves its
 * first {@code k} rows). Positions {@link #add added} with no unit open belong to no unit and are
 * copied from the host store each step. {@link #addPages} builds units for runs of positions.
 *
 * <p><b>Window.</b> {@link #attendFrom(int)} declares that every position from {@code from} to the
 * newest is attended, without counting against the budget: the positions a policy has not indexed yet
 * (ClusterKV), or everything ({@code attendFrom(0)}, exact attention). Explicit positions must not fall
 * inside the window.
 *
 * <p>Validity is partly enforced here (budget, range, unit nesting: a violation throws) and fully
 * checked by the conformance kit (uniqueness, disjointness from the window, unit versions). The
 * runtime owns the instance, empties it before each {@code select} and reads it afterwards; a policy
 * must not keep a reference to it. Writing allocates nothing.
 */
public interface HeadSelection {

    /**
     * Adds the contiguous positions {@code [from, to)} as one unit.
     *
     * @param unitId  the unit's id, {@code >= 0}
     * @param version the unit's version
     * @param from    first position, inclusive
     * @param to      last position, exclusive
     * @throws IndexOutOfBoundsException if the range is not within {@code [0, contextSize())}
     * @throws IllegalArgumentException  if the id is negative
     * @throws BudgetExceededException   if the budget would be exceeded
     * @throws IllegalStateException     if a unit is open
     */
    void addRange(long unitId, int version, int from, int to);

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
     * @throws IllegalArgumentException  if the page size is out of range
     * @throws IndexOutOfBoundsException if the range is not within {@code [0, contextSize())}
     * @throws BudgetExceededException   if the budget would be exceeded
     * @throws IllegalStateException     if a unit is open
     */
    void addPages(long firstUnitId, int pageSize, int from, int to);

    /**
     * Opens a unit; positions {@link #add added} until {@link #endUnit()} belong to it.
     *
     * @param unitId  the unit's id, {@code >= 0}
     * @param version the unit's version
     * @throws IllegalArgumentException if the id is negative
     * @throws IllegalStateException    if a unit is already open
     */
    void beginUnit(long unitId, int version);

    /**
     * Closes the open unit (an empty unit is dropped).
     *
     * @throws IllegalStateException if no unit is open
     */
    void endUnit();

    /**
     * Adds one position, to the open unit or else outside any unit.
     *
     * @param position a position in {@code [0, contextSize())}
     * @throws IndexOutOfBoundsException if the position is out of range
     * @throws BudgetExceededException   if the budget is already full
     */
    void add(int position);

    /**
     * Attends every position from {@code from} to the newest, on top of the budget. A later call
     * replaces the window.
     *
     * @param from first position of the window, in {@code [0, contextSize()]}
     * @throws IndexOutOfBoundsException if {@code from} is out of range
     */
    void attendFrom(int from);

    /** @return explicit positions the budget still allows, {@code budget()} minus those added */
    int remaining();

    /** @return the step's budget: explicit positions this head may attend, {@code >= 1} */
    int budget();

    /** @return the step's context size: valid positions are {@code [0, contextSize())} */
    int contextSize();
}

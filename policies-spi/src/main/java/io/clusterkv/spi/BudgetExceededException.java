package io.clusterkv.spi;

/**
 * A policy tried to select more positions for a query head than the step's budget allows. The
 * runtime treats it as a policy failure: that shard attends exactly for the step.
 */
public final class BudgetExceededException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /**
     * @param head   the query head
     * @param budget the step's budget
     */
    public BudgetExceededException(int head, int budget) {
        super("selection for query head " + head + " exceeds the budget of " + budget + " positions");
    }
}

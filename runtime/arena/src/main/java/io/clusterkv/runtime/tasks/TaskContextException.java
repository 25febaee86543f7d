package io.clusterkv.runtime.tasks;

/**
 * A context length a task cannot use: too small to hold the task's prefix and needles, or, with the
 * continuation, too long for the model.
 */
public final class TaskContextException extends TaskException {

    private static final long serialVersionUID = 1L;

    private final Task task;
    private final int context;

    /**
     * @param task    the task
     * @param context the context length asked for
     * @param message what is wrong, naming the task and the length
     */
    public TaskContextException(Task task, int context, String message) {
        super(message);
        this.task = task;
        this.context = context;
    }

    /** @return the task */
    public Task task() {
        return task;
    }

    /** @return the context length asked for */
    public int context() {
        return context;
    }
}

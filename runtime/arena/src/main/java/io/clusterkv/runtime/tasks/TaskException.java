package io.clusterkv.runtime.tasks;

/**
 * A task cannot be set up as asked: an unknown task name, a context too small for the task, or a model
 * whose vocabulary cannot write it. The message is one line naming the input at fault. A usage error:
 * nothing has been run when it is thrown.
 */
public abstract sealed class TaskException extends IllegalArgumentException
        permits UnknownTaskException, TaskContextException, TaskVocabularyException {

    private static final long serialVersionUID = 1L;

    TaskException(String message) {
        super(message);
    }
}

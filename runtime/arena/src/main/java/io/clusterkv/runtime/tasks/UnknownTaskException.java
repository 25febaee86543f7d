package io.clusterkv.runtime.tasks;

import java.util.List;

/** A task name that is not one of {@link Task#names()}; the message lists the known names. */
public final class UnknownTaskException extends TaskException {

    private static final long serialVersionUID = 1L;

    private final String name;

    /** @param name the unknown name */
    public UnknownTaskException(String name) {
        super("unknown task '" + name + "'; tasks: " + String.join(", ", Task.names()));
        this.name = name;
    }

    /** @return the unknown name */
    public String name() {
        return name;
    }

    /** @return the known names */
    public List<String> known() {
        return Task.names();
    }
}

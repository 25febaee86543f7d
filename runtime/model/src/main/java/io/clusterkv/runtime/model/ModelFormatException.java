package io.clusterkv.runtime.model;

import java.nio.file.Path;

/**
 * A model or vocabulary file that cannot be read: malformed, truncated, or of a kind this runtime
 * does not support. The message names the file, the field and the byte offset where reading stopped.
 */
public final class ModelFormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String field;
    private final long offset;
    private final String problem;

    /**
     * @param file    the file
     * @param field   the field being read, e.g. {@code "tensor_count"} or {@code "tensor 'output.weight' type"}
     * @param offset  byte offset of that field, or -1 when not tied to one
     * @param problem what is wrong
     */
    public ModelFormatException(Path file, String field, long offset, String problem) {
        super(file + ": " + field + (offset >= 0 ? " at offset " + offset : "") + ": " + problem);
        this.file = file;
        this.field = field;
        this.offset = offset;
        this.problem = problem;
    }

    /** @return what is wrong, without the file, field and offset */
    public String problem() {
        return problem;
    }

    /** @return the file */
    public Path file() {
        return file;
    }

    /** @return the field being read */
    public String field() {
        return field;
    }

    /** @return the byte offset, or -1 */
    public long offset() {
        return offset;
    }
}

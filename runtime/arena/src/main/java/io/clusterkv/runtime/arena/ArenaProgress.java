package io.clusterkv.runtime.arena;

/**
 * Receives the progress of an {@link PolicyArena} run, on the arena's thread. Work is counted in units
 * proportional to the time it takes (a decode step of a shard weighs its context length), so
 * {@code done / total} is a fair fraction of the run.
 */
@FunctionalInterface
public interface ArenaProgress {

    /** Ignores progress. */
    ArenaProgress NONE = (done, total, phase) -> { };

    /**
     * @param done  units of work done, {@code 0 <= done <= total}
     * @param total units of work in the whole run, {@code > 0}
     * @param phase what is running, e.g. {@code "context 8192"}
     */
    void update(long done, long total, String phase);
}

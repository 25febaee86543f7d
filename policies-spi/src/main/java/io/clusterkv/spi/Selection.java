package io.clusterkv.spi;

/**
 * One step's selection for all query heads of a shard, as a policy writes it in
 * {@link RecallPolicy#select}: a {@link HeadSelection} per query head.
 *
 * <p>The runtime owns one instance per shard, empties it and sets the step's budget and context size
 * before each {@code select}, and reads it afterwards. A policy writes it and must not keep a reference
 * to it. Writing allocates nothing.
 */
public interface Selection {

    /** @return query heads of the shard, {@code >= 1} */
    int heads();

    /**
     * @param head a query head in {@code [0, heads())}
     * @return that head's selection, to write
     * @throws IndexOutOfBoundsException if the head is out of range
     */
    HeadSelection head(int head);

    /** @return the step's budget: explicit positions each query head may attend, {@code >= 1} */
    int budget();

    /** @return the step's context size: valid positions are {@code [0, contextSize())} */
    int contextSize();

    /** Attends everything for every head, through the window, as exact attention does. */
    default void attendAll() {
        for (int h = 0; h < heads(); h++) {
            head(h).attendFrom(0);
        }
    }
}

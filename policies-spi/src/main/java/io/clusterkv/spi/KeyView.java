package io.clusterkv.spi;

/**
 * A read-only view of one shard's keys by position: {@code (size, headDim)}, post-RoPE, as attention
 * sees them.
 *
 * <p>The live view handed to {@link RecallPolicy#onAppend} and {@link RecallPolicy#select} grows as
 * keys are appended. {@link #snapshot()} freezes the current size: positions written never change,
 * so a snapshot may be read from another thread (a {@link MaintenanceTask#compute}) while the shard
 * appends. Implementations may store keys in reduced precision (F16); reads return them as
 * {@code float}.
 *
 * <p>Bulk methods ({@link #copyKeys}, {@link #dot}) are the fast path; the runtime implements them
 * with the Vector API over off-heap storage.
 */
public interface KeyView {

    /** @return the number of positions written, {@code 0 .. size()-1} valid */
    int size();

    /** @return channels per key */
    int headDim();

    /**
     * @param position a position in {@code [0, size())}
     * @param channel  a channel in {@code [0, headDim())}
     * @return one channel of one key
     * @throws IndexOutOfBoundsException if either index is out of range
     */
    float get(int position, int channel);

    /**
     * Copies the keys of positions {@code [from, to)} into {@code dst}, row after row.
     *
     * @param from   first position, inclusive
     * @param to     last position, exclusive, {@code <= size()}
     * @param dst    destination, at least {@code offset + (to - from) * headDim()} long
     * @param offset where the first row goes
     * @throws IndexOutOfBoundsException if the range or the destination is out of bounds
     */
    void copyKeys(int from, int to, float[] dst, int offset);

    /**
     * @param position a position in {@code [0, size())}
     * @param vector   holds a {@code headDim()}-vector at {@code offset}
     * @param offset   where the vector starts
     * @return the inner product of the key at {@code position} with the vector
     * @throws IndexOutOfBoundsException if the position or the vector range is out of bounds
     */
    float dot(int position, float[] vector, int offset);

    /**
     * @return a view of the positions written so far whose size never changes; safe to read from
     *         any thread
     */
    KeyView snapshot();

    /**
     * A view over a row-major array, {@code keys[p * headDim + c]}, for tests and tools. The view
     * reads the array; it does not copy it.
     *
     * @param keys    row-major keys
     * @param size    number of positions
     * @param headDim channels per key
     * @return the view, whose snapshots are itself
     * @throws IllegalArgumentException if the array is shorter than {@code size * headDim}
     */
    static KeyView of(float[] keys, int size, int headDim) {
        return new ArrayKeyView(keys, size, headDim);
    }
}

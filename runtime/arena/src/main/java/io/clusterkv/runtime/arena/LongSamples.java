package io.clusterkv.runtime.arena;

import java.util.Arrays;

/** A growable list of {@code long} samples (nanosecond timings) with a median. Not thread-safe. */
final class LongSamples {

    private long[] values = new long[64];
    private int size;

    void add(long v) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = v;
    }

    void addAll(LongSamples other) {
        for (int i = 0; i < other.size; i++) {
            add(other.values[i]);
        }
    }

    int size() {
        return size;
    }

    /** @return the median, {@code NaN} when empty */
    double median() {
        if (size == 0) {
            return Double.NaN;
        }
        long[] a = Arrays.copyOf(values, size);
        Arrays.sort(a);
        return size % 2 == 1 ? a[size / 2] : (a[size / 2 - 1] + a[size / 2]) / 2.0;
    }
}

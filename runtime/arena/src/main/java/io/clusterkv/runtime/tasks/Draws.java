package io.clusterkv.runtime.tasks;

import java.util.random.RandomGenerator;

/** Seeded draws the tasks share. */
final class Draws {

    private Draws() {
    }

    /**
     * @param pool   the size of the pool drawn from
     * @param count  how many to draw
     * @param random the stream
     * @param what   what is drawn, for the message
     * @return {@code count} distinct indices of {@code [0, pool)}, in draw order (a partial Fisher-Yates shuffle)
     * @throws IllegalArgumentException if {@code count > pool}
     */
    static int[] distinct(int pool, int count, RandomGenerator random, String what) {
        if (count > pool) {
            throw new IllegalArgumentException("cannot draw " + count + " distinct " + what + " from " + pool);
        }
        int[] all = new int[pool];
        for (int i = 0; i < pool; i++) {
            all[i] = i;
        }
        for (int i = 0; i < count; i++) {
            int j = i + random.nextInt(pool - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        return java.util.Arrays.copyOf(all, count);
    }

    /**
     * The pass key's digits: the first in {@code 1..9}, every other in {@code 0..9} such that no two
     * adjacent digits repeat a pair already in the key (so every digit pair of the key is unique).
     *
     * @param length digits, {@code <= 10}
     * @param random the stream
     * @return the digits
     */
    static int[] passkey(int length, RandomGenerator random) {
        int[] d = new int[length];
        d[0] = 1 + random.nextInt(9);
        boolean[] used = new boolean[100];
        for (int i = 1; i < length; i++) {
            int free = 0;
            for (int c = 0; c < 10; c++) {
                free += used[d[i - 1] * 10 + c] ? 0 : 1;
            }
            int pick = random.nextInt(free);
            for (int c = 0; c < 10; c++) {
                if (!used[d[i - 1] * 10 + c] && pick-- == 0) {
                    d[i] = c;
                    break;
                }
            }
            used[d[i - 1] * 10 + d[i]] = true;
        }
        return d;
    }
}

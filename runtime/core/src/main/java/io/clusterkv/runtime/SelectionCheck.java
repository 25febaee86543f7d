package io.clusterkv.runtime;

import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;

/**
 * Checks what a selection's buffer cannot while a policy writes it: that no query head selected a
 * position twice, and that none of its explicit positions lies inside its own window. (Range, budget
 * and unit nesting are enforced as it is written; a unit's membership under one version is the
 * conformance kit's to check.) Either mistake would weigh a row twice in the softmax: a wrong output
 * without an error, so the shard counts it as a policy failure and attends exactly instead.
 *
 * <p>One per shard, on its thread. A bit per position of the context, set and cleared per head, so a
 * check costs a pass over the selected positions and allocates nothing once the bitmap has grown to
 * the context.
 */
final class SelectionCheck {

    private long[] seen = new long[16];     // (contextSize / 64) a bit per position, all clear between checks

    /**
     * @param selection a step's selection, after {@code select}
     * @return {@code null} if it is valid, else the violation, naming the head and the position
     */
    RuntimeException violation(SelectionBuffer selection) {
        for (int h = 0; h < selection.heads(); h++) {
            RuntimeException e = violation(selection.head(h));
            if (e != null) {
                return e;
            }
        }
        return null;
    }

    private RuntimeException violation(HeadSelectionBuffer head) {
        int words = (head.contextSize() >>> 6) + 1;
        if (seen.length < words) {
            seen = new long[Math.max(words, seen.length * 2)];
        }
        int[] positions = head.positionBuffer();
        int n = head.size();
        int window = head.windowStart();
        RuntimeException e = null;
        int i = 0;
        for (; i < n; i++) {
            int p = positions[i];
            long bit = 1L << p;
            if (p >= window) {
                e = new IllegalArgumentException("query head " + head.head() + " selected position " + p
                        + ", inside its own window from " + window + " (it would count twice)");
                break;
            }
            if ((seen[p >>> 6] & bit) != 0) {
                e = new IllegalArgumentException("query head " + head.head() + " selected position " + p
                        + " twice (it would count twice)");
                break;
            }
            seen[p >>> 6] |= bit;
        }
        for (int j = 0; j < i; j++) {
            seen[positions[j] >>> 6] = 0;
        }
        return e;
    }
}

package io.clusterkv.runtime.attention;

import io.clusterkv.runtime.kv.KvShard;
import java.io.Serial;
import java.util.concurrent.RecursiveAction;

/**
 * One task of {@link Attention#exactParallel}: absorbs a range of positions into its own partial
 * state, which the caller began with the queries. Its fields are written before the task is handed
 * to the pool and the state is read back after it is joined, both happens-before edges. One use only.
 */
final class RangeTask extends RecursiveAction {

    @Serial
    private static final long serialVersionUID = 1L;

    private final transient OnlineSoftmax part;
    private final transient KvShard.View kv;
    private final int from;
    private final int to;

    RangeTask(OnlineSoftmax part, KvShard.View kv, int from, int to) {
        this.part = part;
        this.kv = kv;
        this.from = from;
        this.to = to;
    }

    @Override
    protected void compute() {
        part.absorbRange(kv, from, to);
    }
}

package io.clusterkv.runtime.residency;

import java.util.concurrent.atomic.LongAdder;

/**
 * The counters of one layer of one session, shared by its shards (one per KV head, each on its own
 * thread). Shards add their step's requests once per step; evictions and resident bytes are counted
 * by whichever thread evicts or frees. {@link LongAdder}s: no lock, no allocation once their cells
 * exist.
 */
final class LayerCounters {

    final LongAdder hits = new LongAdder();
    final LongAdder misses = new LongAdder();
    final LongAdder extensions = new LongAdder();
    final LongAdder bypasses = new LongAdder();
    final LongAdder bytesMoved = new LongAdder();
    final LongAdder evictions = new LongAdder();
    final LongAdder residentBytes = new LongAdder();

    ResidencyStats snapshot() {
        return new ResidencyStats(hits.sum(), misses.sum(), extensions.sum(), bypasses.sum(), bytesMoved.sum(),
                evictions.sum(), residentBytes.sum());
    }
}

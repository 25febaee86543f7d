package io.clusterkv.runtime;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a runtime's sessions hold now, counted where it is taken and given back: session and shard
 * actors (from their start to their stop), and the bytes of the sessions' KV stores (from a chunk's
 * allocation to the store's close, which waits for a maintenance task still reading it). Read by
 * {@link ClusterKvRuntime#resources()}.
 */
final class ResourceGauges {

    final AtomicInteger sessionActors = new AtomicInteger();
    final AtomicInteger shardActors = new AtomicInteger();
    final LongAdder kvBytes = new LongAdder();
}

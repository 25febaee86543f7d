/**
 * The recall-policy SPI: what a policy sees, what it returns, and its lifecycle.
 *
 * <h2>Lifecycle of one policy instance</h2>
 * The runtime creates one {@link io.clusterkv.spi.RecallPolicy} per shard, that is per
 * (layer, kvHead) pair, through {@link io.clusterkv.spi.RecallPolicyProvider#create}. All calls
 * on that instance come from one thread at a time (the shard's actor), in this order:
 * <ol>
 *   <li>{@link io.clusterkv.spi.RecallPolicy#onPrompt} once, with the prompt's keys written;</li>
 *   <li>then, for each generated token, {@link io.clusterkv.spi.RecallPolicy#onAppend} with the new
 *       key written, and {@link io.clusterkv.spi.RecallPolicy#select} for that step's queries;</li>
 *   <li>at any point between those calls, {@link io.clusterkv.spi.RecallPolicy#pollMaintenance}
 *       when the runtime has room for more asynchronous work, and
 *       {@link io.clusterkv.spi.MaintenanceTask#apply} when a task's result comes back, possibly
 *       many steps after it was handed out;</li>
 *   <li>{@link io.clusterkv.spi.RecallPolicy#close} once at the end.</li>
 * </ol>
 * Only {@link io.clusterkv.spi.MaintenanceTask#compute} runs on another thread, and it may read only
 * the immutable {@link io.clusterkv.spi.KeyView} snapshot it captured.
 *
 * <h2>Shapes</h2>
 * Positions are token indices in the sequence, {@code 0 .. keys.size()-1}, stable for the life of a
 * session. A shard with geometry {@code (queryHeads, headDim)} receives queries as
 * {@code (queryHeads, headDim)} and returns one selection per query head.
 */
package io.clusterkv.spi;

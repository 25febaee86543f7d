/**
 * The cost side of a comparison: {@link io.clusterkv.runtime.compare.SelectionCost} times each policy's
 * {@code select} and attention over its selection against exact attention ({@code ckv bench selection}).
 * The quality side, and the comparison of every policy on the same inputs, is the arena,
 * {@link io.clusterkv.runtime.arena}.
 */
package io.clusterkv.runtime.compare;

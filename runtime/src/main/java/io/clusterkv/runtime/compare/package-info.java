/**
 * The first policy comparison: every discovered policy over the synthetic workload at a few budgets,
 * in replay mode (all policies select for the same queries over the same keys at every step).
 */
package io.clusterkv.runtime.compare;

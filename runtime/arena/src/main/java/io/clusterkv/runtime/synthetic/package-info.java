/**
 * A seeded synthetic KV workload (topics, attention sinks, needles, recency, noise) for comparing and
 * testing recall policies without a model: {@link io.clusterkv.runtime.synthetic.SyntheticWorkload}
 * generated from {@link io.clusterkv.runtime.synthetic.WorkloadParams}. The model is described in the
 * class documentation and in {@code docs/SYNTHETIC_WORKLOAD.md}.
 */
package io.clusterkv.runtime.synthetic;

/**
 * The arena: every policy found competes on the same model and inputs (replay and drive modes), scored
 * by the selection-quality metrics, on a model or the seeded synthetic KV workload, or by accuracy on
 * long-context tasks (task mode, {@code io.clusterkv.runtime.tasks}); results.json and a
 * self-contained report.html. Depends on the runtime, Jackson and Chart.js.
 */
module io.clusterkv.runtime.arena {
    requires transitive io.clusterkv.runtime;
    requires jdk.incubator.vector;
    requires java.management;
    requires tools.jackson.databind;

    exports io.clusterkv.runtime.arena;
    exports io.clusterkv.runtime.metrics;
    exports io.clusterkv.runtime.synthetic;
    exports io.clusterkv.runtime.tasks;
}

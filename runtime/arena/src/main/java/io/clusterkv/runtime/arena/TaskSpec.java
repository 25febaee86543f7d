package io.clusterkv.runtime.arena;

import io.clusterkv.runtime.tasks.Task;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;

/**
 * What the arena's task mode ({@link TaskArena}) runs, beside the {@link ArenaSpec} that gives the
 * model, contexts, budgets, policies and seed.
 *
 * @param tasks     the tasks, in report order, at least one; duplicates dropped
 * @param depths    needle depths, each in {@code [0, 1]}: {@code instances} instances at each. Empty:
 *                  {@code instances} instances spread evenly over the haystack, instance {@code i} of
 *                  {@code N} at depth {@code (i + 0.5) / N} (0.1, 0.3, 0.5, 0.7, 0.9 for the default 5),
 *                  as RULER spreads its depths
 * @param instances seeded instances per task, context and depth, {@code >= 1}
 */
public record TaskSpec(List<Task> tasks, List<Double> depths, int instances) {

    /** Instances per task and context (and depth, when depths are given) by default. */
    public static final int DEFAULT_INSTANCES = 5;

    /**
     * Budgets of the task mode when none are given: ClusterKV's headline budget, 1024, and a quarter of
     * it. Every (policy, budget) opens a session per instance, so each budget adds a policy's indexing
     * of the whole context per instance.
     */
    public static final List<Integer> DEFAULT_BUDGETS = List.of(256, 1024);

    /**
     * The context length of the task mode when none is given; where the model holds fewer tokens, its
     * context length less {@link #QUESTION_ROOM}.
     */
    public static final int DEFAULT_CONTEXT = 4096;

    /** Positions the default context leaves for a question and its answers. */
    public static final int QUESTION_ROOM = 128;

    /**
     * @throws IllegalArgumentException if there is no task, a depth is outside {@code [0, 1]} or
     *                                  {@code instances < 1}, naming the value
     */
    public TaskSpec {
        tasks = List.copyOf(new LinkedHashSet<>(tasks));
        depths = List.copyOf(depths);
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException("task mode needs at least one task; tasks: " + String.join(", ", Task.names()));
        }
        for (double d : depths) {
            if (!(d >= 0 && d <= 1)) {
                throw new IllegalArgumentException("a needle depth must be in [0, 1], was " + d);
            }
        }
        if (instances < 1) {
            throw new IllegalArgumentException("instances must be >= 1, was " + instances);
        }
    }

    /**
     * @param tasks the tasks
     * @return the tasks with {@link #DEFAULT_INSTANCES} instances at evenly spread depths
     */
    public static TaskSpec of(List<Task> tasks) {
        return new TaskSpec(tasks, List.of(), DEFAULT_INSTANCES);
    }

    /** @return the depth of each instance of a (task, context), in instance order */
    public List<Double> instanceDepths() {
        List<Double> out = new ArrayList<>();
        if (depths.isEmpty()) {
            for (int i = 0; i < instances; i++) {
                out.add((i + 0.5) / instances);
            }
        } else {
            for (double d : depths) {
                for (int i = 0; i < instances; i++) {
                    out.add(d);
                }
            }
        }
        return out;
    }

    /**
     * @param v instances per task, context and depth
     * @return a copy with {@link #instances()} changed
     * @throws IllegalArgumentException if {@code v < 1}
     */
    public TaskSpec withInstances(int v) {
        return new TaskSpec(tasks, depths, v);
    }

    /**
     * @param v the depths; empty for evenly spread ones
     * @return a copy with {@link #depths()} changed
     * @throws IllegalArgumentException if a depth is outside {@code [0, 1]}
     */
    public TaskSpec withDepths(List<Double> v) {
        return new TaskSpec(tasks, Objects.requireNonNull(v, "depths"), instances);
    }
}

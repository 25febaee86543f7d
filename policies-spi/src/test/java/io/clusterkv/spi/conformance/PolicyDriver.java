package io.clusterkv.spi.conformance;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.PolicyConfig;
import io.clusterkv.spi.PolicyContext;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.RecallPolicyProvider;
import io.clusterkv.spi.ShardGeometry;
import io.clusterkv.spi.driver.ShardPolicyDriver;
import io.clusterkv.spi.internal.HeadSelectionBuffer;
import io.clusterkv.spi.internal.SelectionBuffer;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Drives one policy instance the way the runtime does, through the runtime's own
 * {@link ShardPolicyDriver} (prompt, then append / maintenance / select at every step), checks every
 * selection with {@link ConformanceChecks}, and records them. Whatever the policy throws propagates.
 *
 * <p>Maintenance is run synchronously but applied {@code applyDelay} steps after it was handed out
 * ({@code 0}: at once; {@link Integer#MAX_VALUE}: never), to show that selections stay valid
 * whatever the timing.
 *
 * <p>{@link #selectAllocation} measures what {@code select} allocates in steady state with the
 * thread's allocation counter ({@link com.sun.management.ThreadMXBean#getThreadAllocatedBytes(long)}).
 * The interpreter and C1 allocate what C2's escape analysis later removes (Vector API boxes, short-lived
 * objects), so it measures in rounds until the JIT has caught up and reports the fewest bytes of any
 * round; a policy that allocates on every call allocates in every round, also once the JIT is idle.
 */
public final class PolicyDriver {

    /**
     * One step's selection of one head, as recorded.
     *
     * @param step        the decode step, 0 for the prompt's
     * @param head        the query head
     * @param positions   its explicit positions, sorted
     * @param windowStart the first position of its recent window, or {@code Integer.MAX_VALUE} for none
     */
    public record Recorded(int step, int head, int[] positions, int windowStart) {
    }

    private final RecallPolicyProvider provider;
    private final ShardGeometry geometry;
    private final Map<String, String> config;
    private final long seed;

    /**
     * @param provider the provider under test
     * @param geometry the shard geometry
     * @param config   overrides of the policy's config section
     * @param seed     the policy seed
     */
    public PolicyDriver(RecallPolicyProvider provider, ShardGeometry geometry, Map<String, String> config, long seed) {
        this.provider = provider;
        this.geometry = geometry;
        this.config = config;
        this.seed = seed;
    }

    /**
     * Runs a prompt of {@code promptLength} positions and {@code steps} decode steps.
     *
     * @param promptLength positions written before the first step, {@code >= 1}
     * @param steps        decode steps
     * @param budget       the budget, for the context and every step
     * @param applyDelay   steps between handing out maintenance and applying its result
     * @return every recorded selection
     * @throws AssertionError if a selection breaks the contract
     */
    public List<Recorded> run(int promptLength, int steps, int budget, int applyDelay) {
        List<Recorded> out = new ArrayList<>();
        ConformanceChecks.UnitLedger ledger = new ConformanceChecks.UnitLedger();
        try (Driven d = drive(promptLength, steps, budget, applyDelay, (step, policy, keys, sel) -> {
            String where = provider.name() + " budget=" + budget + " step=" + step + " context=" + keys.size();
            ConformanceChecks.check(sel, policy.alwaysAttended(keys.size(), budget), ledger, where);
            for (int h = 0; h < sel.heads(); h++) {
                HeadSelectionBuffer hs = sel.head(h);
                out.add(new Recorded(step, h, hs.sortedPositions(), hs.windowStart()));
            }
        })) {
            return out;
        }
    }

    /**
     * Calls {@code select} once, as the runtime does, checks the selection as the kit does, and records
     * what each query head attends: for a plugin's own tests of particular selections.
     *
     * @param policy  the policy, already given its keys ({@code onPrompt}, {@code onAppend})
     * @param queries the step's queries, one per query head
     * @param keys    the shard's keys
     * @param budget  the budget, {@code >= 1}
     * @return one record per query head, at step 0
     * @throws AssertionError if the selection breaks the contract
     */
    public static List<Recorded> selectOnce(RecallPolicy policy, Queries queries, KeyView keys, int budget) {
        SelectionBuffer sel = new SelectionBuffer(queries.heads(), budget);
        sel.reset(budget, keys.size());
        policy.select(queries, keys, budget, sel);
        ConformanceChecks.check(sel, policy.alwaysAttended(keys.size(), budget), new ConformanceChecks.UnitLedger(),
                "select budget=" + budget + " context=" + keys.size());
        List<Recorded> out = new ArrayList<>();
        for (int h = 0; h < sel.heads(); h++) {
            out.add(new Recorded(0, h, sel.head(h).sortedPositions(), sel.head(h).windowStart()));
        }
        return out;
    }

    /** Selects per measured round of {@link #selectAllocation}. */
    public static final int SELECTS_PER_ROUND = 1_000;

    /** How long the JIT must have compiled nothing before a round that still allocates is believed. */
    public static final Duration JIT_IDLE = Duration.ofSeconds(2);

    /** The longest {@link #selectAllocation} measures. */
    public static final Duration MEASURE_LIMIT = Duration.ofSeconds(30);

    /**
     * Measures what {@code select} allocates in steady state: after a prompt of {@code promptLength}
     * positions and {@code decodeSteps} decode steps (maintenance applied at once), it calls
     * {@code select} over and over at that context, with the queries of different steps in turn, in
     * rounds of {@link #SELECTS_PER_ROUND}. It stops at the first round that allocates less than
     * {@code enough} bytes; otherwise once the JIT has compiled nothing for {@link #JIT_IDLE} (the code
     * that runs is then the code that stays), or after {@link #MEASURE_LIMIT}.
     *
     * @param promptLength positions written before the first step, {@code >= 1}
     * @param decodeSteps  decode steps before measuring
     * @param budget       the budget
     * @param enough       bytes below which a round ends the measurement
     * @return the fewest bytes any measured round allocated on this thread, the counter's own reads
     *         discounted
     * @throws UnsupportedOperationException if the JVM cannot count a thread's allocations
     */
    public long selectAllocation(int promptLength, int decodeSteps, int budget, long enough) {
        if (!(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean bean)
                || !bean.isThreadAllocatedMemorySupported()) {
            throw new UnsupportedOperationException("this JVM cannot count the bytes a thread allocates");
        }
        if (!bean.isThreadAllocatedMemoryEnabled()) {
            bean.setThreadAllocatedMemoryEnabled(true);
        }
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean jitTimed = jit != null && jit.isCompilationTimeMonitoringSupported();
        int n = promptLength + decodeSteps;
        try (Driven d = drive(promptLength, decodeSteps, budget, 0, (step, policy, keys, sel) -> { })) {
            RecallPolicy policy = d.driver().policy();
            ConformanceWorkload w = d.workload();
            float[] q = d.q();
            Queries queries = d.queries();
            SelectionBuffer sel = d.sel();
            GrowingKeyView keys = d.keys();
            long thread = Thread.currentThread().threadId();
            long counterCost = Long.MAX_VALUE;
            for (int i = 0; i < 3; i++) {
                long before = bean.getThreadAllocatedBytes(thread);
                counterCost = Math.min(counterCost, bean.getThreadAllocatedBytes(thread) - before);
            }
            long start = System.nanoTime();
            long jitTime = jitTimed ? jit.getTotalCompilationTime() : 0;
            long jitIdleSince = start;
            long fewest = Long.MAX_VALUE;
            for (;;) {
                long before = bean.getThreadAllocatedBytes(thread);
                for (int i = 0; i < SELECTS_PER_ROUND; i++) {
                    w.queriesAt(i % n, q);
                    sel.reset(budget, n);
                    policy.select(queries, keys, budget, sel);
                }
                fewest = Math.min(fewest, bean.getThreadAllocatedBytes(thread) - before - counterCost);
                long now = System.nanoTime();
                if (jitTimed && jit.getTotalCompilationTime() != jitTime) {
                    jitTime = jit.getTotalCompilationTime();
                    jitIdleSince = now;
                }
                if (fewest < enough || (jitTimed && now - jitIdleSince >= JIT_IDLE.toNanos())
                        || now - start >= MEASURE_LIMIT.toNanos()) {
                    return fewest;
                }
            }
        }
    }

    /** What {@link #drive} leaves behind: the driven policy and its workload, for more selects. */
    private record Driven(ShardPolicyDriver driver, ConformanceWorkload workload, GrowingKeyView keys, float[] q,
                          Queries queries, SelectionBuffer sel) implements AutoCloseable {
        @Override
        public void close() {
            driver.close();
        }
    }

    /** Looks at each step's selection. */
    private interface AfterSelect {
        void check(int step, RecallPolicy policy, GrowingKeyView keys, SelectionBuffer sel);
    }

    /**
     * Drives a new instance the way the runtime does: a prompt of {@code promptLength} positions, then
     * {@code steps} decode steps (append, maintenance applied {@code applyDelay} steps late, select),
     * selecting at the prompt and at every step.
     */
    private Driven drive(int promptLength, int steps, int budget, int applyDelay, AfterSelect after) {
        ConformanceWorkload w = new ConformanceWorkload(promptLength + steps, geometry.queryHeads(), geometry.headDim(),
                seed ^ 0x5DEECE66DL);
        GrowingKeyView keys = w.keys(promptLength);
        PolicyContext ctx = new PolicyContext(geometry, budget,
                PolicyConfig.of(provider.name(), provider.configKeys(), config), seed);
        float[] q = new float[geometry.queryHeads() * geometry.headDim()];
        Queries queries = Queries.wrap(q, geometry.queryHeads(), geometry.headDim());
        SelectionBuffer sel = new SelectionBuffer(geometry.queryHeads(), budget);
        ShardPolicyDriver driver = new ShardPolicyDriver(provider.create(ctx),
                new ShardPolicyDriver.Maintenance.Lagged(applyDelay), ShardPolicyDriver.Events.RETHROW);
        try {
            driver.prompt(keys);
            for (int step = 0; step <= steps; step++) {
                if (step > 0) {
                    keys.grow();
                    driver.append(keys.size() - 1, keys);
                }
                driver.maintain(keys);
                w.queriesAt(keys.size() - 1, q);
                driver.select(queries, keys, budget, sel);
                after.check(step, driver.policy(), keys, sel);
            }
        } catch (RuntimeException | Error e) {
            driver.close();
            throw e;
        }
        return new Driven(driver, w, keys, q, queries, sel);
    }
}

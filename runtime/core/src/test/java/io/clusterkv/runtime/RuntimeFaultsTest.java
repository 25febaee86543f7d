package io.clusterkv.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.policy.FullPolicy;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.policy.StreamingPolicy;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.Selection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.PoisonPill;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Faults injected into the runtime, one test each (issue 16): a policy that throws, returns a selection
 * the contract forbids, or blocks in {@code select}; maintenance that throws, runs out of memory or
 * blocks; a shard actor that dies; a {@link VirtualMachineError} in a policy or a listener; a listener
 * that throws; {@code close()} during a generation. Each test checks what docs/RELIABILITY.md
 * promises for the affected session, that a healthy session running at the same time produces exactly
 * the tokens it produces alone, and, after everything is closed, that nothing leaked (see
 * {@link #assertNothingLeaked}).
 *
 * <p>The model is {@code synthetic:tiny} (2 layers, 2 KV heads of 2 query heads each) with one dense
 * layer, so layer 1's two shards select; with {@code exact-coverage = 1} a shard selects once its
 * context is larger than 2 x budget, so every decode step after the 12-token prompt is sparse.
 */
@ExtendWith(LogCapturingExtension.class)
class RuntimeFaultsTest {

    private static final long STEP_TIMEOUT_MS = 1500;
    private static final int SPARSE_SHARDS = 2;

    private static ClusterKvRuntime runtime;
    private static LlamaModel model;
    private static int[] prompt;          // the faulty sessions' prompt, 12 tokens
    private static int[] fullTokens;      // its 10 tokens under exact attention, alone
    private static int[] pagesTokens;     // its 10 tokens under Pages (budget 4), alone
    private static int[] healthyPrompt;
    private static int[] healthyTokens;   // the healthy session's tokens, alone

    @BeforeAll
    static void start() throws Exception {
        PolicyRegistry policies = PolicyRegistry.of(List.of(new FullPolicy.Provider(), new StreamingPolicy.Provider(),
                provider("pages", Pages::new),
                provider("throwing", TestPolicies.ThrowingSelect::new),
                provider("garbage-out-of-range", () -> new Garbage(Garbage.Kind.OUT_OF_RANGE)),
                provider("garbage-over-budget", () -> new Garbage(Garbage.Kind.OVER_BUDGET)),
                provider("garbage-duplicate", () -> new Garbage(Garbage.Kind.DUPLICATE)),
                provider("garbage-in-window", () -> new Garbage(Garbage.Kind.IN_WINDOW)),
                provider("unsorted", Unsorted::new),
                provider("blocking-select", BlockingSelect::new),
                provider("oom-select", () -> new FatalSelect(false)),
                provider("stack-overflow-select", () -> new FatalSelect(true)),
                provider("maintenance-throws", () -> new FaultyMaintenance(MaintenanceFault.THROWS)),
                provider("maintenance-oom", () -> new FaultyMaintenance(MaintenanceFault.OUT_OF_MEMORY)),
                provider("maintenance-blocks", () -> new FaultyMaintenance(MaintenanceFault.BLOCKS))));
        runtime = ClusterKvRuntime.builder()
                .config(ConfigFactory.parseMap(Map.of(
                        "clusterkv.runtime.policy", "full",
                        "clusterkv.runtime.dense-layers", 1,
                        "clusterkv.runtime.max-policy-failures", 5,
                        "clusterkv.runtime.step-timeout", STEP_TIMEOUT_MS + "ms")))
                .policies(policies)
                .build();
        model = runtime.loadModel("synthetic:tiny");
        prompt = RuntimeExactnessTest.randomTokens(model.config().vocab(), 12, 21);
        healthyPrompt = RuntimeExactnessTest.randomTokens(model.config().vocab(), 24, 22);
        fullTokens = alone("full", 1, prompt, 10);
        pagesTokens = alone("pages", 4, prompt, 10);
        healthyTokens = alone("streaming", 2, healthyPrompt, 200);
        assertNothingLeaked();
    }

    @AfterAll
    static void stop() throws Exception {
        if (runtime == null) {
            return;
        }
        String system = runtime.actorSystem().name() + "-";
        runtime.close();
        // after close, no thread of the runtime's dispatchers or of its compute pool is left
        List<String> left = List.of();
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); System.nanoTime() < deadline; ) {
            left = Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                    .filter(n -> n.startsWith(system) || n.startsWith("clusterkv-compute-")).toList();
            if (left.isEmpty()) {
                break;
            }
            Thread.sleep(50);
        }
        assertEquals(List.of(), left, "threads of the closed runtime");
    }

    @AfterEach
    void nothingLeaked() throws Exception {
        for (Session s : runtime.sessions()) {
            s.close();
        }
        assertNothingLeaked();
    }

    // ---- policies ----

    /** Whole pages of 16 positions (unit = page) over the newest {@code budget} positions: valid. */
    static class Pages implements RecallPolicy {
        @Override
        public void select(Queries queries, KeyView keys, int budget, Selection out) {
            int n = keys.size();
            for (int h = 0; h < out.heads(); h++) {
                out.head(h).addPages(0, 16, Math.max(0, n - budget), n);
            }
        }
    }

    /** Breaks the selection contract one way. */
    static final class Garbage implements RecallPolicy {
        enum Kind { OUT_OF_RANGE, OVER_BUDGET, DUPLICATE, IN_WINDOW }

        private final Kind kind;

        Garbage(Kind kind) {
            this.kind = kind;
        }

        @Override
        public void select(Queries queries, KeyView keys, int budget, Selection out) {
            int n = keys.size();
            for (int h = 0; h < out.heads(); h++) {
                switch (kind) {
                    case OUT_OF_RANGE -> out.head(h).add(n);
                    case OVER_BUDGET -> {
                        for (int p = 0; p <= budget; p++) {
                            out.head(h).add(p);
                        }
                    }
                    case DUPLICATE -> {
                        out.head(h).add(n - 1);
                        out.head(h).add(n - 1);
                    }
                    case IN_WINDOW -> {
                        out.head(h).add(n - 1);
                        out.head(h).attendFrom(n - 1);
                    }
                }
            }
        }
    }

    /** The newest {@code budget} positions, newest first, outside units: valid, as the contract sets no order. */
    static final class Unsorted implements RecallPolicy {
        @Override
        public void select(Queries queries, KeyView keys, int budget, Selection out) {
            int n = keys.size();
            for (int h = 0; h < out.heads(); h++) {
                for (int p = n - 1; p >= Math.max(0, n - budget); p--) {
                    out.head(h).add(p);
                }
            }
        }
    }

    /**
     * Every {@code select} blocks until {@link #RELEASE} (at most 60 s): both shards of layer 1 hold a
     * thread of the shard dispatcher, on a 2-core machine all of them.
     */
    static final class BlockingSelect extends Pages {
        static volatile CountDownLatch RELEASE = new CountDownLatch(1);
        static final CountDownLatch ENTERED = new CountDownLatch(1);

        @Override
        public void select(Queries queries, KeyView keys, int budget, Selection out) {
            ENTERED.countDown();
            try {
                RELEASE.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            super.select(queries, keys, budget, out);
        }
    }

    /** Throws an {@link OutOfMemoryError} from select, or overflows the stack for real. */
    static final class FatalSelect extends Pages {
        private final boolean stackOverflow;

        FatalSelect(boolean stackOverflow) {
            this.stackOverflow = stackOverflow;
        }

        @Override
        public void select(Queries queries, KeyView keys, int budget, Selection out) {
            if (stackOverflow) {
                recurse(0);
            }
            throw new OutOfMemoryError("injected by a test policy");
        }

        private static int recurse(int depth) {
            return recurse(depth + 1) + 1;
        }
    }

    enum MaintenanceFault { THROWS, OUT_OF_MEMORY, BLOCKS }

    /** Selects as {@link Pages}; after the prompt, hands out one maintenance task that fails as told. */
    static final class FaultyMaintenance extends Pages {
        static volatile CountDownLatch RELEASE = new CountDownLatch(1);
        private final MaintenanceFault fault;
        private boolean due;

        FaultyMaintenance(MaintenanceFault fault) {
            this.fault = fault;
        }

        @Override
        public void onPrompt(KeyView keys) {
            due = true;
        }

        @Override
        public Optional<MaintenanceTask<?>> pollMaintenance(KeyView snapshot) {
            if (!due) {
                return Optional.empty();
            }
            due = false;
            return Optional.of(new MaintenanceTask<Integer>() {
                @Override
                public String description() {
                    return "a faulty task (" + fault + ")";
                }

                @Override
                public Integer compute() {
                    switch (fault) {
                        case THROWS -> throw new IllegalStateException("maintenance boom");
                        case OUT_OF_MEMORY -> throw new OutOfMemoryError("injected into a maintenance task");
                        case BLOCKS -> {
                            try {
                                RELEASE.await(60, TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }
                    }
                    return 1;
                }

                @Override
                public void apply(Integer result) {
                }
            });
        }
    }

    // ---- a policy that throws or returns garbage ----

    @Test
    void aPolicyThatThrowsFallsBackThenFailsItsSessionWithTheCause() throws Exception {
        Healthy healthy = Healthy.start();
        try (Session fallback = open("throwing", 1, 100_000); Session failing = open("throwing", 1, 5)) {
            assertArrayEquals(fullTokens, fallback.generate(prompt, 10, Sampler.greedy(), TokenListener.none())
                    .join().tokens(), "each failing step attended exactly");
            assertEquals(9L * SPARSE_SHARDS, fallback.stats().policyFailures(), "one per sparse shard step, counted");
            SessionFailedException e = failure(failing.generate(prompt, 10, Sampler.greedy(), TokenListener.none()));
            PolicyFailureException cause = assertInstanceOf(PolicyFailureException.class, e.getCause());
            assertEquals("boom from a test policy", cause.getCause().getMessage());
        }
        healthy.assertUnchanged();
    }

    @ParameterizedTest
    @EnumSource(Garbage.Kind.class)
    void aSelectionTheContractForbidsIsAttendedExactlyAndNamed(Garbage.Kind kind) throws Exception {
        String policy = "garbage-" + kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        Healthy healthy = Healthy.start();
        try (Session fallback = open(policy, 2, 100_000); Session failing = open(policy, 2, 0)) {
            assertArrayEquals(fullTokens, fallback.generate(prompt, 10, Sampler.greedy(), TokenListener.none())
                    .join().tokens(), "never a wrong answer: exact attention instead");
            assertEquals(9L * SPARSE_SHARDS, fallback.stats().policyFailures());
            assertEquals(0, fallback.stats().sparseShardSteps());
            SessionFailedException e = failure(failing.generate(prompt, 10, Sampler.greedy(), TokenListener.none()));
            Throwable violation = assertInstanceOf(PolicyFailureException.class, e.getCause()).getCause();
            String expected = switch (kind) {
                case OUT_OF_RANGE -> "out of bounds";
                case OVER_BUDGET -> "budget";
                case DUPLICATE -> "twice";
                case IN_WINDOW -> "inside its own window";
            };
            assertTrue(violation.getMessage().contains(expected), violation.toString());
        }
        healthy.assertUnchanged();
    }

    @Test
    void aSelectionInAnyOrderIsValid() {
        int[] sorted = alone("pages", 3, prompt, 10);
        try (Session s = open("unsorted", 3, 0)) {
            assertArrayEquals(sorted, s.generate(prompt, 10, Sampler.greedy(), TokenListener.none()).join().tokens());
            assertEquals(0, s.stats().policyFailures());
            assertTrue(s.stats().sparseShardSteps() > 0);
        }
    }

    // ---- a policy that blocks ----

    @Test
    void aPolicyBlockedInSelectFailsItsSessionAfterTheStepTimeoutNamingTheShards() throws Exception {
        BlockingSelect.RELEASE = new CountDownLatch(1);
        Healthy healthy = Healthy.start();
        Session blocked = open("blocking-select", 2, 5);
        try {
            CompletableFuture<GenerationResult> job = blocked.generate(prompt, 10, Sampler.greedy(), TokenListener.none());
            assertTrue(BlockingSelect.ENTERED.await(30, TimeUnit.SECONDS));
            // the watchdog runs off the shard dispatcher: it fires even while the blocked shards hold its threads
            SessionFailedException e = failure(job);
            assertInstanceOf(TimeoutException.class, e.getCause());
            assertTrue(e.getMessage().contains("no reply from shard(s) (1, 0), (1, 1)")
                    && e.getMessage().contains("clusterkv.runtime.step-timeout = " + STEP_TIMEOUT_MS + " ms"), e.getMessage());
            BlockingSelect.RELEASE.countDown(); // the policy returns: the healthy session gets its threads back
            healthy.assertUnchanged();
            assertInstanceOf(SessionFailedException.class, assertThrows(CompletionException.class,
                    () -> blocked.generate(prompt, 1, Sampler.greedy(), TokenListener.none()).join()).getCause());
        } finally {
            BlockingSelect.RELEASE.countDown();
            blocked.close();
        }
    }

    // ---- maintenance that fails ----

    @ParameterizedTest
    @EnumSource(value = MaintenanceFault.class, names = {"THROWS", "OUT_OF_MEMORY"})
    void maintenanceThatFailsIsDroppedAndDecodingGoesOn(MaintenanceFault fault) throws Exception {
        String policy = fault == MaintenanceFault.THROWS ? "maintenance-throws" : "maintenance-oom";
        Healthy healthy = Healthy.start();
        try (Session s = open(policy, 4, 100_000)) {
            assertArrayEquals(pagesTokens, s.generate(prompt, 10, Sampler.greedy(), TokenListener.none()).join().tokens());
            SessionStats st = s.stats();
            assertEquals(SPARSE_SHARDS, st.maintenanceStarted());
            assertEquals(0, st.maintenanceApplied());
            assertEquals(SPARSE_SHARDS, awaitFailures(s, SPARSE_SHARDS), "each failed task counted");
            assertTrue(s.isOpen());
            assertEquals(3, s.generate(new int[] {1}, 3, Sampler.greedy(), TokenListener.none()).join().tokens().length,
                    "still usable");
        }
        healthy.assertUnchanged();
    }

    @Test
    void maintenanceThatBlocksDelaysNeitherDecodingNorCloseAndItsStoreIsFreedWhenItEnds() throws Exception {
        FaultyMaintenance.RELEASE = new CountDownLatch(1);
        try {
            Healthy healthy = Healthy.start();
            Session s = open("maintenance-blocks", 4, 0);
            assertArrayEquals(pagesTokens, s.generate(prompt, 10, Sampler.greedy(), TokenListener.none()).join().tokens());
            assertEquals(SPARSE_SHARDS, s.stats().maintenanceStarted());
            s.closeAsync().get(30, TimeUnit.SECONDS);  // does not wait for the task
            healthy.assertUnchanged();
            RuntimeResources held = runtime.resources();
            assertEquals(0, held.openSessions());
            assertEquals(0, held.shardActors());
            assertTrue(held.kvBytes() > 0, "the blocked task still reads its shard's store: " + held);
        } finally {
            FaultyMaintenance.RELEASE.countDown();
        }
        // nothingLeaked(): the stores are freed once the tasks end
    }

    // ---- a shard actor that dies ----

    @Test
    void aShardActorThatStopsFailsItsSessionAndCompletesItsFuture() throws Exception {
        Healthy healthy = Healthy.start();
        try (Session s = open("pages", 4, 5)) {
            String path = "/system/clusterkv-session-" + s.id() + "/shard-1-1";
            CompletableFuture<GenerationResult> job = s.generate(prompt, 50, Sampler.greedy(), (token, position) -> {
                if (position == prompt.length + 2) {
                    Adapter.toClassic(runtime.actorSystem()).actorSelection(path).tell(PoisonPill.getInstance(),
                            ActorRef.noSender());
                }
            });
            SessionFailedException e = failure(job);
            assertTrue(e.getMessage().contains("shard actor shard-1-1 stopped unexpectedly"), e.getMessage());
            assertInstanceOf(SessionFailedException.class, assertThrows(CompletionException.class,
                    () -> s.generate(prompt, 1, Sampler.greedy(), TokenListener.none()).join()).getCause());
        }
        healthy.assertUnchanged();
    }

    // ---- a VirtualMachineError ----

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"oom-select", "stack-overflow-select"})
    void aVirtualMachineErrorInAShardFailsAndClosesItsSession(String policy) throws Exception {
        Healthy healthy = Healthy.start();
        Session s = open(policy, 4, 100_000);
        SessionFailedException e = failure(s.generate(prompt, 10, Sampler.greedy(), TokenListener.none()));
        Class<? extends VirtualMachineError> expected = policy.startsWith("oom")
                ? OutOfMemoryError.class : StackOverflowError.class;
        assertInstanceOf(expected, e.getCause(), "not a policy failure to fall back from");
        assertTrue(e.getMessage().contains("shard (1, "), e.getMessage());
        assertClosedAfter(s, expected);
        healthy.assertUnchanged();
    }

    @Test
    void aVirtualMachineErrorInTheListenerFailsAndClosesItsSession() throws Exception {
        Healthy healthy = Healthy.start();
        Session s = open("full", 1, 5);
        OutOfMemoryError oom = new OutOfMemoryError("injected by a test listener");
        SessionFailedException e = failure(s.generate(prompt, 10, Sampler.greedy(), (token, position) -> {
            throw oom;
        }));
        assertSame(oom, e.getCause());
        assertClosedAfter(s, OutOfMemoryError.class);
        healthy.assertUnchanged();
    }

    // ---- a listener that throws ----

    @Test
    void aListenerThatThrowsEndsItsGenerationWithThatThrowableAndTheSessionGoesOn() throws Exception {
        Healthy healthy = Healthy.start();
        try (Session s = open("full", 1, 5)) {
            for (Throwable thrown : List.of(new IllegalArgumentException("listener says no"),
                    new Error("a plain error"), new java.io.IOException("checked, thrown sneakily"))) {
                CompletionException e = assertThrows(CompletionException.class, () -> s.generate(prompt, 5,
                        Sampler.greedy(), (token, position) -> RuntimeFaultsTest.<RuntimeException>sneaky(thrown)).join());
                assertSame(thrown, e.getCause());
            }
            assertEquals(4, s.generate(new int[] {1}, 4, Sampler.greedy(), TokenListener.none()).join().tokens().length,
                    "still usable");
        }
        healthy.assertUnchanged();
    }

    // ---- close() during a generation ----

    @Test
    void closeDuringAGenerationCompletesItExceptionallyAndFreesEverything() throws Exception {
        Healthy healthy = Healthy.start();
        Session s = open("pages", 4, 5);
        List<Integer> seen = new ArrayList<>();
        CompletableFuture<GenerationResult> job = s.generate(prompt, 200, Sampler.greedy(), (token, position) -> {
            seen.add(token);
            if (seen.size() == 3) {
                s.closeAsync();
            }
        });
        CompletionException e = assertThrows(CompletionException.class, job::join);
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertTrue(e.getCause().getMessage().endsWith("was closed"), e.getCause().getMessage());
        s.closeAsync().get(30, TimeUnit.SECONDS);
        assertEquals(3, seen.size(), "no token after the close");
        assertFalse(s.isOpen());
        healthy.assertUnchanged();
    }

    // ---- helpers ----

    /** A session with a healthy policy, started now, whose tokens must equal those it gives alone. */
    private record Healthy(Session session, CompletableFuture<GenerationResult> job) {
        static Healthy start() {
            Session s = open("streaming", 2, 5);
            return new Healthy(s, s.generate(healthyPrompt, 200, Sampler.greedy(), TokenListener.none()));
        }

        void assertUnchanged() throws Exception {
            try {
                assertArrayEquals(healthyTokens, job.get(60, TimeUnit.SECONDS).tokens(), "the healthy session's tokens");
                assertEquals(0, session.stats().policyFailures());
            } finally {
                session.close();
            }
        }
    }

    private static Session open(String policy, int budget, int maxFailures) {
        return runtime.openSession(model, SessionOptions.builder().policy(policy).budget(budget)
                .set("clusterkv.runtime.max-policy-failures", maxFailures)
                .set("clusterkv.runtime.exact-coverage", 1).build());
    }

    private static int[] alone(String policy, int budget, int[] tokens, int n) {
        try (Session s = open(policy, budget, 0)) {
            return s.generate(tokens, n, Sampler.greedy(), TokenListener.none()).join().tokens();
        }
    }

    private static TestPolicies.Provider provider(String name, Supplier<RecallPolicy> factory) {
        return new TestPolicies.Provider(name, factory);
    }

    /** @return the {@link SessionFailedException} the job completed with (within 30 s: nothing hangs) */
    private static SessionFailedException failure(CompletableFuture<?> job) throws Exception {
        try {
            job.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            return assertInstanceOf(SessionFailedException.class, e.getCause());
        }
        return fail("the job completed normally");
    }

    /** The session closed itself: refused as closed, naming the error, and gone from the runtime. */
    private static void assertClosedAfter(Session s, Class<? extends VirtualMachineError> error) throws Exception {
        s.closeAsync().get(30, TimeUnit.SECONDS); // already closed: completes once released
        assertFalse(s.isOpen());
        assertFalse(runtime.sessions().contains(s));
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> s.generate(prompt, 1, Sampler.greedy(), TokenListener.none()));
        assertInstanceOf(error, refused.getCause(), refused.getMessage());
    }

    private static int awaitFailures(Session s, int n) throws InterruptedException {
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); System.nanoTime() < deadline; ) {
            if (s.stats().policyFailures() >= n) {
                break;
            }
            Thread.sleep(10);
        }
        return s.stats().policyFailures();
    }

    /**
     * Nothing leaked, once every session is closed: no session open, no session or shard actor alive, no
     * KV or device-tier bytes held ({@link RuntimeResources#idle()}), and no thread still running a
     * policy's or a listener's code of this test. Threads of the runtime's pools that are alive and idle
     * are not leaks (the pools keep them); that every one of them ends with the runtime is checked in
     * {@link #stop()}. Waits up to 30 s for what is freed asynchronously (a store a maintenance task read).
     */
    static void assertNothingLeaked() throws InterruptedException {
        RuntimeResources r = runtime.resources();
        List<String> busy = List.of();
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); System.nanoTime() < deadline; ) {
            r = runtime.resources();
            busy = threadsInTestCode();
            if (r.idle() && busy.isEmpty()) {
                return;
            }
            Thread.sleep(10);
        }
        assertTrue(r.idle(), "resources held after every session closed: " + r);
        assertEquals(List.of(), busy, "threads still in the test's policies or listeners");
    }

    private static List<String> threadsInTestCode() {
        List<String> busy = new ArrayList<>();
        Thread.getAllStackTraces().forEach((thread, stack) -> {
            if (thread == Thread.currentThread()) {
                return;
            }
            for (StackTraceElement frame : stack) {
                if (frame.getClassName().startsWith(RuntimeFaultsTest.class.getName())) {
                    busy.add(thread.getName() + " at " + frame);
                    return;
                }
            }
        });
        return busy;
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> void sneaky(Throwable t) throws E {
        throw (E) t;
    }
}

package io.clusterkv.spi.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.MaintenanceTask;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.Selection;
import io.clusterkv.spi.internal.SelectionBuffer;
import io.clusterkv.spi.driver.ShardPolicyDriver.Maintenance;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

/**
 * The order in which the driver calls a policy in each maintenance mode, checked against a log the
 * policy keeps, and what it does with everything the policy throws.
 */
class ShardPolicyDriverTest {

    private static final KeyView KEYS = KeyView.of(new float[4 * 2], 4, 2);
    private static final Queries QUERIES = Queries.wrap(new float[2], 1, 2);

    /** Logs every call; hands out {@code ready} tasks named t0, t1, ... at the next polls. */
    static class Scripted implements RecallPolicy {
        final List<String> log = new ArrayList<>();
        int ready;
        int handedOut;
        String throwIn = ""; // the next call whose log line starts with this throws, once

        private void call(String what) {
            log.add(what);
            if (!throwIn.isEmpty() && what.startsWith(throwIn)) {
                throwIn = ""; // once
                throw new IllegalStateException("boom in " + what);
            }
        }

        @Override
        public void onPrompt(KeyView keys) {
            call("onPrompt");
        }

        @Override
        public void onAppend(int position, KeyView keys) {
            call("onAppend " + position);
        }

        @Override
        public Optional<MaintenanceTask<?>> pollMaintenance(KeyView snapshot) {
            call("poll");
            if (ready == 0) {
                return Optional.empty();
            }
            ready--;
            String name = "t" + handedOut++;
            return Optional.of(new MaintenanceTask<String>() {
                @Override public String description() { return name; }
                @Override public String compute() { call("compute " + name); return name; }
                @Override public void apply(String result) { call("apply " + result); }
            });
        }

        @Override
        public void select(Queries queries, KeyView keys, int budget, Selection out) {
            call("select");
        }

        @Override
        public void close() {
            call("close");
        }
    }

    /** Records what the driver reports. */
    static final class Recorder implements ShardPolicyDriver.Events {
        final List<String> failures = new ArrayList<>();
        final List<Throwable> causes = new ArrayList<>();
        int started;
        int applied;

        @Override
        public void policyFailed(String where, Throwable cause) {
            failures.add(where);
            causes.add(cause);
        }

        @Override
        public void maintenanceStarted(MaintenanceTask<?> task) {
            started++;
        }

        @Override
        public void maintenanceApplied(MaintenanceTask<?> task) {
            applied++;
        }
    }

    private static void step(ShardPolicyDriver d, int position) {
        d.append(position, KEYS);
        d.maintain(KEYS);
        d.select(QUERIES, KEYS, 2, new SelectionBuffer(1, 2));
    }

    @Test
    void inlineComputesAndAppliesEachTaskBeforeTheNextPoll() {
        Scripted p = new Scripted();
        p.ready = 2;
        Recorder events = new Recorder();
        ShardPolicyDriver d = new ShardPolicyDriver(p, new Maintenance.Inline(), events);
        d.prompt(KEYS);
        assertEquals(List.of("onPrompt", "poll", "compute t0", "apply t0", "poll", "compute t1", "apply t1", "poll"), p.log);
        assertEquals(2, events.started);
        assertEquals(2, events.applied);
    }

    @Test
    void laggedResultsAreAppliedThatManyStepsLaterBeforeTheSelect() {
        Scripted p = new Scripted();
        p.ready = 1;
        ShardPolicyDriver d = new ShardPolicyDriver(p, new Maintenance.Lagged(2), new Recorder());
        d.prompt(KEYS); // step 0
        step(d, 4);     // step 0
        step(d, 5);     // step 1
        p.ready = 1;
        p.log.clear();
        step(d, 6);     // step 2: the prompt's task is due; one more handed out, due at step 4
        assertEquals(List.of("onAppend 6", "apply t0", "poll", "compute t1", "poll", "select"), p.log);
        p.log.clear();
        step(d, 7);
        assertFalse(p.log.contains("apply t1"), p.log.toString());
        step(d, 8);
        assertEquals(List.of("onAppend 7", "poll", "select", "onAppend 8", "apply t1", "poll", "select"), p.log);
    }

    @Test
    void lagZeroAppliesAfterEveryPollOfTheStep() {
        Scripted p = new Scripted();
        ShardPolicyDriver d = new ShardPolicyDriver(p, new Maintenance.Lagged(0), new Recorder());
        d.prompt(KEYS);
        p.ready = 2;
        p.log.clear();
        step(d, 4);
        assertEquals(List.of("onAppend 4", "poll", "compute t0", "poll", "compute t1", "poll", "apply t0", "apply t1",
                "select"), p.log);
    }

    @Test
    void neverComputesButNeverApplies() {
        Scripted p = new Scripted();
        p.ready = 1;
        ShardPolicyDriver d = new ShardPolicyDriver(p, new Maintenance.Lagged(Maintenance.Lagged.NEVER), new Recorder());
        d.prompt(KEYS);
        for (int s = 0; s < 50; s++) {
            step(d, 4 + s);
        }
        d.close();
        assertTrue(p.log.contains("compute t0"));
        assertFalse(p.log.contains("apply t0"), p.log.toString());
        assertEquals("close", p.log.getLast());
    }

    @Test
    void asyncKeepsAtMostMaxOutstandingAndPollsAgainWhenOneCompletes() {
        Scripted p = new Scripted();
        p.ready = 5;
        List<MaintenanceTask<?>> launched = new ArrayList<>();
        Recorder events = new Recorder();
        ShardPolicyDriver d = new ShardPolicyDriver(p, new Maintenance.Async(2, launched::add), events);
        d.prompt(KEYS);
        step(d, 4);
        assertEquals(2, launched.size());
        assertEquals(2, d.outstanding());
        assertFalse(p.log.contains("compute t0"), "the launcher computes, not the driver");
        d.completed(launched.get(0), "t0", null, KEYS);
        assertTrue(p.log.contains("apply t0"));
        assertEquals(3, launched.size(), "a slot freed: polled again");
        assertEquals(2, d.outstanding());
        assertEquals(3, events.started);
        assertEquals(1, events.applied);
    }

    @Test
    void anAsynchronousFailureIsUnwrappedAndReported() {
        Scripted p = new Scripted();
        p.ready = 1;
        List<MaintenanceTask<?>> launched = new ArrayList<>();
        Recorder events = new Recorder();
        ShardPolicyDriver d = new ShardPolicyDriver(p, new Maintenance.Async(1, launched::add), events);
        d.prompt(KEYS);
        IllegalStateException boom = new IllegalStateException("boom");
        d.completed(launched.getFirst(), null, new CompletionException(boom), KEYS);
        assertEquals(List.of("maintenance 't0'"), events.failures);
        assertSame(boom, events.causes.getFirst());
        assertEquals(0, d.outstanding());
        assertThrows(IllegalStateException.class, () -> d.completed(launched.getFirst(), null, null, KEYS),
                "nothing is outstanding");
    }

    @Test
    void everyFailureIsReportedWithWhereItHappenedAndThePolicyStaysInService() {
        String[] methods = {"onPrompt", "onAppend", "poll", "compute", "apply", "select", "close"};
        String[] where = {"onPrompt", "onAppend", "pollMaintenance", "maintenance 't0'", "maintenance apply 't0'",
                "select", "close"};
        for (int i = 0; i < methods.length; i++) {
            Scripted p = new Scripted();
            p.ready = 1;
            p.throwIn = methods[i];
            Recorder events = new Recorder();
            ShardPolicyDriver d = new ShardPolicyDriver(p, new Maintenance.Inline(), events);
            d.prompt(KEYS);
            d.append(4, KEYS);
            d.maintain(KEYS);
            boolean selected = d.select(QUERIES, KEYS, 2, new SelectionBuffer(1, 2));
            d.close();
            d.close();
            assertEquals(List.of(where[i]), events.failures, methods[i]);
            assertEquals(!methods[i].equals("select"), selected, methods[i]);
            assertEquals(methods[i].equals("compute") || methods[i].equals("apply") ? 0 : 1, events.applied, methods[i]);
            assertTrue(p.log.contains("select"), methods[i] + ": still in service");
        }
    }

    @Test
    void aRangeOfAppendsStopsAtTheFirstFailure() {
        Scripted p = new Scripted();
        Recorder events = new Recorder();
        ShardPolicyDriver d = new ShardPolicyDriver(p, new Maintenance.Inline(), events);
        d.prompt(KEYS);
        p.throwIn = "onAppend 6";
        p.log.clear();
        d.append(4, 9, KEYS);
        assertEquals(List.of("onAppend 4", "onAppend 5", "onAppend 6"), p.log);
        assertEquals(List.of("onAppend"), events.failures);
    }

    @Test
    void nothingReachesThePolicyBeforeThePrompt() {
        Scripted p = new Scripted();
        p.ready = 1;
        ShardPolicyDriver d = new ShardPolicyDriver(p, new Maintenance.Inline(), new Recorder());
        d.append(0, 3, KEYS);
        d.maintain(KEYS);
        assertEquals(List.of(), p.log);
        d.prompt(KEYS);
        d.prompt(KEYS);
        assertEquals(1, p.log.stream().filter("onPrompt"::equals).count());
    }

    @Test
    void aPolicyThatHandsOutWithoutEndIsCutAtEachCall() {
        Scripted p = new Scripted();
        p.ready = Integer.MAX_VALUE;
        Recorder events = new Recorder();
        ShardPolicyDriver d = new ShardPolicyDriver(p, new Maintenance.Inline(), events);
        d.prompt(KEYS);
        assertEquals(ShardPolicyDriver.MAX_TASKS_PER_CALL, events.started);
        d.maintain(KEYS);
        assertEquals(2 * ShardPolicyDriver.MAX_TASKS_PER_CALL, events.started);
    }

    @Test
    void rethrowHandsBackThePolicysOwnException() {
        Scripted p = new Scripted();
        p.throwIn = "select";
        ShardPolicyDriver d = new ShardPolicyDriver(p, new Maintenance.Inline(), ShardPolicyDriver.Events.RETHROW);
        d.prompt(KEYS);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> d.select(QUERIES, KEYS, 2, new SelectionBuffer(1, 2)));
        assertEquals("boom in select", e.getMessage());
        AssertionError a = new AssertionError("kit");
        assertSame(a, assertThrows(AssertionError.class, () -> ShardPolicyDriver.Events.RETHROW.policyFailed("x", a)));
    }

    @Test
    void invalidModesSayWhatWasWrong() {
        assertEquals("the maintenance lag must be >= 0 steps, was -1",
                assertThrows(IllegalArgumentException.class, () -> new Maintenance.Lagged(-1)).getMessage());
        assertEquals("max outstanding maintenance must be >= 1, was 0",
                assertThrows(IllegalArgumentException.class, () -> new Maintenance.Async(0, t -> { })).getMessage());
    }

    /** Throws {@code t} from select as is, checked or not (as Kotlin or a sneaky throw does). */
    static final class ThrowsInSelect extends Scripted {
        private final Throwable t;

        ThrowsInSelect(Throwable t) {
            this.t = t;
        }

        @Override
        public void select(Queries queries, KeyView keys, int budget, Selection out) {
            ShardPolicyDriverTest.<RuntimeException>sneaky(t);
        }
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> void sneaky(Throwable t) throws E {
        throw (E) t;
    }

    @Test
    void aCheckedExceptionOrAnErrorFromThePolicyIsAPolicyFailure() {
        for (Throwable t : List.of(new java.io.IOException("checked"), new Error("a plain error"),
                new ExceptionInInitializerError("linkage"))) {
            Recorder events = new Recorder();
            ShardPolicyDriver d = new ShardPolicyDriver(new ThrowsInSelect(t), new Maintenance.Inline(), events);
            d.prompt(KEYS);
            assertFalse(d.select(QUERIES, KEYS, 2, new SelectionBuffer(1, 2)), t.toString());
            assertEquals(List.of("select"), events.failures);
            assertSame(t, events.causes.get(0));
        }
    }

    @Test
    void aVirtualMachineErrorOnTheCallersThreadGoesOnToTheCaller() {
        for (VirtualMachineError t : List.of(new OutOfMemoryError("test"), new StackOverflowError("test"))) {
            Recorder events = new Recorder();
            ShardPolicyDriver d = new ShardPolicyDriver(new ThrowsInSelect(t), new Maintenance.Inline(), events);
            d.prompt(KEYS);
            assertSame(t, assertThrows(VirtualMachineError.class,
                    () -> d.select(QUERIES, KEYS, 2, new SelectionBuffer(1, 2))));
            assertTrue(events.failures.isEmpty(), events.failures.toString());
        }
        // an asynchronous task that failed so touched only its snapshot: reported as any failure
        Scripted p = new Scripted();
        p.ready = 1;
        Recorder events = new Recorder();
        List<MaintenanceTask<?>> launched = new ArrayList<>();
        ShardPolicyDriver d = new ShardPolicyDriver(p, new Maintenance.Async(1, launched::add), events);
        d.prompt(KEYS);
        OutOfMemoryError oom = new OutOfMemoryError("in a task");
        d.completed(launched.get(0), null, new CompletionException(oom), KEYS);
        assertEquals(List.of("maintenance 't0'"), events.failures);
        assertSame(oom, events.causes.get(0));
    }
}

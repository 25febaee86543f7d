package io.clusterkv.runtime;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The counters a session and its shard actors share. Thread-safe; updating allocates nothing in steady
 * state (LongAdder cells are made once, on contention).
 */
final class SessionCounters {

    private static final Logger LOG = LoggerFactory.getLogger(SessionCounters.class);

    final String session;
    final ResourceGauges gauges;          // the runtime's
    final LongAdder exactShardSteps = new LongAdder();
    final LongAdder sparseShardSteps = new LongAdder();
    final LongAdder attendedRows = new LongAdder();
    final LongAdder maintenanceStarted = new LongAdder();
    final LongAdder maintenanceApplied = new LongAdder();
    final AtomicInteger policyFailures = new AtomicInteger();
    final AtomicReference<Throwable> lastFailure = new AtomicReference<>();
    volatile long promptTokens;
    volatile long decodeSteps;
    volatile Throwable fatal;             // the VirtualMachineError that stopped the session, if one did

    SessionCounters(String session) {
        this(session, new ResourceGauges());
    }

    SessionCounters(String session, ResourceGauges gauges) {
        this.session = session;
        this.gauges = gauges;
    }

    /**
     * Counts a policy failure; the first of the session is logged with its stack trace, later ones
     * only counted, but a {@link VirtualMachineError} (a maintenance task's, computed off the shard's
     * thread) is logged each time.
     */
    void policyFailed(String where, int layer, int kvHead, Throwable cause) {
        int n = policyFailures.incrementAndGet();
        lastFailure.set(new PolicyFailureException(session, where, layer, kvHead, cause));
        if (cause instanceof VirtualMachineError) {
            LOG.error("session {}: the policy's {} at layer {}, kv head {} ended with {}; the task is dropped and "
                    + "decoding goes on", session, where, layer, kvHead, cause, cause);
        } else if (n == 1) {
            LOG.warn("session {}: the policy failed in {} at layer {}, kv head {}; that shard attends exactly "
                    + "for the step (further failures are counted, not logged)", session, where, layer, kvHead, cause);
        }
    }
}

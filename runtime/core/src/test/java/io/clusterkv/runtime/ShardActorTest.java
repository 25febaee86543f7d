package io.clusterkv.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.decode.HistoryFill;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.policy.SelectionScope;
import io.clusterkv.spi.RecallPolicy;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One shard actor under {@link ActorTestKit}: decode steps go on while a maintenance task is stuck and
 * its result is applied later; a throwing policy falls back to exact attention and is counted. Outputs
 * are checked against a double-precision attention over the positions that should have been attended.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShardActorTest {

    private static final int HEAD_DIM = 8;
    private static final int GROUP = 2;
    private static final int BUDGET = 4;
    private static final int LAYER = 3;
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** One actor system for the class (one test instance, so the extension shuts down the only kit). */
    @JUnit5TestKit
    public final ActorTestKit testKit = new JUnit5TestKitBuilder().build();

    private ExecutorService maintenance;

    @BeforeEach
    void startExecutor() {
        maintenance = Executors.newSingleThreadExecutor();
    }

    @AfterEach
    void stopExecutor() {
        maintenance.shutdownNow();
    }

    /** Rows the test feeds: queries (GROUP, HEAD_DIM), key and value (HEAD_DIM) per position. */
    private record Rows(float[] q, float[] k, float[] v) {
        static Rows random(int n, long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            float[] q = new float[n * GROUP * HEAD_DIM];
            float[] k = new float[n * HEAD_DIM];
            float[] v = new float[n * HEAD_DIM];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) r.nextGaussian();
                v[i] = (float) r.nextGaussian();
            }
            return new Rows(q, k, v);
        }
    }

    private ActorRef<ShardActor.Command> spawn(RecallPolicy policy, SessionCounters counters) {
        ShardActor.Setup setup = new ShardActor.Setup(LAYER, 0, GROUP, 1, BUDGET, BUDGET, SelectionScope.HEAD,
                new KvShard(HEAD_DIM, KvFormat.F32),
                policy, ShardActor.SelectedAttention.HOST, 1, false, maintenance, counters);
        return testKit.spawn(ShardActor.create(setup));
    }

    @Test
    void aSlowMaintenanceTaskDoesNotDelayStepsAndIsAppliedLater() {
        TestPolicies.SlowMaintenance policy = new TestPolicies.SlowMaintenance();
        SessionCounters counters = new SessionCounters("t1");
        ActorRef<ShardActor.Command> shard = spawn(policy, counters);
        TestProbe<ShardActor.Reply> probe = testKit.createTestProbe();
        int prompt = 8;
        int steps = 20;
        Rows rows = Rows.random(prompt + steps, 1);
        float[] att = new float[prompt * GROUP * HEAD_DIM];
        shard.tell(new ShardActor.Prefill(rows.q(), rows.k(), rows.v(), att, prompt, true, probe.getRef()));
        probe.expectMessage(WAIT, new ShardActor.PrefillDone(LAYER, 0));
        for (int t = 0; t < prompt; t++) {
            assertAttends(rows, t, 0, t + 1, att, t * GROUP * HEAD_DIM, "prefill row " + t);
        }
        assertEquals(1, counters.maintenanceStarted.sum(), "the prompt's task was started");

        float[] q = new float[GROUP * HEAD_DIM];
        float[] k = new float[HEAD_DIM];
        float[] v = new float[HEAD_DIM];
        float[] out = new float[GROUP * HEAD_DIM];
        ShardActor.Step step = new ShardActor.Step(q, k, v, out, probe.getRef());
        ShardActor.Reply first = null;
        for (int s = 0; s < steps; s++) {
            int p = prompt + s;
            System.arraycopy(rows.q(), p * GROUP * HEAD_DIM, q, 0, q.length);
            System.arraycopy(rows.k(), p * HEAD_DIM, k, 0, HEAD_DIM);
            System.arraycopy(rows.v(), p * HEAD_DIM, v, 0, HEAD_DIM);
            shard.tell(step);
            ShardActor.Reply done = probe.expectMessage(WAIT, new ShardActor.StepDone(LAYER, 0)); // not held up
            if (first == null) {
                first = done;
            }
            assertSame(first, done, "one reply instance per shard: a step allocates no reply");
            assertAttends(rows, p, p + 1 - BUDGET, p + 1, out, 0, "step " + s);
            if (s == steps / 2) {
                assertEquals(0, policy.computed.get(), "the task is still stuck");
                assertEquals(0, policy.applied.get());
                policy.release.countDown();
            }
        }
        probe.awaitAssert(WAIT, () -> {
            assertEquals(1, policy.applied.get(), "applied once it came back");
            return null;
        });
        assertEquals(1, counters.maintenanceApplied.sum());
        assertEquals(steps, counters.sparseShardSteps.sum());
        assertEquals(0, counters.policyFailures.get());
        testKit.stop(shard);
    }

    @Test
    void aThrowingPolicyFallsBackToExactAttentionAndIsCounted() {
        SessionCounters counters = new SessionCounters("t2");
        ActorRef<ShardActor.Command> shard = spawn(new TestPolicies.ThrowingSelect(), counters);
        TestProbe<ShardActor.Reply> probe = testKit.createTestProbe();
        int prompt = 10;
        Rows rows = Rows.random(prompt + 3, 2);
        shard.tell(new ShardActor.Prefill(rows.q(), rows.k(), rows.v(), new float[prompt * GROUP * HEAD_DIM], prompt,
                true, probe.getRef()));
        probe.expectMessage(WAIT, new ShardActor.PrefillDone(LAYER, 0));
        float[] q = new float[GROUP * HEAD_DIM];
        float[] k = new float[HEAD_DIM];
        float[] v = new float[HEAD_DIM];
        float[] out = new float[GROUP * HEAD_DIM];
        for (int s = 0; s < 3; s++) {
            int p = prompt + s;
            System.arraycopy(rows.q(), p * GROUP * HEAD_DIM, q, 0, q.length);
            System.arraycopy(rows.k(), p * HEAD_DIM, k, 0, HEAD_DIM);
            System.arraycopy(rows.v(), p * HEAD_DIM, v, 0, HEAD_DIM);
            shard.tell(new ShardActor.Step(q, k, v, out, probe.getRef()));
            probe.expectMessage(WAIT, new ShardActor.StepDone(LAYER, 0));
            assertAttends(rows, p, 0, p + 1, out, 0, "fallback step " + s); // everything: exact attention
            assertEquals(s + 1, counters.policyFailures.get());
        }
        assertTrue(counters.lastFailure.get() instanceof PolicyFailureException);
        assertTrue(counters.lastFailure.get().getMessage().contains("select"), counters.lastFailure.get().getMessage());
        assertEquals(3, counters.exactShardSteps.sum());
        testKit.stop(shard);
    }

    @Test
    void aFillThatAppendsTheWrongCountIsAShardFailureNotAPolicyFailure() {
        SessionCounters counters = new SessionCounters("t3");
        ActorRef<ShardActor.Command> shard = spawn(new TestPolicies.SlowMaintenance(), counters);
        TestProbe<ShardActor.Reply> probe = testKit.createTestProbe();
        float[] row = new float[HEAD_DIM];
        HistoryFill oneShort = new HistoryFill() {
            @Override
            public int positions() {
                return 3;
            }

            @Override
            public void fill(int layer, int kvHead, KvShard s) {
                s.append(row, 0, row, 0);
                s.append(row, 0, row, 0);
            }
        };
        shard.tell(new ShardActor.Fill(oneShort, probe.getRef()));
        ShardActor.ShardFailed failed = probe.expectMessageClass(ShardActor.ShardFailed.class, WAIT);
        assertEquals(LAYER, failed.layer());
        assertTrue(failed.cause().getMessage().contains("appended 2 positions to shard (3, 0), not 3"),
                failed.cause().getMessage());
        assertEquals(0, counters.policyFailures.get());
        testKit.stop(shard);
    }

    /** Checks both heads of position {@code p}'s output against attention over {@code [from, to)} in double. */
    private static void assertAttends(Rows rows, int p, int from, int to, float[] out, int outOff, String what) {
        double scale = 1.0 / Math.sqrt(HEAD_DIM);
        for (int h = 0; h < GROUP; h++) {
            int qo = (p * GROUP + h) * HEAD_DIM;
            double max = Double.NEGATIVE_INFINITY;
            double[] s = new double[to - from];
            for (int t = from; t < to; t++) {
                double d = 0;
                for (int c = 0; c < HEAD_DIM; c++) {
                    d += (double) rows.q()[qo + c] * rows.k()[t * HEAD_DIM + c];
                }
                s[t - from] = d * scale;
                max = Math.max(max, s[t - from]);
            }
            double sum = 0;
            double[] acc = new double[HEAD_DIM];
            for (int t = from; t < to; t++) {
                double w = Math.exp(s[t - from] - max);
                sum += w;
                for (int c = 0; c < HEAD_DIM; c++) {
                    acc[c] += w * rows.v()[t * HEAD_DIM + c];
                }
            }
            for (int c = 0; c < HEAD_DIM; c++) {
                assertEquals(acc[c] / sum, out[outOff + h * HEAD_DIM + c], 1e-5, what + ", head " + h + ", channel " + c);
            }
        }
    }
}

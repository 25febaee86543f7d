package io.clusterkv.runtime;

import io.clusterkv.runtime.attention.AttentionScratch;
import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.policy.PolicyRegistry;
import io.clusterkv.runtime.residency.ResidencyCache;
import io.clusterkv.runtime.residency.ResidencyRule;
import io.clusterkv.runtime.residency.ShardResidency;
import io.clusterkv.spi.Queries;
import io.clusterkv.spi.RecallPolicy;
import io.clusterkv.spi.Seeds;
import io.clusterkv.spi.internal.SelectionBuffer;
import io.clusterkv.spi.ShardGeometry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;

/**
 * Wires a session out of a runtime's parts: a KV shard per (layer, kvHead), a policy instance and a
 * device-tier view per sparse shard (seeded with {@link Seeds#forShard}), the session actor over them.
 * Either everything is made or, on any failure, everything made so far is closed and the failure
 * thrown, so a bad policy value leaves nothing behind.
 */
final class SessionWiring {

    private final ActorSystem<?> system;
    private final ForkJoinPool pool;
    private final Executor maintenance;
    private final ResidencyCache residency;
    private final PolicyRegistry policies;
    private final ResourceGauges gauges;

    SessionWiring(ActorSystem<?> system, ForkJoinPool pool, Executor maintenance, ResidencyCache residency,
                  PolicyRegistry policies, ResourceGauges gauges) {
        this.gauges = gauges;
        this.system = system;
        this.pool = pool;
        this.maintenance = maintenance;
        this.residency = residency;
        this.policies = policies;
    }

    /**
     * @param id            the session's id
     * @param number        its number, unique in the runtime (the device tier's session key)
     * @param model         the model it decodes
     * @param s             its validated settings
     * @param policySection its policy's overrides, checked against the declared keys
     * @param onClosed      called when the session closes
     * @return the session, its actors started
     * @throws io.clusterkv.spi.PolicyConfigException             if a policy value is bad
     * @throws io.clusterkv.runtime.policy.PolicyCreationException if the policy failed to start
     */
    Session open(String id, long number, LlamaModel model, RuntimeSettings s, Map<String, String> policySection,
                 Runnable onClosed) {
        SessionCounters counters = new SessionCounters(id, gauges);
        ModelConfig mc = model.config();
        int dense = Math.min(s.denseLayers(), mc.layers());
        List<ShardActor.Setup> setups = new ArrayList<>(mc.layers() * mc.kvHeads());
        try {
            for (int l = 0; l < mc.layers(); l++) {
                for (int kvh = 0; kvh < mc.kvHeads(); kvh++) {
                    RecallPolicy policy = null;
                    ShardActor.SelectedAttention attend = ShardActor.SelectedAttention.HOST;
                    KvShard shard = new KvShard(mc.headDim(), s.kvFormat(), KvShard.DEFAULT_CHUNK_POSITIONS, gauges.kvBytes);
                    try {
                        if (l >= dense && mc.windowOf(l) == 0) { // sliding-window layers attend their window exactly
                            ShardGeometry g = new ShardGeometry(l, kvh, mc.groupSize(), mc.headDim());
                            policy = policies.create(s.policy(), s.selectionScope().policyGeometry(g), s.budget(),
                                    policySection, Seeds.forShard(s.seed(), l, kvh));
                            if (residency.config().rule() != ResidencyRule.NONE) {
                                attend = new ResidentAttention(residency.openShard(number, g, s.kvFormat(),
                                        (float) mc.variant().attentionSoftcap()));
                            }
                        }
                    } catch (RuntimeException | Error e) {
                        shard.close();
                        closeQuietly(policy);
                        throw e;
                    }
                    setups.add(new ShardActor.Setup(l, kvh, mc.groupSize(), mc.kvHeads(), s.budget(),
                            s.exactUpTo(mc.groupSize()), s.selectionScope(), shard, policy, attend,
                            s.maxOutstandingMaintenance(), s.synchronousMaintenance(), maintenance, counters,
                            (float) mc.attentionScale(), mc.windowOf(l), (float) mc.variant().attentionSoftcap()));
                }
            }
        } catch (RuntimeException | Error e) {
            residency.closeSession(number);
            for (ShardActor.Setup setup : setups) {
                setup.shard().close();
                closeQuietly(setup.policy());
            }
            throw e;
        }
        CompletableFuture<Void> stopped = new CompletableFuture<>();
        ActorRef<SessionActor.Command> actor = system.systemActorOf(
                SessionActor.create(model, pool, setups, counters, s.maxPolicyFailures(), s.stepTimeout(), stopped),
                "clusterkv-session-" + id, DispatcherSelector.fromConfig("clusterkv.shard-dispatcher"));
        return new Session(id, number, model, s, actor, counters, stopped, residency, onClosed);
    }

    /** Closes a policy made before a failure; what its close throws would hide that failure. */
    private static void closeQuietly(RecallPolicy policy) {
        if (policy == null) {
            return;
        }
        try {
            policy.close();
        } catch (RuntimeException ignored) {
            // already failing
        }
    }

    /** The device tier in front of a shard's attention; a selection the group shares is attended by every head. */
    private record ResidentAttention(ShardResidency residency) implements ShardActor.SelectedAttention {
        @Override
        public void attend(KvShard.View kv, Queries queries, SelectionBuffer selection, float scale, float[] out,
                           AttentionScratch scratch) {
            residency.attend(kv, queries, selection, scale, out);
        }

        @Override
        public void close() {
            residency.close();
        }
    }
}

package io.clusterkv.runtime;

import io.clusterkv.runtime.residency.ResidencyStats;
import java.util.List;

/**
 * A snapshot of a session's counters ({@link Session#stats()}).
 *
 * @param session            the session's id
 * @param policy             its recall policy
 * @param budget             its budget
 * @param promptTokens       tokens prefilled
 * @param decodeSteps        tokens decoded one at a time
 * @param exactShardSteps    shard decode steps attended exactly (dense layers, contexts within the budget,
 *                           fallbacks after a policy failure)
 * @param sparseShardSteps   shard decode steps attended over a policy's selection
 * @param attendedRows       KV rows (a key and its value) attention read over all decode steps: per exact
 *                           shard step the context (the group's heads read each row once), per sparse shard
 *                           step each query head's attended positions
 * @param policyFailures     times the policy threw (each fell back to exact attention for one shard and step)
 * @param maintenanceStarted maintenance tasks started
 * @param maintenanceApplied maintenance results applied
 * @param residency          the session's device-tier counters: hits, misses, bytes moved host to device,
 *                           evictions, resident bytes
 * @param residencyByLayer   the same per layer (dense layers have none)
 */
public record SessionStats(String session, String policy, int budget, long promptTokens, long decodeSteps,
                           long exactShardSteps, long sparseShardSteps, long attendedRows, int policyFailures, long maintenanceStarted,
                           long maintenanceApplied, ResidencyStats residency, List<ResidencyStats> residencyByLayer) {

    /** Copies the list. */
    public SessionStats {
        residencyByLayer = List.copyOf(residencyByLayer);
    }
}

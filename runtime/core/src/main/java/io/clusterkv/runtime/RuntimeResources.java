package io.clusterkv.runtime;

/**
 * What a runtime holds at one moment, for leak checks and monitoring ({@link ClusterKvRuntime#resources()}).
 * Once every session is closed and its actors have stopped, every field is 0 ({@link #idle()}); the
 * runtime's threads and the device tier's slabs (allocated up to the high-water mark, freed when the
 * runtime closes) are not counted here.
 *
 * @param openSessions  sessions opened and not yet closed ({@link ClusterKvRuntime#sessions()})
 * @param sessionActors session actors started and not yet stopped
 * @param shardActors   shard actors started and not yet stopped
 * @param kvBytes       off-heap bytes of the sessions' KV stores; a store a maintenance task still
 *                      reads is freed when the task ends
 * @param residentBytes bytes of the device tier's blocks in use ({@link io.clusterkv.runtime.residency.ResidencyCache#residentBytes()})
 */
public record RuntimeResources(int openSessions, int sessionActors, int shardActors, long kvBytes, long residentBytes) {

    /** @return whether nothing is held: no session, no actor, no KV or device-tier bytes */
    public boolean idle() {
        return openSessions == 0 && sessionActors == 0 && shardActors == 0 && kvBytes == 0 && residentBytes == 0;
    }
}

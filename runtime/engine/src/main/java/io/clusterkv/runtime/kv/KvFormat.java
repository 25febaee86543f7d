package io.clusterkv.runtime.kv;

/** How a {@link KvShard} stores each key and value channel on the host. */
public enum KvFormat {
    /** IEEE 754 binary32, 4 bytes a channel. */
    F32(4),
    /** IEEE 754 binary16, 2 bytes a channel; half the memory traffic, about 3 decimal digits. */
    F16(2);

    private final int bytes;

    KvFormat(int bytes) {
        this.bytes = bytes;
    }

    /** @return bytes per stored channel */
    public int bytes() {
        return bytes;
    }
}

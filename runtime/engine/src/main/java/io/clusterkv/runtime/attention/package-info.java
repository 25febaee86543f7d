/**
 * Attention kernels on the CPU over the host KV store: exact attention of a GQA group (serial or
 * split across a caller's pool) and attention of one query head over a gathered selection, both
 * single-pass online softmax with the Vector API. Entry point: {@link io.clusterkv.runtime.attention.Attention}.
 */
package io.clusterkv.runtime.attention;

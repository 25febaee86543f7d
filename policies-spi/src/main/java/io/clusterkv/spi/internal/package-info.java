/**
 * The runtime's side of the SPI: the buffers behind {@link io.clusterkv.spi.Selection} that the runtime
 * creates, resets and reads after each {@link io.clusterkv.spi.RecallPolicy#select select}. Exported
 * only to the runtime's modules; plugins see the write-only {@link io.clusterkv.spi.Selection} and
 * {@link io.clusterkv.spi.HeadSelection}. Tests on the class path (the conformance kit among them) use
 * it freely.
 */
package io.clusterkv.spi.internal;

/**
 * Policy discovery ({@link io.clusterkv.runtime.policy.PolicyRegistry}) and the built-in baselines,
 * registered through the SPI exactly like plugins: {@code full}, {@code streaming}, {@code oracle}.
 */
package io.clusterkv.runtime.policy;

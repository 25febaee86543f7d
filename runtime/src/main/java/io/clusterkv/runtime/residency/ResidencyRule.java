package io.clusterkv.runtime.residency;

/** PLACEHOLDER until the residency branch merges. */
public enum ResidencyRule { CAFFEINE, LRU, LAST_R }

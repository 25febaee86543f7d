/**
 * Selection-quality metrics: how closely a recall policy's selection for one query head approximates
 * exact attention ({@link io.clusterkv.runtime.metrics.SelectionMetrics}: top-10 and top-B recall,
 * attention mass recalled, relative error of the attention output), and their aggregation over steps
 * and heads ({@link io.clusterkv.runtime.metrics.QualityAccumulator}).
 */
package io.clusterkv.runtime.metrics;

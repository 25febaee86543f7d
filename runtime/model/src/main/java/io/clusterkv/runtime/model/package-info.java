/**
 * Llama-family models: reading them, and running them.
 *
 * <p>Reading order follows the data flow: {@link io.clusterkv.runtime.model.Models#load(String)} opens a
 * GGUF file ({@code llama}, {@code qwen2}), a llama2.c checkpoint or a
 * {@link io.clusterkv.runtime.model.SyntheticModels synthetic model} into a
 * {@link io.clusterkv.runtime.model.LlamaModel} (weights as
 * {@link io.clusterkv.runtime.tensor.WeightMatrix} views, shape in a
 * {@link io.clusterkv.runtime.model.ModelConfig}); a {@link io.clusterkv.runtime.decode.ReferenceDecoder} holds
 * one session's KV shards and scratch and runs the forward pass ({@code prefill}, {@code next}); a
 * {@link io.clusterkv.runtime.model.Sampler} picks tokens from the logits.
 * {@link io.clusterkv.runtime.model.Rope} is the rotary embedding in both pair layouts.
 */
package io.clusterkv.runtime.model;

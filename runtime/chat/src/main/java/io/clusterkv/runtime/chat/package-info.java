/**
 * Chat on the ClusterKV runtime: {@link io.clusterkv.runtime.chat.ChatTemplate} renders a model's
 * {@code tokenizer.chat_template} (Jinja, by Jinjava), and {@link io.clusterkv.runtime.chat.ChatEngine} runs
 * requests ({@link io.clusterkv.runtime.chat.ChatRequest}) in sessions: bounded concurrency and queue, stop
 * tokens and stop strings, streamed text ({@link io.clusterkv.runtime.chat.ChatListener}), cancel
 * ({@link io.clusterkv.runtime.chat.ChatCall}), and conversations continued from their cached KV.
 * Errors are typed: {@link io.clusterkv.runtime.chat.ChatTemplateException},
 * {@link io.clusterkv.runtime.chat.ContextOverflowException},
 * {@link io.clusterkv.runtime.chat.EngineOverloadedException},
 * {@link io.clusterkv.runtime.chat.InvalidChatRequestException}.
 */
package io.clusterkv.runtime.chat;

/**
 * Long-context tasks with checked answers, so that recall quality can be shown as task accuracy: the
 * passkey retrieval of Quest and Landmark Attention, and RULER's needle-in-a-haystack and variable
 * tracking tasks ({@link io.clusterkv.runtime.tasks.Task}). An instance
 * ({@link io.clusterkv.runtime.tasks.TaskInstance}) is a context of exactly {@code n} token ids, a
 * continuation (the question, then the answer, teacher-forced) and the continuation indices whose
 * tokens are checked. Words become token ids through a {@link io.clusterkv.runtime.tasks.TaskLexicon}:
 * the word-level vocabulary of {@code synthetic:retrieval}, or a model's own tokenizer. The
 * constructions and the scoring protocol are in {@code docs/TASKS.md}.
 */
package io.clusterkv.runtime.tasks;

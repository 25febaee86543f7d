package io.clusterkv.examples.cli;

import io.clusterkv.runtime.model.GgufModelWriter;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.RetrievalVocabulary;
import io.clusterkv.runtime.tasks.Task;
import io.clusterkv.runtime.tasks.TaskException;
import io.clusterkv.runtime.tasks.TaskInstance;
import io.clusterkv.runtime.tasks.TaskLexicon;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ckv task}: one instance of a long-context task written to files, to read it or to give the same
 * prompt to another engine (llama.cpp on a GGUF written by {@code ckv export}).
 */
@Command(name = "task", mixinStandardHelpOptions = true,
        description = {"Write one instance of a long-context task (the arena's --task) to a folder:",
                "prompt.ids (BOS, the context and the question, token ids), answer.ids (the tokens a correct",
                "answer starts with), instance.txt (the needles and the answer, readable), and, for a model without",
                "a tokenizer, prompt.txt: the prompt without BOS as the text of the made-up vocabulary ckv export",
                "writes (token id i >= 3 is one character), which llama.cpp tokenizes back to the same ids.",
                "Multi-answer tasks (niah-multivalue, niah-multiquery) put teacher-forced prefixes between their",
                "answers; the prompt holds the question and the first answer's prefix."},
        footer = {"", "Example:",
                "  ckv task --model synthetic:retrieval --task passkey --context 8192 --depth 0.5 --out /tmp/passkey",
                "  ckv generate --model synthetic:retrieval @/tmp/passkey/args.txt --max-tokens 8 --print-ids",
                "  llama-cli -m retrieval.gguf -f /tmp/passkey/prompt.txt -n 8 --temp 0 -no-cnv -c 8448"})
final class TaskCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "The model the instance is written for (its vocabulary).")
    String model;

    @Option(names = "--task", required = true, paramLabel = "NAME", description = "One of: passkey, niah-single, niah-multikey, niah-multivalue, niah-multiquery, variable-tracking.")
    String task;

    @Option(names = "--context", paramLabel = "N", description = "Context positions, the prompt less its question (default: ${DEFAULT-VALUE}).")
    int context = 8192;

    @Option(names = "--depth", paramLabel = "D", description = "Where the needle goes, in [0, 1] (default: ${DEFAULT-VALUE}).")
    double depth = 0.5;

    @Option(names = "--seed", paramLabel = "S", description = "Seed of the instance (default: ${DEFAULT-VALUE}).")
    long seed = 1;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The folder to write (created if needed).")
    Path out;

    @Override
    public Integer call() throws IOException {
        CommandLine cl = spec.commandLine();
        Task t;
        try {
            t = Task.byId(task);
        } catch (TaskException e) {
            throw new CommandLine.ParameterException(cl, "--task: " + e.getMessage());
        }
        if (!(depth >= 0 && depth <= 1)) {
            throw new CommandLine.ParameterException(cl, "--depth must be in [0, 1], was " + depth);
        }
        try (LlamaModel m = Models.load(model)) {
            TaskInstance instance;
            try {
                instance = t.generate(TaskLexicon.forModel(m), context, depth, seed);
            } catch (TaskException e) {
                throw new CommandLine.ParameterException(cl, e.getMessage());
            }
            int first = instance.answers()[0];
            int[] prompt = IntStream.concat(Arrays.stream(instance.context()),
                    Arrays.stream(instance.continuation(), 0, first)).toArray();
            int end = first;
            while (end + 1 < instance.continuation().length
                    && Arrays.binarySearch(instance.answers(), end + 1) >= 0) {
                end++;
            }
            int[] answer = Arrays.copyOfRange(instance.continuation(), first, end + 1);
            Files.createDirectories(out);
            String ids = ids(prompt);
            Files.writeString(out.resolve("prompt.ids"), ids + "\n");
            Files.writeString(out.resolve("args.txt"), "--prompt-ids\n\"" + ids + "\"\n");
            Files.writeString(out.resolve("answer.ids"), ids(answer) + "\n");
            boolean hasTokenizer = m.gguf().filter(f -> f.metadata().containsKey("tokenizer.ggml.model")).isPresent();
            boolean retrieval = m.config().vocab() == RetrievalVocabulary.SIZE && !hasTokenizer;
            StringBuilder text = new StringBuilder();
            text.append(t.id()).append(", context ").append(context).append(", depth ").append(depth)
                    .append(", seed ").append(seed).append('\n');
            for (TaskInstance.Needle n : instance.needles()) {
                text.append(n.role().name().toLowerCase()).append(" needle at ").append(n.start()).append(": ")
                        .append(render(instance.context(), n.start(), n.end(), retrieval)).append('\n');
            }
            text.append("question: ").append(render(instance.continuation(), 0, first, retrieval)).append('\n');
            text.append("answer: ").append(render(answer, 0, answer.length, retrieval)).append('\n');
            Files.writeString(out.resolve("instance.txt"), text);
            if (!hasTokenizer) {
                Files.writeString(out.resolve("prompt.txt"),
                        GgufModelWriter.madeUpText(m.config().vocab(), Arrays.copyOfRange(prompt, 1, prompt.length)));
            }
            cl.getOut().println(text + "written: " + out.toAbsolutePath() + " (" + prompt.length + " prompt tokens)");
            cl.getOut().flush();
        }
        return 0;
    }

    private static String render(int[] tokens, int from, int to, boolean retrieval) {
        return Arrays.stream(tokens, from, to)
                .mapToObj(id -> retrieval ? RetrievalVocabulary.name(id) : Integer.toString(id))
                .collect(Collectors.joining(" "));
    }

    private static String ids(int[] tokens) {
        return Arrays.stream(tokens).mapToObj(Integer::toString).collect(Collectors.joining(" "));
    }
}

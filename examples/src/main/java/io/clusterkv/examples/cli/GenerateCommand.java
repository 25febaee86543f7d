package io.clusterkv.examples.cli;

import io.clusterkv.runtime.model.Generation;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.tokenizer.StreamingDecoder;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import io.clusterkv.runtime.tokenizer.Tokenizers;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ckv generate}: decode a model from a prompt, with exact attention. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate tokens from a model (GGUF, llama2.c .bin, or synthetic:<shape>) with exact attention.",
                "Without a prompt, generation starts from the BOS token (1 for models without a tokenizer)."},
        footer = {"", "Examples:", "  ckv generate --model ../shared/models/stories260K.bin --max-tokens 100 --print-ids",
                "  ckv generate --model model.gguf --prompt \"Once upon a time\" --temperature 0.8 --seed 7",
                "  ckv generate --model synthetic:tiny --prompt-ids \"1 5 9\" --print-ids"})
final class GenerateCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH", description = "A GGUF file, a llama2.c checkpoint, or synthetic:<shape>[:<type>] (type f32, f16, bf16, q8_0 or q4_0).")
    String model;

    @CommandLine.ArgGroup(exclusive = true)
    PromptOptions prompt;

    static final class PromptOptions {
        @Option(names = "--prompt", paramLabel = "TEXT", description = "Prompt text (needs a model with a tokenizer).")
        String text;

        @Option(names = "--prompt-ids", paramLabel = "IDS", description = "Prompt token ids, space-separated, e.g. \"1 5 9\".")
        String ids;
    }

    @Option(names = "--max-tokens", paramLabel = "N", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens = 256;

    @Option(names = "--temperature", paramLabel = "T", description = "0 is greedy (default: ${DEFAULT-VALUE}).")
    double temperature = 0;

    @Option(names = "--top-k", paramLabel = "K", description = "Keep the K most likely tokens; 0 keeps all (default: ${DEFAULT-VALUE}).")
    int topK = 0;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling mass; 1 keeps all (default: ${DEFAULT-VALUE}).")
    double topP = 1.0;

    @Option(names = "--seed", paramLabel = "S", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Option(names = "--print-ids", description = "Print the generated token ids, space-separated, on one line.")
    boolean printIds;

    @Override
    public Integer call() throws Exception {
        if (maxTokens < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--max-tokens must be >= 0, got " + maxTokens);
        }
        Sampler sampler;
        try {
            sampler = temperature == 0 ? Sampler.greedy() : Sampler.of(temperature, topK, topP, seed);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        ForkJoinPool pool = new ForkJoinPool(Runtime.getRuntime().availableProcessors());
        try (LlamaModel m = Models.load(model); Generation g = Generation.create(m, pool)) {
            Optional<Tokenizer> tokenizer = m.gguf().filter(f -> f.metadata().containsKey("tokenizer.ggml.model"))
                    .map(Tokenizers::fromGguf);
            int[] promptIds = promptIds(tokenizer, m.config().vocab());
            StreamingDecoder decoder = tokenizer.filter(t -> !printIds).map(t -> t.decoder(false, true)).orElse(null);
            StringJoiner ids = new StringJoiner(" ");
            g.generate(promptIds, maxTokens, sampler, token -> {
                if (decoder != null) {
                    out.print(decoder.next(token));
                    out.flush();
                } else {
                    ids.add(Integer.toString(token));
                }
            });
            if (decoder != null) {
                out.println(decoder.flush());
            } else {
                out.println(ids);
            }
            out.flush();
        } finally {
            pool.shutdown();
        }
        return 0;
    }

    private int[] promptIds(Optional<Tokenizer> tokenizer, int vocab) {
        if (prompt != null && prompt.text != null) {
            Tokenizer t = tokenizer.orElseThrow(() -> new CommandLine.ParameterException(spec.commandLine(),
                    "--prompt: model " + model + " has no tokenizer; give --prompt-ids instead"));
            return t.encode(prompt.text);
        }
        if (prompt != null && prompt.ids != null) {
            int[] ids;
            try {
                ids = Arrays.stream(prompt.ids.trim().split("[\\s,]+")).mapToInt(Integer::parseInt).toArray();
            } catch (NumberFormatException e) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--prompt-ids: expected space-separated token ids, got '" + prompt.ids + "'");
            }
            for (int id : ids) {
                if (id < 0 || id >= vocab) {
                    throw new CommandLine.ParameterException(spec.commandLine(),
                            "--prompt-ids: token " + id + " is outside the vocabulary [0, " + vocab + ")");
                }
            }
            return ids;
        }
        return new int[] {tokenizer.flatMap(t -> t.bosId().isPresent() ? Optional.of(t.bosId().getAsInt()) : Optional.empty())
                .orElse(1)};
    }
}

package io.clusterkv.examples.cli;

import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.ConfigValueException;
import io.clusterkv.runtime.GenerationResult;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.SessionOptions;
import io.clusterkv.runtime.SessionStats;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.policy.UnknownPolicyException;
import io.clusterkv.runtime.tokenizer.StreamingDecoder;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import io.clusterkv.runtime.tokenizer.Tokenizers;
import io.clusterkv.spi.PolicyConfigException;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ckv generate}: decode a model from a prompt through the actor runtime, with a recall policy. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate tokens from a model (GGUF, llama2.c .bin, or synthetic:<shape>) through the runtime:",
                "one shard actor per (layer, KV head), each step attending at most --budget positions per query head",
                "chosen by --policy (exact attention in the first dense-layers layers, during the prompt, and while the",
                "context fits the budget). Without a prompt, generation starts from the BOS token (1 without a tokenizer).",
                "Defaults come from the configuration (clusterkv.runtime.*; -Dclusterkv.runtime.budget=512 works too)."},
        footer = {"", "Examples:", "  ckv generate --model ../shared/models/stories260K.bin --max-tokens 100 --print-ids",
                "  ckv generate --model model.gguf --prompt \"Once upon a time\" --policy quest --budget 256",
                "  ckv generate --model model.gguf --prompt \"Hi\" --temperature 0.8 --seed 7 --stats",
                "  ckv generate --model synthetic:tiny --prompt-ids \"1 5 9\" --print-ids --policy full",
                "  ckv generate --model m.gguf --set clusterkv.policy.clusterkv.tokens-per-cluster=40 --set clusterkv.runtime.dense-layers=1"})
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

    @Option(names = "--policy", paramLabel = "NAME", description = "Recall policy (see `ckv policies`; default: clusterkv.runtime.policy, clusterkv).")
    String policy;

    @Option(names = "--budget", paramLabel = "N", description = "Positions each query head attends per step (default: clusterkv.runtime.budget, 1024).")
    Integer budget;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Any clusterkv.runtime.* or clusterkv.policy.* value for this session; repeatable.")
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(names = "--stats", description = "Print the session's statistics and decode speed on standard error at the end.")
    boolean stats;

    @Override
    public Integer call() throws Exception {
        if (maxTokens < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--max-tokens must be >= 0, got " + maxTokens);
        }
        Sampler sampler;
        try {
            Sampler checked = Sampler.of(temperature, topK, topP, seed); // every value checked, even when greedy
            sampler = temperature == 0 ? Sampler.greedy() : checked;
        } catch (IllegalArgumentException e) { // name the options, not the parameters
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage().replace("topP", "--top-p")
                    .replace("topK", "--top-k").replace("temperature", "--temperature"));
        }
        if (budget != null && budget < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--budget must be >= 1, got " + budget);
        }
        SessionOptions.Builder options = SessionOptions.builder();
        if (policy != null) {
            options.policy(policy);
        }
        if (budget != null) {
            options.budget(budget);
        }
        try {
            settings.forEach(options::set);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--set: " + e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        try (ClusterKvRuntime runtime = ClusterKvRuntime.create()) {
            LlamaModel m = runtime.loadModel(model);
            Optional<Tokenizer> tokenizer = m.gguf().filter(f -> f.metadata().containsKey("tokenizer.ggml.model"))
                    .map(Tokenizers::fromGguf);
            int[] promptIds = promptIds(tokenizer, m.config().vocab());
            StreamingDecoder decoder = tokenizer.filter(t -> !printIds).map(t -> t.decoder(false, true)).orElse(null);
            StringJoiner ids = new StringJoiner(" ");
            Session opened;
            try {
                opened = runtime.openSession(m, options.build());
            } catch (ConfigValueException | PolicyConfigException | UnknownPolicyException e) { // usage errors
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            try (Session session = opened) {
                GenerationResult r = Cli.join(session.generate(promptIds, maxTokens, sampler, (token, position) -> {
                    if (decoder != null) {
                        out.print(decoder.next(token));
                        out.flush();
                    } else {
                        ids.add(Integer.toString(token));
                    }
                }));
                if (decoder != null) {
                    out.println(decoder.flush());
                } else {
                    out.println(ids);
                }
                out.flush();
                if (stats) {
                    SessionStats st = session.stats();
                    spec.commandLine().getErr().printf(Locale.ROOT,
                            "policy %s, budget %d: %d prompt tokens in %.2f s, %d tokens at %.2f tok/s (%s); "
                                    + "shard steps %d sparse, %d exact; policy failures %d; maintenance %d started, %d applied%n",
                            st.policy(), st.budget(), r.promptTokens(), r.prefillNanos() / 1e9, r.tokens().length,
                            r.decodeTokensPerSecond(), r.stop().name().toLowerCase(Locale.ROOT), st.sparseShardSteps(),
                            st.exactShardSteps(), st.policyFailures(), st.maintenanceStarted(), st.maintenanceApplied());
                }
            }
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

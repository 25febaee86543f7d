package io.clusterkv.examples.cli;

import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import io.clusterkv.runtime.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ckv tokenize}: token ids of a text, from a GGUF file's vocabulary. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the token ids of a text (without BOS), space-separated. Works on vocabulary-only GGUF files.",
        footer = {"", "Example:", "  ckv tokenize --model ../shared/tokenizers/ggml-vocab-llama-spm.gguf --text \"Hello world\""})
final class TokenizeCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH", description = "A GGUF file with a tokenizer.")
    Path model;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "The text.")
    String text;

    @Override
    public Integer call() throws Exception {
        try (GgufFile f = GgufFile.open(model)) {
            Tokenizer t = Tokenizers.fromGguf(f);
            int[] ids = t.encode(text, false, false);
            spec.commandLine().getOut().println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}

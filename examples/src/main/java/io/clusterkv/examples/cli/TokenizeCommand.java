package io.clusterkv.examples.cli;

import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.tokenizer.Tokenizer;
import io.clusterkv.runtime.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ckv tokenize}: token ids of a text, from a GGUF file's vocabulary. The text comes from {@code --text},
 * a file or standard input ({@code --file -}); a file or standard input that is not valid UTF-8 is refused with
 * the offset of the first bad byte (a tokenizer would otherwise see U+FFFD where the bytes were). Text given with
 * {@code --text} has been decoded by the JVM already: a U+FFFD in it gets a warning, since it usually stands for
 * bytes that were not valid UTF-8.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Print the token ids of a text (without BOS), space-separated. Works on vocabulary-only GGUF files.",
                "The text is --text, or --file PATH (UTF-8; '-' reads standard input). A file that is not valid UTF-8 is refused."},
        footer = {"", "Examples:", "  ckv tokenize --model ../shared/tokenizers/ggml-vocab-llama-spm.gguf --text \"Hello world\"",
                "  ckv tokenize --model ../shared/tokenizers/ggml-vocab-llama-spm.gguf --file README.md",
                "  cat notes.txt | ckv tokenize --model ../shared/tokenizers/ggml-vocab-llama-spm.gguf --file -"})
final class TokenizeCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH", description = "A GGUF file with a tokenizer.")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", paramLabel = "TEXT", description = "The text.")
        String text;

        @Option(names = "--file", paramLabel = "PATH", description = "A UTF-8 text file; '-' for standard input.")
        String file;
    }

    @Override
    public Integer call() throws Exception {
        String text;
        if (input.text != null) {
            text = input.text;
            int replacement = text.indexOf('\uFFFD');
            if (replacement >= 0) {
                spec.commandLine().getErr().println("ckv: warning: --text holds U+FFFD (the replacement character) at char "
                        + replacement + ": the argument was probably not valid UTF-8; tokenizing it as given "
                        + "(use --file to have invalid bytes refused)");
                spec.commandLine().getErr().flush();
            }
        } else if (input.file.equals("-")) {
            text = Utf8Text.decode(System.in.readAllBytes(), "standard input");
        } else {
            Path path = Path.of(input.file);
            if (Files.isDirectory(path)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--file " + path + ": is a directory");
            }
            text = Utf8Text.decode(Files.readAllBytes(path), path.toString());
        }
        try (GgufFile f = GgufFile.open(model)) {
            Tokenizer t = Tokenizers.fromGguf(f);
            int[] ids = t.encode(text, false, false);
            spec.commandLine().getOut().println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}

package io.clusterkv.examples.cli;

import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.model.gguf.GgufTensorInfo;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ckv inspect}: what a model file holds. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show a model's architecture, shapes, tensor types and metadata.",
        footer = {"", "Examples:", "  ckv inspect --model ../shared/models/stories260K.bin",
                "  ckv inspect --model ../shared/tokenizers/ggml-vocab-gpt-2.gguf"})
final class InspectCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH", description = "A GGUF file, a llama2.c checkpoint, or synthetic:<shape>[:<type>] (type f32, f16, bf16, q8_0 or q4_0).")
    String model;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Path path = Path.of(model);
        if (!model.startsWith("synthetic:") && Files.isRegularFile(path) && isGguf(path)) {
            try (GgufFile f = GgufFile.open(path)) {
                out.printf("file: %s%nformat: GGUF v%d, alignment %d, data at byte %d%n", path, f.version(), f.alignment(),
                        f.dataOffset());
                out.println("metadata:");
                f.metadata().forEach((k, v) -> out.printf("  %s = %s%n", k, v));
                Map<String, Integer> types = new TreeMap<>();
                long bytes = 0;
                for (GgufTensorInfo t : f.tensors().values()) {
                    types.merge(t.type().name(), 1, Integer::sum);
                    bytes += t.data().byteSize();
                }
                out.printf("tensors: %d (%s), %.1f MiB%n", f.tensors().size(), types, bytes / 1048576.0);
                for (GgufTensorInfo t : f.tensors().values()) {
                    out.printf("  %-40s %-5s %s%n", t.name(), t.type(), Arrays.toString(t.dims()));
                }
                if (f.metadata().containsKey("general.architecture") && !f.tensors().isEmpty()) {
                    try (LlamaModel m = LlamaModel.fromGguf(GgufFile.open(path))) {
                        printConfig(out, m.config());
                    }
                }
            }
        } else {
            try (LlamaModel m = Models.load(model)) {
                out.printf("model: %s%n", m.source());
                printConfig(out, m.config());
            }
        }
        out.flush();
        return 0;
    }

    private static void printConfig(PrintWriter out, ModelConfig c) {
        out.println("config: " + c);
    }

    private static boolean isGguf(Path path) throws java.io.IOException {
        try (var in = Files.newInputStream(path)) {
            byte[] magic = in.readNBytes(4);
            return Arrays.equals(magic, new byte[] {'G', 'G', 'U', 'F'});
        }
    }
}

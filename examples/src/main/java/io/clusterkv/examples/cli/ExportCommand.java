package io.clusterkv.examples.cli;

import io.clusterkv.runtime.model.GgufModelWriter;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.gguf.GgufWriter;
import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.Quantizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ckv export}: any model {@code ckv} runs, as a GGUF file llama.cpp runs too ({@link GgufModelWriter}). */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a model (GGUF, llama2.c .bin, or synthetic:<shape>[:<type>]) as a GGUF v3 file that",
                "llama.cpp loads and runs, with llama.cpp's tensor names and metadata keys, so both engines run the",
                "same file. Matrices keep their types unless --type converts them. A model without a vocabulary",
                "gets a made-up SentencePiece-style one (<unk> <s> </s>, byte tokens where there is room, then one",
                "character per token from U+4E00), so llama.cpp can tokenize any token id written as text. The file",
                "is written beside --out and moved there when complete."},
        footer = {"", "Examples:", "  ckv export --model synthetic:llama-1b:q8_0 --out llama-1b-q8_0.gguf",
                "  ckv export --model ../shared/models/stories260K.bin --out stories260K.gguf",
                "  ckv export --model synthetic:tiny --type q8_0 --out tiny-q8_0.gguf"})
final class ExportCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "A GGUF file, a llama2.c checkpoint, or synthetic:<shape>[:<type>].")
    String model;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The GGUF file to write (replaced if present).")
    Path out;

    @Option(names = "--type", paramLabel = "TYPE", description = "Convert every matrix: f32, f16, bf16, q8_0 or q4_0 (default: each keeps its type).")
    String type;

    @Override
    public Integer call() throws IOException {
        CommandLine cl = spec.commandLine();
        GgmlType target = type == null ? null : weightType(cl, type);
        Path dir = out.toAbsolutePath().getParent();
        if (Files.isDirectory(out)) {
            throw new CommandLine.ParameterException(cl, "--out " + out + ": is a folder; give a file name");
        }
        if (dir == null || !Files.isDirectory(dir)) {
            throw new NoSuchFileException(out.toString(), null, "cannot write: no such folder " + dir);
        }
        long t0 = System.nanoTime();
        try (LlamaModel m = Models.load(model)) {
            GgufModelWriter writer = GgufModelWriter.of(m);
            if (target != null) {
                writer.type(target);
            }
            List<GgufModelWriter.Tensor> tensors = writer.tensors();
            GgufWriter file = new GgufWriter();
            writer.metadata().forEach(file::put);
            tensors.forEach(t -> file.addTensor(t.name(), t.type(), t.dims(), t.data()));
            Path part = dir.resolve(out.getFileName() + ".part");
            try {
                file.write(part);
                Files.move(part, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(part);
            }
            PrintWriter o = cl.getOut();
            long bytes = tensors.stream().mapToLong(t -> t.data().byteSize()).sum();
            o.printf(Locale.ROOT, "%s: %s, %d layers, vocab %d, %d tensors (%s), %.1f MB of tensors, written in %.1f s%n",
                    out, m.config().architecture(), m.config().layers(), m.config().vocab(), tensors.size(),
                    types(tensors), bytes / 1e6, (System.nanoTime() - t0) / 1e9);
            o.flush();
        }
        return 0;
    }

    private static String types(List<GgufModelWriter.Tensor> tensors) {
        java.util.Map<GgmlType, Integer> n = new java.util.EnumMap<>(GgmlType.class);
        tensors.forEach(t -> n.merge(t.type(), 1, Integer::sum));
        List<String> parts = new ArrayList<>();
        n.forEach((t, c) -> parts.add(c + " " + t));
        return String.join(", ", parts);
    }

    private static GgmlType weightType(CommandLine cl, String value) {
        List<String> names = new ArrayList<>();
        for (GgmlType t : GgmlType.values()) {
            if (Quantizer.canQuantize(t)) {
                if (t.name().equalsIgnoreCase(value)) {
                    return t;
                }
                names.add(t.name().toLowerCase(Locale.ROOT));
            }
        }
        throw new CommandLine.ParameterException(cl, "--type: expected one of " + String.join(", ", names)
                + ", got '" + value + "'");
    }
}

package io.clusterkv.runtime.model;

import io.clusterkv.runtime.model.gguf.GgufFile;
import io.clusterkv.runtime.tensor.GgmlType;
import io.clusterkv.runtime.tensor.Quantizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Opens a model by name: a GGUF file (recognised by its magic), a llama2.c checkpoint (any other
 * file), or a synthetic model ({@code synthetic:<shape>}, see {@link SyntheticModels}).
 *
 * <p>Synthetic names: {@code synthetic:<shape>} has F32 weights; {@code synthetic:<shape>:<type>} picks
 * the weight type, one of {@code f32, f16, bf16, q8_0, q4_0} (case-insensitive), e.g.
 * {@code synthetic:llama-1b:q8_0} or {@code synthetic:tiny:q4_0}. The seed is {@value #SYNTHETIC_SEED}.
 */
public final class Models {

    /** The seed of synthetic models opened by name. */
    public static final long SYNTHETIC_SEED = 42;

    private Models() {
    }

    /**
     * @param pathOrSyntheticName a file path, or {@code synthetic:<shape>} (F32 weights) or
     *                            {@code synthetic:<shape>:<type>} (seed {@value #SYNTHETIC_SEED})
     * @return the model; the caller closes it
     * @throws ModelFormatException     if the file is not a supported model
     * @throws IllegalArgumentException if a synthetic name or weight type is unknown, listing the known ones
     * @throws IOException              if the file cannot be read
     */
    public static LlamaModel load(String pathOrSyntheticName) throws IOException {
        if (pathOrSyntheticName.startsWith(SyntheticModels.PREFIX)) {
            String rest = pathOrSyntheticName.substring(SyntheticModels.PREFIX.length());
            int colon = rest.indexOf(':');
            if (colon < 0) {
                return SyntheticModels.create(pathOrSyntheticName, GgmlType.F32, SYNTHETIC_SEED);
            }
            String name = SyntheticModels.PREFIX + rest.substring(0, colon);
            return SyntheticModels.create(name, syntheticType(pathOrSyntheticName, rest.substring(colon + 1)),
                    SYNTHETIC_SEED);
        }
        return load(Path.of(pathOrSyntheticName));
    }

    private static GgmlType syntheticType(String name, String type) {
        for (GgmlType t : GgmlType.values()) {
            if (t.name().equalsIgnoreCase(type) && Quantizer.canQuantize(t)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown weight type '" + type + "' in '" + name
                + "'; known: f32, f16, bf16, q8_0, q4_0");
    }

    /**
     * @param path a GGUF file or a llama2.c checkpoint
     * @return the model; the caller closes it
     * @throws ModelFormatException if the file is not a supported model
     * @throws IOException          if the file cannot be read
     */
    public static LlamaModel load(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            throw new ModelFormatException(path, "file", -1, "is a directory; a model is a GGUF file or a llama2.c checkpoint");
        }
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such model file");
        }
        if (!Files.isRegularFile(path)) {
            throw new ModelFormatException(path, "file", -1, "is not a regular file (a device, pipe or socket); a model"
                    + " is a GGUF file or a llama2.c checkpoint");
        }
        int magic = magic(path);
        if (magic == GgufFile.MAGIC) {
            GgufFile file = GgufFile.open(path);
            try {
                return LlamaModel.fromGguf(file);
            } catch (RuntimeException | Error e) {
                file.close();
                throw e;
            }
        }
        String notGguf = Files.size(path) < 4 ? "shorter than GGUF's 4-byte magic"
                : String.format("its first 4 bytes are 0x%08x, not GGUF's magic 'GGUF'", Integer.reverseBytes(magic));
        if (path.getFileName() != null && path.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".gguf")) {
            throw new ModelFormatException(path, "magic", 0, "not a GGUF file: " + notGguf);
        }
        try {
            return Llama2cCheckpoint.load(path);
        } catch (ModelFormatException e) {
            throw new ModelFormatException(path, e.field(), e.offset(), "neither a GGUF file (" + notGguf
                    + ") nor a llama2.c checkpoint: " + e.problem());
        }
    }

    /** @return the file's first 4 bytes as a little-endian int, or 0 if it is shorter */
    private static int magic(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            byte[] b = in.readNBytes(4);
            return b.length == 4 ? ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt() : 0;
        }
    }
}

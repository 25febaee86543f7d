package io.clusterkv.runtime.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import jdk.incubator.vector.FloatVector;

/**
 * What a benchmark figure depends on besides the code: the processor, its vector extensions, the JDK.
 *
 * @param cpu      the processor's model name ({@code /proc/cpuinfo}), or {@code os.arch} where unknown
 * @param flags    its vector flags that matter to the kernels: {@code avx}, {@code avx2}, {@code fma},
 *                 {@code f16c}, every {@code avx512*}, anything with {@code vnni}, {@code amx*}
 * @param cores    available processors
 * @param jdk      the JDK's version and VM name
 * @param vectorBits the Vector API's preferred float vector, bits
 */
public record MachineInfo(String cpu, List<String> flags, int cores, String jdk, int vectorBits) {

    /** Copies the flags. */
    public MachineInfo {
        flags = List.copyOf(flags);
    }

    /** @return this machine */
    public static MachineInfo current() {
        String cpu = System.getProperty("os.arch");
        List<String> flags = List.of();
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            cpu = field(lines, "model name", cpu);
            flags = Arrays.stream(field(lines, "flags", "").split("\\s+"))
                    .filter(MachineInfo::relevant).sorted().distinct().toList();
        } catch (IOException | RuntimeException e) {
            // not Linux: the architecture alone
        }
        return new MachineInfo(cpu, flags, Runtime.getRuntime().availableProcessors(),
                Runtime.version() + " (" + System.getProperty("java.vm.name") + ")",
                FloatVector.SPECIES_PREFERRED.vectorBitSize());
    }

    private static String field(List<String> lines, String name, String fallback) {
        for (String l : lines) {
            int colon = l.indexOf(':');
            if (colon > 0 && l.substring(0, colon).trim().equals(name)) {
                return l.substring(colon + 1).trim();
            }
        }
        return fallback;
    }

    private static boolean relevant(String flag) {
        String f = flag.toLowerCase(Locale.ROOT);
        return f.equals("avx") || f.equals("avx2") || f.equals("fma") || f.equals("f16c") || f.startsWith("avx512")
                || f.contains("vnni") || f.startsWith("amx");
    }

    /** @return two lines: the processor and its flags, the JDK and its vector width */
    public String describe() {
        return String.format(Locale.ROOT, "cpu: %s, %d cores; flags: %s%njdk: %s; Vector API: %d-bit floats%n", cpu,
                cores, flags.isEmpty() ? "-" : String.join(" ", flags), jdk, vectorBits);
    }
}

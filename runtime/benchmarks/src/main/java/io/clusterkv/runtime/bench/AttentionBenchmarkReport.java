package io.clusterkv.runtime.bench;

import io.clusterkv.runtime.kv.KvFormat;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the attention benchmarks ({@link ExactAttentionBenchmark}, {@link StreamBaselineBenchmark},
 * {@link SelectionAttentionBenchmark}) through JMH's API, each in a forked JVM with the Vector API
 * module, and prints Markdown tables: medians with min and max over the measurement iterations, K+V
 * bandwidth and its ratio to the stream baseline measured in the same run, the selection's cost
 * against exact attention, and the load average (other processes skew everything).
 * The full run takes about 4 minutes on 2 cores; results and analysis are in
 * {@code docs/BENCHMARKS.md}.
 *
 * <p>Command (from the repository root, JDK 25):
 *
 * <pre>{@code
 * ./ckv bench attention gc               # everything, with bytes allocated per operation
 * ./ckv bench attention quick            # a smoke run
 * }</pre>
 *
 * <p>Arguments: {@code quick} (2 warmup and 2 measurement iterations of 500 ms, a smoke run: too short
 * for the JIT to finish, so its times are not figures), {@code gc} (adds JMH's GC profiler and prints
 * bytes allocated per operation), anything else is a regular expression selecting benchmarks (default:
 * all three classes). The benchmarks one by one, with JMH's own options: {@code ./ckv bench jmh}.
 */
public final class AttentionBenchmarkReport {

    private AttentionBenchmarkReport() {
    }

    /**
     * @param args see the class comment
     * @throws RunnerException if JMH fails
     */
    public static void main(String[] args) throws RunnerException {
        boolean quick = false;
        boolean gc = false;
        List<String> includes = new ArrayList<>();
        for (String arg : String.join(" ", args).trim().split("\\s+")) {
            switch (arg) {
                case "" -> { }
                case "quick" -> quick = true;
                case "gc" -> gc = true;
                default -> includes.add(arg);
            }
        }
        if (includes.isEmpty()) {
            includes.add(ExactAttentionBenchmark.class.getSimpleName());
            includes.add(StreamBaselineBenchmark.class.getSimpleName());
            includes.add(SelectionAttentionBenchmark.class.getSimpleName());
        }
        ChainedOptionsBuilder options = new OptionsBuilder().shouldFailOnError(true);
        for (String include : includes) {
            options.include(include);
        }
        if (quick) {
            options.warmupIterations(2).warmupTime(TimeValue.milliseconds(500))
                    .measurementIterations(2).measurementTime(TimeValue.milliseconds(500));
        }
        if (gc) {
            options.addProfiler(GCProfiler.class);
        }
        String loadBefore = loadAverage();
        Collection<RunResult> results = new Runner(options.build()).run();
        String loadAfter = loadAverage();
        Map<String, RunResult> byKey = new HashMap<>();
        for (RunResult r : results) {
            byKey.put(key(r.getParams()), r);
        }
        printEnvironment(loadBefore, loadAfter);
        printExact(byKey, gc);
        printSelection(byKey, gc);
    }

    private static String key(BenchmarkParams p) {
        String method = p.getBenchmark().substring(p.getBenchmark().lastIndexOf('.') + 1);
        StringBuilder sb = new StringBuilder(method);
        for (String name : new TreeSet<>(p.getParamsKeys())) {
            sb.append(' ').append(name).append('=').append(p.getParam(name));
        }
        return sb.toString();
    }

    /** @return the 1, 5 and 15-minute load averages where Linux tells them, else "n/a" */
    private static String loadAverage() {
        try {
            String[] f = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (java.io.IOException | RuntimeException e) {
            return "n/a";
        }
    }

    private static void printEnvironment(String loadBefore, String loadAfter) {
        System.out.printf(Locale.ROOT, "%nJVM %s (%s), %d cores, Vector lanes (float): %d, "
                        + "load average (1, 5, 15 min) before: %s, after: %s%n",
                System.getProperty("java.vm.version"), System.getProperty("java.vm.name"),
                Runtime.getRuntime().availableProcessors(),
                jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length(), loadBefore, loadAfter);
    }

    /** @return "median [min–max]" in µs */
    private static String time(RunResult r) {
        var s = r.getPrimaryResult().getStatistics();
        return String.format(Locale.ROOT, "%.1f [%.1f–%.1f]", s.getPercentile(50), s.getMin(), s.getMax());
    }

    private static double median(RunResult r) {
        return r.getPrimaryResult().getStatistics().getPercentile(50);
    }

    /** @return GB/s for {@code bytes} read in the median time (µs) */
    private static double gbps(long bytes, RunResult r) {
        return bytes / (median(r) * 1e3);
    }

    private static String alloc(RunResult r) {
        for (String key : r.getSecondaryResults().keySet()) {
            if (key.endsWith("gc.alloc.rate.norm")) {
                return String.format(Locale.ROOT, "%.1f", r.getSecondaryResults().get(key).getScore());
            }
        }
        return "n/a";
    }

    private static void printExact(Map<String, RunResult> byKey, boolean gc) {
        System.out.printf(Locale.ROOT, "%n### Exact attention, %d query heads (one GQA group), K+V read once%n%n",
                ExactAttentionBenchmark.HEADS);
        System.out.println("| positions | head dim | format | K+V MiB | threads | attention µs, median [min–max] "
                + "| attention GB/s | stream µs, median [min–max] | stream GB/s | attention / stream |"
                + (gc ? " B/op |" : ""));
        System.out.println("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|" + (gc ? "---:|" : ""));
        for (String positions : new String[] {"4096", "32768"}) {
            for (String dim : new String[] {"64", "128"}) {
                for (KvFormat format : KvFormat.values()) {
                    String params = " format=" + format + " headDim=" + dim + " positions=" + positions;
                    long bytes = ExactAttentionBenchmark.kvBytes(Integer.parseInt(positions), Integer.parseInt(dim),
                            format);
                    for (String mode : new String[] {"Single", "AllCores"}) {
                        RunResult attention = byKey.get("exact" + mode + params);
                        RunResult stream = byKey.get("stream" + mode + " mebibytes=" + bytes / 1048576);
                        if (attention == null || stream == null) {
                            continue;
                        }
                        double a = gbps(bytes, attention);
                        double s = gbps(bytes, stream);
                        System.out.printf(Locale.ROOT, "| %s | %s | %s | %.1f | %s | %s | %.1f | %s | %.1f | %.0f%% |%s%n",
                                positions, dim, format, bytes / 1048576.0,
                                mode.equals("Single") ? "1" : String.valueOf(ExactAttentionBenchmark.THREADS),
                                time(attention), a, time(stream), s, 100 * a / s,
                                gc ? " " + alloc(attention) + " |" : "");
                    }
                }
            }
        }
    }

    private static void printSelection(Map<String, RunResult> byKey, boolean gc) {
        System.out.printf(Locale.ROOT, "%n### One query head: %d selected positions vs all %d, one thread%n%n",
                SelectionAttentionBenchmark.SELECTED, SelectionAttentionBenchmark.POSITIONS);
        System.out.println("| head dim | format | selected µs, median [min–max] | ns per selected position "
                + "| exact µs, median [min–max] | selected / exact |" + (gc ? " B/op |" : ""));
        System.out.println("|---:|---|---:|---:|---:|---:|" + (gc ? "---:|" : ""));
        for (String dim : new String[] {"64", "128"}) {
            for (KvFormat format : KvFormat.values()) {
                String params = " format=" + format + " headDim=" + dim;
                RunResult selected = byKey.get("selectedOneHead" + params);
                RunResult exact = byKey.get("exactOneHead" + params);
                if (selected == null || exact == null) {
                    continue;
                }
                System.out.printf(Locale.ROOT, "| %s | %s | %s | %.1f | %s | %.3f |%s%n", dim, format, time(selected),
                        median(selected) * 1e3 / SelectionAttentionBenchmark.SELECTED, time(exact),
                        median(selected) / median(exact), gc ? " " + alloc(selected) + " |" : "");
            }
        }
    }
}

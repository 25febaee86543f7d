package io.clusterkv.runtime.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.GenerationResult;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.SessionOptions;
import io.clusterkv.runtime.SessionStats;
import io.clusterkv.runtime.TokenListener;
import io.clusterkv.runtime.kv.KvFormat;
import io.clusterkv.runtime.model.ForwardPass;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.residency.ResidencyRule;
import io.clusterkv.runtime.tensor.WeightMatrix;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Consumer;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * The llama-bench of this runtime: decode and prefill tokens per second through the embedding API
 * ({@link ClusterKvRuntime}, {@link Session}), so what it measures is what an application gets, set
 * against the bound that the bytes read per token and the memory bandwidth measured in the same run put
 * on it. {@code ckv bench decode} and {@code ckv bench prefill} are its command line.
 *
 * <p>Design notes.
 * <ul>
 * <li><b>One runtime per run</b>, configured like any application's ({@code ConfigFactory.load()}) with
 * the run's overrides on top: KV format, residency rule, compute threads, {@code --set} values. What
 * a row says about its KV format and residency rule is read back from the runtime's settings, never
 * assumed.</li>
 * <li><b>Decode</b>: first, each policy decodes untimed for {@value #WARM_UP_MILLIS} ms (the JIT
 * compiles the decode path before the first row, not during it). Then per context length and policy:
 * one session; a history of {@code context} positions placed without running the model
 * ({@link WorkloadHistory}: the synthetic workload's keys and values, the same rows in every shard), or
 * with {@link Spec#prefillHistory()} a real prefill of
 * {@code context} pseudo-random tokens; the policy's maintenance (ClusterKV's clustering of the history)
 * waited for; {@value #WARM_UP_STEPS} untimed greedy steps; then {@code repetitions} timed runs of
 * {@code steps} greedy decode steps, one after another in the same session (each run starts with a
 * one-token prompt, whose prefill is not timed). A run that ends at one of the model's stop tokens goes
 * on from another prompt token until it has its steps.</li>
 * <li><b>Prefill</b>, per prompt length and policy: a warm-up prefill, then {@code repetitions} prefills
 * of the same pseudo-random prompt, each in a fresh session; the time is the session's own prefill
 * time ({@link GenerationResult#prefillNanos()}), maintenance is waited for between runs, untimed.</li>
 * <li><b>{@code full}</b> ignores the budget (it attends every position); its sessions get a budget
 * above any context, so that each shard attends exactly (each row read once for the group of query
 * heads, the exact-attention reference). With a budget below the context, {@code full} would go through
 * the selection path and attend every position once per query head.</li>
 * <li><b>Bytes per token</b> (decode): the weights (every layer matrix and the classifier); the KV rows
 * attention read ({@link SessionStats#attendedRows()}: a key and a value each); the policy's metadata,
 * estimated from its default geometry (Quest's page bounds, ClusterKV's centroids and member lists;
 * see {@link #metadataBytesPerToken}); and twice the bytes copied into the device tier (a miss reads the
 * host rows and writes the copy). Prefill: the weights once per {@value ForwardPass#PREFILL_CHUNK}-token
 * chunk, and the history exact causal attention reads, {@code (n + 1) / 2} rows a token per shard.</li>
 * <li><b>The bound</b>: the bandwidth divided by the bytes per token. The bandwidth is measured for each
 * row right before its timed runs (on a shared machine it changes from minute to minute): a Vector API
 * read of {@link Spec#baselineBytes()} over the compute threads, the median of 7 after 2 warm-up reads.
 * Prefill is bound by arithmetic; its fraction of the memory bound says how far from it.</li>
 * </ul>
 *
 * <pre>
 * ./ckv bench decode --model synthetic:llama-1b:q8_0 --context 0,8192,16384 --json decode.json
 * ./ckv bench prefill --model synthetic:llama-1b:q8_0 --tokens 512
 * </pre>
 */
public final class DecodeBench {

    /** Untimed greedy decode steps before a row's timed runs. */
    public static final int WARM_UP_STEPS = 4;

    /** How long each policy decodes before the first row (at least 8 steps, at most 256). */
    public static final int WARM_UP_MILLIS = 5000;

    /** The exact-attention policy, the reference of {@link Row#vsFull()}. */
    public static final String FULL = "full";

    /** The multiplier of the pseudo-random prompt tokens (Knuth's multiplicative hash). */
    private static final long TOKEN_STRIDE = 2654435761L;

    private static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private DecodeBench() {
    }

    /** What a run measures. */
    public enum Mode {
        /** decode steps after a history of each context length */
        DECODE,
        /** the prefill of a prompt of each length */
        PREFILL;

        /** @return the name rows carry, {@code decode} or {@code prefill} */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * A run.
     *
     * @param model          a GGUF file, a llama2.c checkpoint or {@code synthetic:<shape>[:<type>]}
     * @param mode           decode or prefill
     * @param contexts       decode: history positions before the timed steps ({@code >= 0}); prefill: prompt
     *                       lengths ({@code >= 1})
     * @param policies       recall policies, one row each per context
     * @param budget         positions per query head and step, {@code >= 1}
     * @param kvFormat       the KV storage; empty: the runtime's configured default
     * @param residency      the device tier's rule; empty: the runtime's configured default
     * @param threads        compute threads; empty: the runtime's configured default (all cores)
     * @param steps          timed decode steps per repetition, {@code >= 1} (decode only)
     * @param repetitions    timed runs per row, {@code >= 1}
     * @param prefillHistory decode: reach each context through a real prefill instead of placing it
     * @param settings       any other {@code clusterkv.*} configuration values
     * @param baselineBytes  bytes of the bandwidth read, a positive multiple of 1 MiB
     */
    public record Spec(String model, Mode mode, List<Integer> contexts, List<String> policies, int budget,
                       Optional<KvFormat> kvFormat, Optional<ResidencyRule> residency, OptionalInt threads, int steps,
                       int repetitions, boolean prefillHistory, Map<String, String> settings, long baselineBytes) {

        /** The default bandwidth read: 1 GiB. */
        public static final long DEFAULT_BASELINE_BYTES = 1L << 30;

        /** @throws IllegalArgumentException if a value is out of range, naming it */
        public Spec {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(kvFormat, "kvFormat");
            Objects.requireNonNull(residency, "residency");
            Objects.requireNonNull(threads, "threads");
            contexts = List.copyOf(contexts);
            policies = List.copyOf(policies);
            settings = Map.copyOf(settings);
            int least = mode == Mode.DECODE ? 0 : 1;
            String what = mode == Mode.DECODE ? "context length" : "prompt length";
            if (contexts.isEmpty()) {
                throw new IllegalArgumentException("at least one " + what + " is needed");
            }
            for (int c : contexts) {
                if (c < least) {
                    throw new IllegalArgumentException("every " + what + " must be >= " + least + ", got " + c);
                }
            }
            if (policies.isEmpty()) {
                throw new IllegalArgumentException("at least one policy is needed");
            }
            if (new HashSet<>(policies).size() != policies.size()) {
                throw new IllegalArgumentException("a policy is named twice: " + policies);
            }
            if (budget < 1) {
                throw new IllegalArgumentException("budget must be >= 1, got " + budget);
            }
            if (threads.isPresent() && threads.getAsInt() < 1) {
                throw new IllegalArgumentException("threads must be >= 1, got " + threads.getAsInt());
            }
            if (steps < 1) {
                throw new IllegalArgumentException("steps must be >= 1, got " + steps);
            }
            if (repetitions < 1) {
                throw new IllegalArgumentException("repetitions must be >= 1, got " + repetitions);
            }
            if (baselineBytes < 1 || baselineBytes % (1 << 20) != 0) {
                throw new IllegalArgumentException("the bandwidth read must be a positive number of MiB, got "
                        + baselineBytes + " bytes");
            }
        }
    }

    /**
     * One measured row: one policy at one context (decode) or prompt length (prefill).
     *
     * @param benchmark                 {@code decode} or {@code prefill}
     * @param model                     the model as named
     * @param policy                    the recall policy
     * @param context                   decode: history positions before the timed steps; prefill: the prompt's length
     * @param budget                    positions per query head and step ({@code full}'s sessions run with an
     *                                  unbounded one: see the class notes)
     * @param kvFormat                  the KV storage the session used, {@code f16} or {@code f32}
     * @param residency                 the device tier's rule the runtime used
     * @param threads                   compute threads
     * @param steps                     timed decode steps per repetition (prefill: the prompt's length)
     * @param repetitions               timed runs
     * @param prefilled                 decode: the history was prefilled rather than placed
     * @param tokensPerSecond           the median over the runs
     * @param tokensPerSecondMin        the slowest run
     * @param tokensPerSecondMax        the fastest run
     * @param tokensPerSecondRuns       every run, in order
     * @param kvBytesPerToken           KV bytes attention read per token
     * @param weightBytesPerToken       weight bytes read per token
     * @param metadataBytesPerToken     the policy's metadata read per token (an estimate; 0 for prefill)
     * @param movedBytesPerToken        bytes copied into the device tier per token (0 for prefill)
     * @param bandwidthBytesPerSecond   the memory bandwidth measured right before the row's timed runs
     * @param boundTokensPerSecond      the bandwidth over all bytes read per token
     * @param fractionOfBound           {@code tokensPerSecond / boundTokensPerSecond}
     * @param vsFull                    {@code tokensPerSecond} over {@code full}'s at the same context, or
     *                                  {@code null} when {@code full} is not in the run
     * @param hitRate                   the device tier's hit rate over the timed steps, or {@code null}
     *                                  when nothing was requested from it
     */
    public record Row(String benchmark, String model, String policy, int context, int budget, String kvFormat,
                      String residency, int threads, int steps, int repetitions, boolean prefilled, double tokensPerSecond,
                      double tokensPerSecondMin, double tokensPerSecondMax, List<Double> tokensPerSecondRuns,
                      double kvBytesPerToken, long weightBytesPerToken, double metadataBytesPerToken,
                      double movedBytesPerToken, double bandwidthBytesPerSecond, double boundTokensPerSecond,
                      double fractionOfBound, Double vsFull, Double hitRate) {

        /** Copies the runs. */
        public Row {
            tokensPerSecondRuns = List.copyOf(tokensPerSecondRuns);
        }

        Row withVsFull(Double ratio) {
            return new Row(benchmark, model, policy, context, budget, kvFormat, residency, threads, steps, repetitions,
                    prefilled, tokensPerSecond, tokensPerSecondMin, tokensPerSecondMax, tokensPerSecondRuns,
                    kvBytesPerToken, weightBytesPerToken, metadataBytesPerToken, movedBytesPerToken,
                    bandwidthBytesPerSecond, boundTokensPerSecond, fractionOfBound, ratio, hitRate);
        }
    }

    /**
     * A run's figures.
     *
     * @param spec                    what was asked
     * @param machine                 where it ran
     * @param modelSummary            the model's shape, one line
     * @param rows                    one per context and policy, in that order
     */
    public record Result(Spec spec, MachineInfo machine, String modelSummary, List<Row> rows) {

        /** Copies the rows. */
        public Result {
            rows = List.copyOf(rows);
        }

        /** @return the header (machine, model, bandwidth) and one table line per row */
        public String toTable() {
            StringBuilder b = new StringBuilder();
            Row first = rows.isEmpty() ? null : rows.getFirst();
            b.append(machine.describe());
            b.append(String.format(Locale.ROOT, "model: %s (%s)%n", spec.model(), modelSummary));
            if (first != null) {
                b.append(String.format(Locale.ROOT, "%s: %d threads; %s; %s KV; residency %s; budget %d%n",
                        spec.mode().label(), first.threads(), spec.mode() == Mode.DECODE
                                ? String.format(Locale.ROOT, "%d x %d timed steps after %d warm-up steps; history %s",
                                spec.repetitions(), spec.steps(), WARM_UP_STEPS,
                                spec.prefillHistory() ? "prefilled" : "placed")
                                : String.format(Locale.ROOT, "%d timed prefills after a warm-up", spec.repetitions()),
                        first.kvFormat(), first.residency(), first.budget()));
            }
            b.append(String.format(Locale.ROOT, "memory bandwidth: a Vector API read of %d MiB over the threads before each"
                    + " row's timed runs (GB/s); bound = GB/s over the bytes read per token%n%n", spec.baselineBytes() >> 20));
            int pw = Math.max(6, rows.stream().mapToInt(r -> r.policy().length()).max().orElse(6));
            String head = "%-" + pw + "s %8s %6s %-3s %-9s %8s %15s %9s %9s %7s %8s %6s %7s %6s%n";
            b.append(String.format(Locale.ROOT, head, "policy", spec.mode() == Mode.DECODE ? "context" : "tokens",
                    "budget", "kv", "residency", "tok/s", "min-max", "KV MB/t", "wt MB/t", "GB/s", "bound", "of bd",
                    "vs full", "hits"));
            for (Row r : rows) {
                b.append(String.format(Locale.ROOT, "%-" + pw + "s %8d %6d %-3s %-9s %8.2f %15s %9.1f %9.1f %7.2f %8.2f %5.0f%% %7s %6s%n",
                        r.policy(), r.context(), r.budget(), r.kvFormat(), r.residency(), r.tokensPerSecond(),
                        String.format(Locale.ROOT, "%.2f-%.2f", r.tokensPerSecondMin(), r.tokensPerSecondMax()),
                        r.kvBytesPerToken() / 1e6, r.weightBytesPerToken() / 1e6, r.bandwidthBytesPerSecond() / 1e9,
                        r.boundTokensPerSecond(), 100 * r.fractionOfBound(),
                        r.vsFull() == null ? "-" : String.format(Locale.ROOT, "%.2f", r.vsFull()),
                        r.hitRate() == null ? "-" : String.format(Locale.ROOT, "%.3f", r.hitRate())));
            }
            return b.toString();
        }

        /** @return the rows as a JSON array of objects, one per row, with {@link Row}'s fields */
        public String toJson() {
            return JSON.writeValueAsString(rows);
        }

        /**
         * @param file where to write {@link #toJson()}
         * @throws IOException if it cannot be written
         */
        public void writeJson(Path file) throws IOException {
            Files.writeString(file, toJson() + System.lineSeparator());
        }
    }

    /**
     * Runs a benchmark.
     *
     * @param spec     what to measure
     * @param progress receives a line per step of the run (for standard error)
     * @return the figures
     * @throws IOException              if the model cannot be read
     * @throws ContextTooLongException  if a context or prompt length does not fit the model, naming it
     * @throws IllegalArgumentException if a synthetic model's name or weight type is unknown
     * @throws io.clusterkv.runtime.ConfigValueException if a configuration value is bad, naming the key
     */
    public static Result run(Spec spec, Consumer<String> progress) throws IOException {
        MachineInfo machine = MachineInfo.current();
        try (ClusterKvRuntime runtime = ClusterKvRuntime.builder().config(config(spec)).build()) {
            long t0 = System.nanoTime();
            LlamaModel model = runtime.loadModel(spec.model());
            ModelConfig c = model.config();
            for (int ctx : spec.contexts()) {
                long need = spec.mode() == Mode.PREFILL ? ctx + 1L
                        : ctx + WARM_UP_STEPS + 1L + (long) spec.repetitions() * (spec.steps() + 1);
                if (need > c.contextLength()) {
                    throw new ContextTooLongException(String.format(Locale.ROOT,
                            "%s %d needs %d positions%s; the model's context length is %d",
                            spec.mode() == Mode.DECODE ? "context" : "a prompt of", ctx, need,
                            spec.mode() == Mode.DECODE ? " with the warm-up and timed steps" : "", c.contextLength()));
                }
            }
            progress.accept(String.format(Locale.ROOT, "model %s loaded in %.1f s", spec.model(),
                    (System.nanoTime() - t0) / 1e9));
            try (BandwidthProbe probe = new BandwidthProbe(runtime.settings().computeThreads(), spec.baselineBytes())) {
                return run(spec, machine, runtime, model, probe, progress);
            }
        }
    }

    private static Result run(Spec spec, MachineInfo machine, ClusterKvRuntime runtime, LlamaModel model,
                              BandwidthProbe probe, Consumer<String> progress) {
        ModelConfig c = model.config();
        Context ctx = new Context(spec, runtime, model, probe, weightBytesPerToken(model), progress);
        if (spec.mode() == Mode.DECODE) {
            try {
                ctx.warmUp();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        List<Row> rows = new ArrayList<>();
        for (int context : spec.contexts()) {
            WorkloadHistory history = spec.mode() == Mode.DECODE && context > 0 && !spec.prefillHistory()
                    ? WorkloadHistory.of(context, c.headDim()) : null;
            for (String policy : spec.policies()) {
                rows.add(spec.mode() == Mode.DECODE ? ctx.decodeRow(policy, context, history)
                        : ctx.prefillRow(policy, context));
            }
        }
        String summary = String.format(Locale.ROOT,
                "%s, %d layers, dim %d, %d heads, %d KV heads of dim %d, vocab %d, %s weights, %.1f MB read per token",
                c.architecture(), c.layers(), c.dim(), c.heads(), c.kvHeads(), c.headDim(), c.vocab(),
                model.layer(0).wq().type(), ctx.weights / 1e6);
        return new Result(spec, machine, summary, withRatios(rows));
    }

    /** A context or prompt length the model's context cannot hold, with the steps a row adds to it. */
    public static final class ContextTooLongException extends IllegalArgumentException {
        @java.io.Serial
        private static final long serialVersionUID = 1L;

        ContextTooLongException(String message) {
            super(message);
        }
    }

    /** @return {@code vsFull} filled in where {@code full} ran at the row's context */
    static List<Row> withRatios(List<Row> rows) {
        Map<Integer, Double> full = new HashMap<>();
        for (Row r : rows) {
            if (r.policy().equals(FULL)) {
                full.put(r.context(), r.tokensPerSecond());
            }
        }
        List<Row> out = new ArrayList<>();
        for (Row r : rows) {
            Double f = full.get(r.context());
            out.add(r.withVsFull(f == null || f <= 0 ? null : r.tokensPerSecond() / f));
        }
        return out;
    }

    static Config config(Spec spec) {
        Map<String, Object> m = new LinkedHashMap<>(spec.settings());
        spec.kvFormat().ifPresent(f -> m.put("clusterkv.runtime.kv-format", configName(f)));
        spec.residency().ifPresent(r -> m.put("clusterkv.residency.policy", configName(r)));
        spec.threads().ifPresent(t -> m.put("clusterkv.runtime.compute-threads", t));
        return ConfigFactory.parseMap(m);
    }

    /** @return an enum constant as the configuration spells it: {@code LAST_R} is {@code last-r} */
    public static String configName(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** @return bytes of weights one decoded token reads: every layer matrix and the classifier */
    public static long weightBytesPerToken(LlamaModel m) {
        long b = m.output().data().byteSize();
        for (int l = 0; l < m.config().layers(); l++) {
            LlamaModel.Layer y = m.layer(l);
            for (WeightMatrix w : List.of(y.wq(), y.wk(), y.wv(), y.wo(), y.gate(), y.up(), y.down())) {
                b += w.data().byteSize();
            }
        }
        return b;
    }

    /**
     * What a policy's selection reads besides KV rows, per token, estimated from its default geometry:
     * Quest's per-page minimum and maximum ({@code 2 * headDim} floats a 16-position page), ClusterKV's
     * centroids ({@code headDim} floats a cluster, about one per 80 positions) and member lists (4 bytes
     * a selected position, per query head), over every sparse shard; 0 for other policies.
     *
     * @param policy      the policy's name
     * @param config      the model
     * @param context     positions
     * @param budget      the budget
     * @param denseLayers the leading layers attended exactly
     * @return bytes per token
     */
    public static double metadataBytesPerToken(String policy, ModelConfig config, int context, int budget,
                                               int denseLayers) {
        if (context <= budget) {
            return 0; // attended exactly: no selection
        }
        int sparseShards = Math.max(0, config.layers() - denseLayers) * config.kvHeads();
        int hd = config.headDim();
        return switch (policy) {
            case "quest" -> (double) sparseShards * Math.ceil(context / 16.0) * 2 * hd * 4;
            case "clusterkv" -> (double) sparseShards
                    * (Math.ceil(context / 80.0) * hd * 4 + config.groupSize() * (double) budget * 4);
            default -> 0;
        };
    }

    /**
     * The memory-bandwidth baseline: a Vector API read of an off-heap segment (every page touched first)
     * split over a pool of {@code threads} as matvec splits rows, the median of 7 reads after 2.
     *
     * @param threads the pool's threads
     * @param bytes   the segment's size
     * @return bytes per second
     */
    public static double bandwidth(int threads, long bytes) {
        try (BandwidthProbe probe = new BandwidthProbe(threads, bytes)) {
            return probe.measure();
        }
    }

    /**
     * The segment and pool of {@link #bandwidth}, kept for a run so that each row measures the bandwidth
     * right before its timed steps (on a shared machine it changes from minute to minute).
     */
    static final class BandwidthProbe implements AutoCloseable {
        private final ForkJoinPool pool;
        private final Arena arena = Arena.ofShared();
        private final MemorySegment segment;

        BandwidthProbe(int threads, long bytes) {
            pool = new ForkJoinPool(threads);
            segment = arena.allocate(bytes, 64);
            for (long o = 0; o < bytes; o += 4096) {
                segment.set(ValueLayout.JAVA_BYTE, o, (byte) o); // touch every page
            }
        }

        /** @return bytes per second, the median of 7 reads after 2 */
        double measure() {
            double[] t = new double[7];
            for (int i = 0; i < 2; i++) {
                MatvecBenchmark.parallelSum(pool, segment);
            }
            for (int i = 0; i < t.length; i++) {
                long t0 = System.nanoTime();
                MatvecBenchmark.parallelSum(pool, segment);
                t[i] = (System.nanoTime() - t0) / 1e9;
            }
            return segment.byteSize() / median(t);
        }

        @Override
        public void close() {
            pool.shutdown();
            arena.close();
        }
    }

    /**
     * Waits until every maintenance task a session started has been applied.
     *
     * @param s the session
     * @return seconds waited
     * @throws InterruptedException if interrupted
     */
    public static double awaitMaintenance(Session s) throws InterruptedException {
        long t0 = System.nanoTime();
        while (true) {
            SessionStats st = s.stats();
            if (st.maintenanceApplied() >= st.maintenanceStarted()) {
                return (System.nanoTime() - t0) / 1e9;
            }
            Thread.sleep(20);
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /**
     * @param n     tokens
     * @param from  index of the first
     * @param vocab the vocabulary's size
     * @return pseudo-random token ids in {@code [1, vocab)}, the same for every run
     */
    static int[] tokens(int n, long from, int vocab) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = vocab < 2 ? 0 : 1 + (int) Math.floorMod((from + i) * TOKEN_STRIDE, (long) vocab - 1);
        }
        return p;
    }

    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /** The state of one run: the runtime, the model, the figures every row shares. */
    private static final class Context {
        private final Spec spec;
        private final ClusterKvRuntime runtime;
        private final LlamaModel model;
        private final BandwidthProbe probe;
        private final long weights;
        private final Consumer<String> progress;
        private long nextToken; // index into the pseudo-random token sequence of decode prompts

        Context(Spec spec, ClusterKvRuntime runtime, LlamaModel model, BandwidthProbe probe, long weights,
                Consumer<String> progress) {
            this.spec = spec;
            this.runtime = runtime;
            this.model = model;
            this.probe = probe;
            this.weights = weights;
            this.progress = progress;
        }

        /** @return a session of the policy; {@code full} with an unbounded budget (see the class notes) */
        private Session open(String policy) {
            int budget = policy.equals(FULL) ? Integer.MAX_VALUE : spec.budget();
            return runtime.openSession(model, SessionOptions.builder().policy(policy).budget(budget).build());
        }

        /** @return bytes of one position's key and value in one shard */
        private int rowBytes() {
            return model.config().headDim() * 2 * runtime.settings().kvFormat().bytes();
        }

        private String residency() {
            return configName(runtime.settings().residency().rule());
        }

        Row decodeRow(String policy, int context, WorkloadHistory history) {
            try (Session s = open(policy)) {
                long t0 = System.nanoTime();
                if (history != null) {
                    await(s.fill(history));
                } else if (context > 0) {
                    await(s.generate(tokens(context, 0, model.config().vocab()), 0, Sampler.greedy(),
                            TokenListener.none()));
                }
                double placed = (System.nanoTime() - t0) / 1e9;
                double maintenance = awaitMaintenance(s);
                decode(s, WARM_UP_STEPS);
                double bandwidth = probe.measure();
                double[] tps = new double[spec.repetitions()];
                SessionStats before = s.stats();
                for (int r = 0; r < tps.length; r++) {
                    long[] stepsAndNanos = decode(s, spec.steps());
                    tps[r] = stepsAndNanos[0] * 1e9 / stepsAndNanos[1];
                }
                SessionStats after = s.stats();
                long decoded = after.decodeSteps() - before.decodeSteps();
                double kv = (double) (after.attendedRows() - before.attendedRows()) * rowBytes() / decoded;
                double meta = metadataBytesPerToken(policy, model.config(), context, spec.budget(),
                        s.settings().denseLayers());
                long requests = after.residency().requests() - before.residency().requests();
                long hits = after.residency().hits() - before.residency().hits();
                double moved = (double) (after.residency().bytesMoved() - before.residency().bytesMoved()) / decoded;
                progress.accept(String.format(Locale.ROOT,
                        "decode %s @ %d: history %.1f s, maintenance %.1f s, %.2f GB/s, tok/s %s", policy, context,
                        placed, maintenance, bandwidth / 1e9, runs(tps)));
                return row(policy, context, spec.steps(), bandwidth, tps, kv, weights, meta, moved,
                        requests == 0 ? null : (double) hits / requests);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }

        /**
         * Compiles the decode path before the first row, so that the first rows do not run colder than
         * the last: for each policy, a session over a history of {@code min(longest context, 2 * budget)}
         * positions, decoding for {@value #WARM_UP_MILLIS} ms (at least 8 steps, at most 256).
         */
        void warmUp() throws InterruptedException {
            ModelConfig c = model.config();
            int context = Math.min(spec.contexts().stream().mapToInt(Integer::intValue).max().orElse(0),
                    2 * spec.budget());
            int most = Math.min(256, c.contextLength() - context - 16);
            if (most < 8) {
                return; // a model this short warms up in the rows' own warm-up steps
            }
            WorkloadHistory history = context > 0 ? WorkloadHistory.of(context, c.headDim()) : null;
            long t0 = System.nanoTime();
            for (String policy : spec.policies()) {
                try (Session s = open(policy)) {
                    if (history != null) {
                        await(s.fill(history));
                    }
                    awaitMaintenance(s);
                    long p0 = System.nanoTime();
                    for (int n = 0; n + 4 <= most && (n < 8 || System.nanoTime() - p0 < WARM_UP_MILLIS * 1_000_000L); n += 4) {
                        decode(s, 4);
                    }
                }
            }
            progress.accept(String.format(Locale.ROOT, "warm-up (history of %d positions): %.1f s", context,
                    (System.nanoTime() - t0) / 1e9));
        }

        /** @return {steps decoded, nanoseconds}: greedy steps until {@code steps} were decoded */
        private long[] decode(Session s, int steps) {
            long done = 0;
            long nanos = 0;
            for (int calls = 0; done < steps; calls++) {
                if (calls > 4 * steps + 8) {
                    throw new IllegalStateException("the model keeps ending generations at a stop token; decoded "
                            + done + " of " + steps + " steps");
                }
                int[] prompt = tokens(1, nextToken++, model.config().vocab());
                GenerationResult r = await(s.generate(prompt, (int) (steps - done) + 1, Sampler.greedy(),
                        TokenListener.none()));
                if (r.stop() == GenerationResult.StopReason.CONTEXT_FULL) {
                    throw new IllegalStateException("the model's context of " + model.config().contextLength()
                            + " positions is full");
                }
                done += r.tokens().length - 1;
                nanos += r.decodeNanos();
            }
            return new long[] {done, nanos};
        }

        Row prefillRow(String policy, int tokens) {
            int[] prompt = DecodeBench.tokens(tokens, 0, model.config().vocab());
            double[] tps = new double[spec.repetitions()];
            double bandwidth = 0;
            try {
                for (int r = -1; r < tps.length; r++) { // r = -1: the warm-up
                    if (r == 0) {
                        bandwidth = probe.measure();
                    }
                    try (Session s = open(policy)) {
                        GenerationResult g = await(s.generate(prompt, 0, Sampler.greedy(), TokenListener.none()));
                        awaitMaintenance(s);
                        if (r >= 0) {
                            tps[r] = tokens * 1e9 / g.prefillNanos();
                        }
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
            ModelConfig c = model.config();
            long chunks = (tokens + ForwardPass.PREFILL_CHUNK - 1) / ForwardPass.PREFILL_CHUNK;
            double kv = (tokens + 1) / 2.0 * rowBytes() * c.layers() * c.kvHeads();
            progress.accept(String.format(Locale.ROOT, "prefill %s @ %d tokens: %.2f GB/s, tok/s %s", policy, tokens,
                    bandwidth / 1e9, runs(tps)));
            return row(policy, tokens, tokens, bandwidth, tps, kv, weights * chunks / tokens, 0, 0, null);
        }

        private Row row(String policy, int context, int steps, double bandwidth, double[] tps, double kv, long weightBytes,
                        double meta, double moved, Double hitRate) {
            double bound = bandwidth / (weightBytes + kv + meta + 2 * moved);
            double median = median(tps);
            return new Row(spec.mode().label(), spec.model(), policy, context, spec.budget(),
                    configName(runtime.settings().kvFormat()), residency(), runtime.settings().computeThreads(), steps,
                    spec.repetitions(), spec.mode() == Mode.DECODE && spec.prefillHistory() && context > 0, median,
                    Arrays.stream(tps).min().orElse(0), Arrays.stream(tps).max().orElse(0),
                    Arrays.stream(tps).boxed().toList(), kv, weightBytes, meta, moved, bandwidth, bound, median / bound,
                    null, hitRate);
        }

        private static String runs(double[] tps) {
            List<String> out = new ArrayList<>();
            for (double x : tps) {
                out.add(String.format(Locale.ROOT, "%.2f", x));
            }
            return String.join(" ", out);
        }
    }
}

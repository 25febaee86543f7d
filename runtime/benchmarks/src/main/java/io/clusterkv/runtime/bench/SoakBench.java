package io.clusterkv.runtime.bench;

import com.typesafe.config.ConfigFactory;
import io.clusterkv.runtime.ClusterKvRuntime;
import io.clusterkv.runtime.GenerationResult;
import io.clusterkv.runtime.RuntimeResources;
import io.clusterkv.runtime.Session;
import io.clusterkv.runtime.SessionOptions;
import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.Sampler;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.JMException;
import javax.management.ObjectName;

/**
 * The soak ({@code ckv bench soak}, issue 16): {@link Options#sessions} concurrent sessions on a small
 * model, each driven by a thread of its own in a loop for {@link Options#seconds}: open a session with
 * the next policy, prefill one of a few fixed prompts and generate greedily, and in
 * {@link Options#cancelFraction} of the rounds close the session in the middle of the generation (from
 * its listener, after a random number of tokens); then close it and open the next. Every generation that
 * ends must give exactly the tokens its (policy, prompt) gave alone before the soak (a cancelled one: a
 * prefix of them), and every future must complete within a minute.
 *
 * <p>Then the leak check, against the values measured before the soak, once the warm-up (the reference
 * generations, the same sessions one at a time) had closed: the runtime's
 * {@link ClusterKvRuntime#resources() resources} (open sessions, session and shard actors, KV and device
 * tier bytes) must be back to 0; the heap after a full GC may not have grown by more than
 * {@link Options#heapSlackBytes}; the runtime's threads (its actor system's and its compute pool's) may
 * not outnumber those before, after waiting up to {@link Options#settleSeconds} for pools to retire
 * their spare threads; and after the runtime closes, none of its threads may be left and, when the JVM
 * runs with {@code -XX:NativeMemoryTracking=summary}, its native memory of category "Other" (where the
 * FFM arenas of KV stores, the device tier and synthetic models are allocated) may not exceed what it
 * was before the runtime started by more than 1 MiB. A table of each figure, before and after, and a
 * non-zero exit on any leak, wrong token, failure or hang.
 *
 * <p>Sessions use {@code synchronous-maintenance = true} (reproducible tokens), one dense layer and
 * {@code exact-coverage = 1}, so that a small budget makes every step past the budget sparse.
 *
 * <pre>
 * ./ckv bench soak --seconds 180
 * ./ckv bench soak --sessions 3 --seconds 5 --policies full,streaming
 * </pre>
 */
public final class SoakBench {

    private SoakBench() {
    }

    /**
     * What the soak runs.
     *
     * @param model          the model, e.g. {@code synthetic:tiny}
     * @param sessions       concurrent sessions, {@code >= 1}
     * @param seconds        how long new rounds start, {@code >= 1}
     * @param policies       the policies, one after the other
     * @param budget         the sessions' budget
     * @param maxTokens      tokens per generation at most
     * @param cancelFraction the share of rounds closed in the middle of their generation, in [0, 1]
     * @param seed           picks prompts, cancellations and the points of cancellation
     * @param heapSlackBytes growth of the heap after GC that is not called a leak
     * @param settleSeconds  how long to wait for pools to retire spare threads before calling them a leak
     */
    public record Options(String model, int sessions, int seconds, List<String> policies, int budget, int maxTokens,
                          double cancelFraction, long seed, long heapSlackBytes, int settleSeconds) {

        /** @throws IllegalArgumentException naming the option out of range */
        public Options {
            Objects.requireNonNull(model, "model");
            policies = List.copyOf(policies);
            if (sessions < 1) {
                throw new IllegalArgumentException("--sessions must be >= 1, was " + sessions);
            }
            if (seconds < 1) {
                throw new IllegalArgumentException("--seconds must be >= 1, was " + seconds);
            }
            if (policies.isEmpty()) {
                throw new IllegalArgumentException("--policies names none");
            }
            if (budget < 1) {
                throw new IllegalArgumentException("--budget must be >= 1, was " + budget);
            }
            if (maxTokens < 1) {
                throw new IllegalArgumentException("--tokens must be >= 1, was " + maxTokens);
            }
            if (!(cancelFraction >= 0 && cancelFraction <= 1)) {
                throw new IllegalArgumentException("--cancel-fraction must be in [0, 1], was " + cancelFraction);
            }
            if (heapSlackBytes < 0 || settleSeconds < 0) {
                throw new IllegalArgumentException("the heap slack and the settle time must be >= 0");
            }
        }

        /** @return the defaults: synthetic:tiny, 8 sessions, 120 s, full, streaming, clusterkv and quest */
        public static Options defaults() {
            return new Options("synthetic:tiny", 8, 120, List.of("full", "streaming", "clusterkv", "quest"), 16, 64,
                    0.25, 42, 16L << 20, 90);
        }
    }

    /**
     * One figure of the leak check.
     *
     * @param name   what was measured
     * @param before its value before the soak
     * @param after  its value after
     * @param limit  the most {@code after} may be
     */
    public record Figure(String name, long before, long after, long limit) {
        /** @return whether {@code after} exceeds the limit */
        public boolean leak() {
            return after > limit;
        }
    }

    /**
     * What the soak did and found.
     *
     * @param rounds     rounds started
     * @param completed  generations that ended normally
     * @param cancelled  generations closed in the middle, as planned
     * @param failed     rounds that ended with an unexpected error
     * @param hung       futures that did not complete within a minute
     * @param wrong      generations whose tokens differ from the reference
     * @param tokens     tokens generated
     * @param seconds    the soak's wall time
     * @param figures    the leak check
     * @param errors     the first unexpected errors, at most 5
     */
    public record Result(long rounds, long completed, long cancelled, long failed, long hung, long wrong, long tokens,
                         double seconds, List<Figure> figures, List<String> errors) {
        /** @return whether nothing leaked, failed, hung or came out wrong */
        public boolean clean() {
            return failed == 0 && hung == 0 && wrong == 0 && figures.stream().noneMatch(Figure::leak);
        }
    }

    /**
     * Runs the soak and prints its table.
     *
     * @param o   what to run
     * @param out where the table goes
     * @return the result
     * @throws Exception if the model cannot be loaded or the runtime not started
     */
    public static Result run(Options o, PrintStream out) throws Exception {
        long nativeBeforeRuntime = nativeOtherBytes();
        Map<String, Object> conf = new LinkedHashMap<>();
        conf.put("clusterkv.runtime.synchronous-maintenance", true);
        conf.put("clusterkv.runtime.dense-layers", 1);
        conf.put("clusterkv.runtime.exact-coverage", 1);
        conf.put("clusterkv.runtime.budget", o.budget());
        conf.put("clusterkv.runtime.max-policy-failures", 0);
        ClusterKvRuntime runtime = ClusterKvRuntime.builder().config(ConfigFactory.parseMap(conf)).build();
        String system = runtime.actorSystem().name() + "-";
        Result result;
        List<Figure> figures = new ArrayList<>();
        try {
            LlamaModel model = runtime.loadModel(o.model());
            SplittableRandom random = new SplittableRandom(o.seed());
            int[][] prompts = new int[4][];
            for (int i = 0; i < prompts.length; i++) {
                prompts[i] = random.ints(8 + 24 * i, 0, model.config().vocab()).toArray();
            }
            int[][][] reference = new int[o.policies().size()][prompts.length][];
            for (int p = 0; p < o.policies().size(); p++) {          // the warm-up, one session at a time
                for (int i = 0; i < prompts.length; i++) {
                    try (Session s = open(runtime, model, o.policies().get(p))) {
                        reference[p][i] = s.generate(prompts[i], o.maxTokens(), Sampler.greedy(), (t, pos) -> { })
                                .get(60, TimeUnit.SECONDS).tokens();
                    }
                }
            }
            RuntimeResources idle = runtime.resources();
            long heapBefore = heapAfterGc();
            int threadsBefore = threads(system);
            out.printf(Locale.ROOT, "soak: %s, %d sessions, %d s, policies %s, budget %d, up to %d tokens, %.0f%% cancelled%n",
                    o.model(), o.sessions(), o.seconds(), String.join(",", o.policies()), o.budget(), o.maxTokens(),
                    100 * o.cancelFraction());

            Counters c = new Counters();
            long start = System.nanoTime();
            long end = start + TimeUnit.SECONDS.toNanos(o.seconds());
            List<Thread> drivers = new ArrayList<>();
            for (int d = 0; d < o.sessions(); d++) {
                SplittableRandom r = random.split();
                int first = d;
                Thread t = new Thread(() -> drive(runtime, model, o, prompts, reference, first, r, end, c),
                        "soak-driver-" + d);
                drivers.add(t);
                t.start();
            }
            for (Thread t : drivers) {
                t.join();
            }
            double seconds = (System.nanoTime() - start) / 1e9;

            RuntimeResources after = awaitIdle(runtime, 30);
            long heapAfter = heapAfterGc();
            int threadsAfter = threads(system);
            for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(o.settleSeconds());
                 threadsAfter > threadsBefore && System.nanoTime() < deadline; ) {
                Thread.sleep(500);
                threadsAfter = threads(system);
            }
            figures.add(new Figure("open sessions", idle.openSessions(), after.openSessions(), 0));
            figures.add(new Figure("session actors", idle.sessionActors(), after.sessionActors(), 0));
            figures.add(new Figure("shard actors", idle.shardActors(), after.shardActors(), 0));
            figures.add(new Figure("KV store bytes", idle.kvBytes(), after.kvBytes(), 0));
            figures.add(new Figure("device-tier bytes in use", idle.residentBytes(), after.residentBytes(), 0));
            figures.add(new Figure("heap used after GC (bytes)", heapBefore, heapAfter, heapBefore + o.heapSlackBytes()));
            figures.add(new Figure("runtime threads, runtime open", threadsBefore, threadsAfter, threadsBefore));
            result = new Result(c.rounds.get(), c.completed.get(), c.cancelled.get(), c.failed.get(), c.hung.get(),
                    c.wrong.get(), c.tokens.get(), seconds, figures, List.copyOf(c.errors));
        } finally {
            runtime.close();
        }
        int threadsLeft = threads(system);
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
             threadsLeft > 0 && System.nanoTime() < deadline; ) {
            Thread.sleep(100);
            threadsLeft = threads(system);
        }
        figures.add(new Figure("runtime threads, runtime closed", 0, threadsLeft, 0));
        long nativeAfterClose = nativeOtherBytes();
        if (nativeBeforeRuntime >= 0 && nativeAfterClose >= 0) {
            figures.add(new Figure("native memory 'Other' (NMT, bytes), runtime closed", nativeBeforeRuntime,
                    nativeAfterClose, nativeBeforeRuntime + (1L << 20)));
        } else {
            out.println("(native memory not measured: run with CKV_JAVA_OPTS=-XX:NativeMemoryTracking=summary)");
        }
        result = new Result(result.rounds(), result.completed(), result.cancelled(), result.failed(), result.hung(),
                result.wrong(), result.tokens(), result.seconds(), List.copyOf(figures), result.errors());
        print(result, out);
        return result;
    }

    private static final class Counters {
        final AtomicLong rounds = new AtomicLong();
        final AtomicLong completed = new AtomicLong();
        final AtomicLong cancelled = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final AtomicLong hung = new AtomicLong();
        final AtomicLong wrong = new AtomicLong();
        final AtomicLong tokens = new AtomicLong();
        final List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());

        void error(String what) {
            failed.incrementAndGet();
            if (errors.size() < 5) {
                errors.add(what);
            }
        }
    }

    /** One driver: rounds of open, generate (maybe closed midway), close, until {@code end}. */
    private static void drive(ClusterKvRuntime runtime, LlamaModel model, Options o, int[][] prompts,
                              int[][][] reference, int first, SplittableRandom r, long end, Counters c) {
        for (int round = 0; System.nanoTime() < end; round++) {
            c.rounds.incrementAndGet();
            int p = (first + round) % o.policies().size();
            int i = r.nextInt(prompts.length);
            int[] expected = reference[p][i];
            boolean cancel = r.nextDouble() < o.cancelFraction() && expected.length > 1;
            int cancelAt = cancel ? 1 + r.nextInt(expected.length - 1) : -1;
            Session s;
            try {
                s = open(runtime, model, o.policies().get(p));
            } catch (RuntimeException e) {
                c.error("open: " + e);
                continue;
            }
            List<Integer> seen = new ArrayList<>();
            CompletableFuture<GenerationResult> job = s.generate(prompts[i], o.maxTokens(), Sampler.greedy(), (t, pos) -> {
                seen.add(t);
                if (seen.size() == cancelAt) {
                    s.closeAsync();
                }
            });
            try {
                GenerationResult g = job.get(60, TimeUnit.SECONDS);
                c.tokens.addAndGet(g.tokens().length);
                if (cancel) {
                    c.error(o.policies().get(p) + ": the generation ended normally after its session was closed");
                } else if (!Arrays.equals(expected, g.tokens())) {
                    c.wrong.incrementAndGet();
                } else {
                    c.completed.incrementAndGet();
                }
            } catch (TimeoutException e) {
                c.hung.incrementAndGet();
            } catch (ExecutionException e) {
                if (cancel && e.getCause() instanceof IllegalStateException ise && ise.getMessage().endsWith("was closed")) {
                    c.cancelled.incrementAndGet();
                    c.tokens.addAndGet(seen.size());
                    int[] prefix = seen.stream().mapToInt(Integer::intValue).toArray();
                    if (!Arrays.equals(expected, 0, prefix.length, prefix, 0, prefix.length)) {
                        c.wrong.incrementAndGet();
                    }
                } else {
                    c.error(o.policies().get(p) + ": " + e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            try {
                s.closeAsync().get(60, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                c.hung.incrementAndGet();
            } catch (ExecutionException e) {
                c.error("close: " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static Session open(ClusterKvRuntime runtime, LlamaModel model, String policy) {
        return runtime.openSession(model, SessionOptions.builder().policy(policy).build());
    }

    private static RuntimeResources awaitIdle(ClusterKvRuntime runtime, int seconds) throws InterruptedException {
        RuntimeResources r = runtime.resources();
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
             !r.idle() && System.nanoTime() < deadline; ) {
            Thread.sleep(50);
            r = runtime.resources();
        }
        return r;
    }

    /** @return heap bytes in use after full collections, the least of three */
    static long heapAfterGc() throws InterruptedException {
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
            least = Math.min(least, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return least;
    }

    /**
     * @return bytes committed in Native Memory Tracking's category "Other", where FFM arenas allocate
     *         (and the JDK's direct buffers), or -1 when the JVM does not track native memory
     */
    static long nativeOtherBytes() {
        String summary;
        try {
            summary = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[] {new String[] {"summary"}}, new String[] {String[].class.getName()});
        } catch (JMException | RuntimeException e) {
            return -1;
        }
        Matcher m = Pattern.compile("Other \\(reserved=\\d+KB, committed=(\\d+)KB\\)").matcher(summary);
        return m.find() ? Long.parseLong(m.group(1)) << 10 : -1;
    }

    /** @return live threads of the runtime: its actor system's ({@code <system>-...}) and its compute pool's */
    static int threads(String systemPrefix) {
        AtomicInteger n = new AtomicInteger();
        Thread.getAllStackTraces().keySet().forEach(t -> {
            String name = t.getName();
            if (t.isAlive() && (name.startsWith(systemPrefix) || name.startsWith("clusterkv-compute-"))) {
                n.incrementAndGet();
            }
        });
        return n.get();
    }

    static void print(Result r, PrintStream out) {
        out.printf(Locale.ROOT, "%d rounds in %.1f s: %d generations completed, %d closed midway, %d failed, %d hung, "
                        + "%d with wrong tokens; %d tokens (%.1f tokens/s)%n", r.rounds(), r.seconds(), r.completed(),
                r.cancelled(), r.failed(), r.hung(), r.wrong(), r.tokens(), r.tokens() / r.seconds());
        for (String e : r.errors()) {
            out.println("  error: " + e);
        }
        out.println();
        out.println("| measure | before | after | limit | leak |");
        out.println("| --- | ---: | ---: | ---: | --- |");
        for (Figure f : r.figures()) {
            out.printf(Locale.ROOT, "| %s | %d | %d | %d | %s |%n", f.name(), f.before(), f.after(), f.limit(),
                    f.leak() ? "LEAK" : "no");
        }
        out.println();
        out.println(r.clean() ? "clean: nothing leaked, failed, hung or came out wrong" : "NOT CLEAN");
    }
}

package io.clusterkv.runtime.bench;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Exact attention as a decode step through the runtime runs it, for several builds in one JVM: per
 * layer, the 8 shards of a layer (one GQA group of 4 query heads each, head dim 64, 32768 positions)
 * split between 2 threads, the layers one after another; {@code -Dlayers=4} layers of distinct shards
 * (512 MiB of F32 K+V, far more than any cache); {@code -Ddim} and {@code -Dthreads} change the head dim
 * (64) and the threads (2). Each build's classes (a compiled checkout, before or after the runtime's
 * split into modules: see {@link BuildClasses}) load in their own class loader; rounds alternate the
 * builds, so the load of other processes hits all alike.
 *
 * <p>The figure is K+V bytes per second of the two threads' CPU time ({@code -Dcpu=true}, the
 * default: on a shared machine CPU time is far steadier than wall time, which counts the slices other
 * processes take), or of wall time ({@code -Dcpu=false}). Per build: the median over the rounds with
 * min and max, and the median (min–max) of its per-round ratio to the first build.
 *
 * <pre>
 * git worktree add /tmp/base BASE &amp;&amp; (cd /tmp/base &amp;&amp; ./mvnw -B -q -o test-compile)
 * ./mvnw -B -q -o -DskipTests package
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx8g \
 *      -cp examples/target/ckv.jar io.clusterkv.runtime.bench.ExactAttentionBuildComparison f16 11 /tmp/base .
 * </pre>
 */
public final class ExactAttentionBuildComparison {

    private static final int SHARDS = 8;
    private static final int DIM = Integer.getInteger("dim", 64);
    private static final int HEADS = 4;
    private static final int THREADS = Integer.getInteger("threads", 2);
    private static final int N = Integer.getInteger("n", 32768);
    private static final int LAYERS = Integer.getInteger("layers", 4);
    private static final boolean CPU = Boolean.parseBoolean(System.getProperty("cpu", "true"));

    private ExactAttentionBuildComparison() {
    }

    /** One build: its shards, its {@code Attention.exact} and a scratch per thread. */
    private record Build(String name, Object[][] views, MethodHandle exact, Object queries, Object[] scratch,
                         float[][] out) {
    }

    private static Build load(String dir, String format) throws Throwable {
        ClassLoader cl = BuildClasses.loader(dir);
        Class<?> formatClass = cl.loadClass("io.clusterkv.runtime.kv.KvFormat");
        Class<?> shardClass = cl.loadClass("io.clusterkv.runtime.kv.KvShard");
        Class<?> viewClass = cl.loadClass("io.clusterkv.runtime.kv.KvShard$View");
        Class<?> queriesClass = cl.loadClass("io.clusterkv.spi.Queries");
        Class<?> scratchClass = cl.loadClass("io.clusterkv.runtime.attention.AttentionScratch");
        Class<?> attention = cl.loadClass("io.clusterkv.runtime.attention.Attention");
        Object f = formatClass.getMethod("valueOf", String.class).invoke(null, format.toUpperCase(Locale.ROOT));
        SplittableRandom r = new SplittableRandom(1);
        float[] k = new float[N * DIM];
        float[] v = new float[N * DIM];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) r.nextGaussian();
            v[i] = (float) r.nextGaussian();
        }
        Method append = shardClass.getMethod("appendAll", float[].class, float[].class, int.class);
        Object[][] views = new Object[LAYERS][SHARDS];
        for (int l = 0; l < LAYERS; l++) {
            for (int s = 0; s < SHARDS; s++) {
                Object shard = shardClass.getConstructor(int.class, formatClass).newInstance(DIM, f);
                append.invoke(shard, k, v, N);
                views[l][s] = shardClass.getMethod("snapshot").invoke(shard);
            }
        }
        float[] q = new float[HEADS * DIM];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) r.nextGaussian();
        }
        Object queries = queriesClass.getMethod("wrap", float[].class, int.class, int.class).invoke(null, q, HEADS, DIM);
        MethodHandle exact = MethodHandles.publicLookup().findStatic(attention, "exact", MethodType.methodType(
                void.class, viewClass, int.class, queriesClass, float.class, float[].class, scratchClass));
        Object[] scratch = new Object[THREADS];
        float[][] out = new float[THREADS][HEADS * DIM];
        for (int t = 0; t < THREADS; t++) {
            scratch[t] = scratchClass.getConstructor().newInstance();
        }
        return new Build(dir, views, exact, queries, scratch, out);
    }

    /** @return seconds of one decode step's attention: CPU seconds per thread, or wall seconds */
    private static double step(Build b, ExecutorService pool) throws Exception {
        AtomicLong cpu = new AtomicLong();
        long t0 = System.nanoTime();
        for (int l = 0; l < LAYERS; l++) {
            int layer = l;
            List<Future<?>> tasks = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                tasks.add(pool.submit(() -> {
                    long c0 = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
                    for (int s = thread; s < SHARDS; s += THREADS) {
                        try {
                            b.exact().invoke(b.views()[layer][s], N, b.queries(), 0.125f, b.out()[thread],
                                    b.scratch()[thread]);
                        } catch (Throwable e) {
                            throw new IllegalStateException(e);
                        }
                    }
                    cpu.addAndGet(ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - c0);
                    return null;
                }));
            }
            for (Future<?> task : tasks) {
                task.get();
            }
        }
        return CPU ? cpu.get() / 1e9 / THREADS : (System.nanoTime() - t0) / 1e9;
    }

    public static void main(String[] args) throws Throwable {
        String format = args[0];
        int rounds = Integer.parseInt(args[1]);
        List<Build> builds = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            builds.add(load(args[i], format));
        }
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            double bytes = (double) LAYERS * SHARDS * N * DIM * 2 * (format.equalsIgnoreCase("f16") ? 2 : 4);
            for (int w = 0; w < 10; w++) {
                for (Build b : builds) {
                    step(b, pool);
                }
            }
            double[][] gbs = new double[builds.size()][rounds];
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < builds.size(); i++) {
                    double s = 0;
                    for (int k = 0; k < 3; k++) {
                        s += step(builds.get(i), pool);
                    }
                    gbs[i][r] = 3 * bytes / s / 1e9;
                }
            }
            System.out.printf(Locale.ROOT, "%s, %d positions, head dim %d, %d layers of %d shards, %d threads, GB/s of %s time%n",
                    format, N, DIM, LAYERS, SHARDS, THREADS, CPU ? "CPU" : "wall");
            for (int i = 0; i < builds.size(); i++) {
                double[] g = gbs[i].clone();
                Arrays.sort(g);
                double[] ratio = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    ratio[r] = gbs[i][r] / gbs[0][r];
                }
                Arrays.sort(ratio);
                System.out.printf(Locale.ROOT, "%-30s median %6.2f GB/s (%.2f-%.2f)  vs first: %.3f (%.3f-%.3f)%n",
                        builds.get(i).name(), g[rounds / 2], g[0], g[rounds - 1], ratio[rounds / 2], ratio[0],
                        ratio[rounds - 1]);
            }
        } finally {
            pool.shutdown();
        }
    }
}

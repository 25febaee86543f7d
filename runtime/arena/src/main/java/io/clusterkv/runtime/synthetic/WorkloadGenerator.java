package io.clusterkv.runtime.synthetic;

import io.clusterkv.spi.Seeds;
import java.util.SplittableRandom;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Builds a {@link SyntheticWorkload}; the model is documented there. Design notes: directions and
 * per-row arithmetic are in double and rounded once to float on store. Each position has its own
 * random stream (private direction, then salience, then value), so the query generator can regenerate
 * the private directions of the recent window from a ring of {@code W} rows instead of keeping one per
 * position, and a longer run leaves earlier rows unchanged. One pass over the positions, then one over
 * the steps: {@code O(length · headDim · R + steps · (W · R + queryHeads · (topicsPerQuery + R)) · headDim)}
 * with {@code R = 1 + topics + needles} semantic rows to project out when structured ({@code R = 1}
 * otherwise). The projection is the hot loop; it uses the Vector API with lanewise fused multiply-adds
 * only, so the result does not depend on the machine's vector width.
 */
final class WorkloadGenerator {

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    // the generator's independent random streams: Seeds.derive(mix(seed), stream)
    private static final long STREAM_DIRECTIONS = 0;
    private static final long STREAM_TOPICS = 1;
    private static final long STREAM_NEEDLES = 2;
    private static final long STREAM_QUERIES = 3;
    private static final long STREAM_POSITIONS = 4;

    private final WorkloadParams p;
    private final int d;
    private final int n;
    private final double sqrtD;
    private final double coherence;
    private final double spread;
    private final long positionBase;

    private final boolean structured; // semantic directions orthonormal, private directions orthogonal to them
    private final int privateDims;    // dimension the private directions span
    private final int semanticRows;   // 1 + topics + needles
    private double[] semanticBasis;   // (semanticRows, d) orthonormal rows when structured
    private final int paddedRows;     // semanticRows rounded up to whole vectors
    private double[] semanticBasisT;  // (d, paddedRows) its transpose, zero-padded
    private final double[] projection; // (paddedRows) scratch
    private double[] topicDirs;   // (topics, d)
    private double[] sinkDir;     // (d)
    private double[] needleDirs;  // (needles, d)
    private int[] topicOf;        // (n)
    private int[] needleAt;       // (n) needle index, or -1
    private int[] needlePositions;

    WorkloadGenerator(WorkloadParams params) {
        this.p = params;
        this.d = params.headDim();
        this.n = params.length();
        this.sqrtD = Math.sqrt(d);
        this.coherence = params.topicCoherence();
        this.spread = params.salienceSpread();
        this.positionBase = streamSeed(params.seed(), STREAM_POSITIONS);
        this.semanticRows = 1 + params.topics() + params.needles();
        this.structured = semanticRows <= d - SyntheticWorkload.MIN_PRIVATE_DIMS;
        this.privateDims = structured ? d - semanticRows : d;
        this.paddedRows = (semanticRows + D.length() - 1) / D.length() * D.length();
        this.projection = new double[paddedRows];
    }

    SyntheticWorkload generate() {
        directions();
        topicChain();
        needles();
        float[] keys = new float[n * d];
        float[] values = new float[n * d];
        keysAndValues(keys, values);
        int steps = p.steps();
        int heads = p.queryHeads();
        float[][] queries = new float[steps][heads * d];
        int[] targetTopics = new int[steps * heads * p.topicsPerQuery()];
        int[] targetNeedle = new int[steps * heads];
        queries(queries, targetTopics, targetNeedle);
        for (int pos : needlePositions) {
            topicOf[pos] = -1;
        }
        for (int pos = 0; pos < p.sinks(); pos++) {
            topicOf[pos] = -1;
        }
        return new SyntheticWorkload(p, keys, values, queries, topicOf, needlePositions, targetTopics, targetNeedle);
    }

    // ---- structure ----

    private void directions() {
        SplittableRandom r = new SplittableRandom(streamSeed(p.seed(), STREAM_DIRECTIONS));
        int count = 1 + p.topics() + p.needles();
        double[] all = new double[count * d]; // (sink, topics.., needles..) rows
        for (int j = 0; j < count; j++) {
            unitGaussian(r, all, j * d, d);
        }
        if (structured) {
            orthonormalise(all, count, d);
            semanticBasis = all;
            semanticBasisT = new double[d * paddedRows];
            for (int i = 0; i < count; i++) {
                for (int ch = 0; ch < d; ch++) {
                    semanticBasisT[ch * paddedRows + i] = all[i * d + ch];
                }
            }
        }
        sinkDir = java.util.Arrays.copyOfRange(all, 0, d);
        topicDirs = java.util.Arrays.copyOfRange(all, d, (1 + p.topics()) * d);
        needleDirs = java.util.Arrays.copyOfRange(all, (1 + p.topics()) * d, count * d);
    }

    /** Modified Gram-Schmidt, twice for accuracy, over {@code rows} independent random rows (rows <= dim). */
    private static void orthonormalise(double[] v, int rows, int dim) {
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < rows; i++) {
                int oi = i * dim;
                for (int j = 0; j < i; j++) {
                    int oj = j * dim;
                    double dot = 0;
                    for (int c = 0; c < dim; c++) {
                        dot += v[oi + c] * v[oj + c];
                    }
                    for (int c = 0; c < dim; c++) {
                        v[oi + c] -= dot * v[oj + c];
                    }
                }
                normalise(v, oi, dim);
            }
        }
    }

    private void topicChain() {
        SplittableRandom r = new SplittableRandom(streamSeed(p.seed(), STREAM_TOPICS));
        topicOf = new int[n];
        int topics = p.topics();
        double switchProbability = 1.0 / p.meanSegmentLength();
        int z = -1;
        for (int pos = p.sinks(); pos < n; pos++) {
            if (z < 0) {
                z = r.nextInt(topics);
            } else if (topics > 1 && r.nextDouble() < switchProbability) {
                int other = r.nextInt(topics - 1);
                z = other >= z ? other + 1 : other;
            }
            topicOf[pos] = z;
        }
    }

    private void needles() {
        SplittableRandom r = new SplittableRandom(streamSeed(p.seed(), STREAM_NEEDLES));
        int m = p.needles();
        int s = p.sinks();
        long range = p.promptLength() - s;
        needlePositions = new int[m];
        needleAt = new int[n];
        java.util.Arrays.fill(needleAt, -1);
        for (int j = 0; j < m; j++) {
            int lo = s + (int) (j * range / m);
            int hi = s + (int) ((j + 1) * range / m); // > lo since range >= m
            int pos = lo + r.nextInt(hi - lo);
            needlePositions[j] = pos;
            needleAt[pos] = j;
        }
    }

    // ---- rows ----

    private SplittableRandom positionRandom(int pos) {
        return new SplittableRandom(Seeds.derive(positionBase, pos));
    }

    /**
     * Draws a position's private direction into {@code eps} and returns its key's scale: with
     * {@code coherenceOf(pos) = co}, {@code k = sqrt(d) · scale · (co·dir + sqrt(1 - co²)·eps)}.
     */
    private double drawPrivate(SplittableRandom r, int pos, double[] eps) {
        privateDirection(r, eps);
        double xi = r.nextGaussian(); // drawn for every kind so each stream has one layout
        if (pos < p.sinks()) {
            return p.sinkNorm();
        }
        if (needleAt[pos] >= 0) {
            return 1.0;
        }
        return StrictMath.exp(spread * xi - 0.5 * spread * spread);
    }

    private double coherenceOf(int pos) {
        return pos < p.sinks() ? SyntheticWorkload.SINK_COHERENCE : coherence;
    }

    /** @return the coefficient of {@code eps_pos} in {@code k_pos / sqrt(d)}, given the key's scale */
    private double privateCoefficient(int pos, double scale) {
        double c = coherenceOf(pos);
        return scale * Math.sqrt(1 - c * c);
    }

    private void keysAndValues(float[] keys, float[] values) {
        double[] eps = new double[d];
        for (int pos = 0; pos < n; pos++) {
            SplittableRandom r = positionRandom(pos);
            double scale = drawPrivate(r, pos, eps);
            double c = coherenceOf(pos);
            double[] dir;
            int dirOff;
            if (pos < p.sinks()) {
                dir = sinkDir;
                dirOff = 0;
            } else if (needleAt[pos] >= 0) {
                dir = needleDirs;
                dirOff = needleAt[pos] * d;
            } else {
                dir = topicDirs;
                dirOff = topicOf[pos] * d;
            }
            double a = sqrtD * scale * c;
            double b = sqrtD * scale * Math.sqrt(1 - c * c);
            int row = pos * d;
            for (int ch = 0; ch < d; ch++) {
                keys[row + ch] = (float) (a * dir[dirOff + ch] + b * eps[ch]);
            }
            for (int ch = 0; ch < d; ch++) {
                values[row + ch] = (float) r.nextGaussian();
            }
        }
    }

    // ---- queries ----

    /** @return W: distances {@code 0 .. W-1} get a recency bonus of at least the cutoff; never more than n */
    private int recencyWindow() {
        double rho = p.recencyLogit();
        if (rho <= SyntheticWorkload.RECENCY_CUTOFF) {
            return 0;
        }
        double w = Math.ceil(p.recencyScale() * StrictMath.log(rho / SyntheticWorkload.RECENCY_CUTOFF));
        return (int) Math.min(w, n);
    }

    private void queries(float[][] out, int[] targetTopics, int[] targetNeedle) {
        int steps = p.steps();
        if (steps == 0) {
            return;
        }
        int heads = p.queryHeads();
        int k = p.topicsPerQuery();
        int topics = p.topics();
        SplittableRandom r = new SplittableRandom(streamSeed(p.seed(), STREAM_QUERIES));

        double sinkCoef = p.sinks() > 0 ? p.sinkLogit() / (p.sinkNorm() * SyntheticWorkload.SINK_COHERENCE) : 0.0;
        double topicCoef = p.topicLogit() / coherence;
        double needleCoef = p.needleLogit() / coherence;
        // logit noise of std noiseLogit · g_p on a topic key: eta·eps ~ N(0, 1/privateDims) when structured
        double noiseNorm = structured
                ? p.noiseLogit() * Math.sqrt(privateDims) / Math.sqrt(1 - coherence * coherence)
                : p.noiseLogit() * sqrtD;

        int window = recencyWindow();
        double[] recencyWeight = new double[window];       // (window) bonus in nats at distance Δ
        for (int delta = 0; delta < window; delta++) {
            recencyWeight[delta] = p.recencyLogit() * StrictMath.exp(-delta / p.recencyScale());
        }
        int ring = Math.max(window, 1);
        double[] ringDirs = new double[ring * d];          // (ring, d) eps_pos / a_pos at slot pos % ring
        int filledTo = Math.max(0, p.promptLength() - window + 1); // next position to put in the ring

        double[] recency = new double[d];
        double[] q = new double[d];
        double[] eta = new double[d];
        int[] current = new int[heads * k];
        int[] currentNeedle = new int[heads];

        for (int t = 0; t < steps; t++) {
            int pos = p.promptLength() + t;
            // recency term, shared by the heads: Σ_Δ w_Δ / a_(pos-Δ) · eps_(pos-Δ)
            java.util.Arrays.fill(recency, 0.0);
            if (window > 0) {
                for (; filledTo <= pos; filledTo++) {
                    int slot = (filledTo % ring) * d;
                    double scale = drawPrivate(positionRandom(filledTo), filledTo, eta);
                    double inv = 1.0 / privateCoefficient(filledTo, scale);
                    for (int ch = 0; ch < d; ch++) {
                        ringDirs[slot + ch] = eta[ch] * inv;
                    }
                }
                int reach = Math.min(window, pos + 1);
                for (int delta = 0; delta < reach; delta++) {
                    int slot = ((pos - delta) % ring) * d;
                    double w = recencyWeight[delta];
                    for (int ch = 0; ch < d; ch++) {
                        recency[ch] += w * ringDirs[slot + ch];
                    }
                }
            }
            for (int h = 0; h < heads; h++) {
                if (t == 0 || r.nextDouble() >= p.targetPersistence()) {
                    drawTargets(r, pos, current, h * k, k, topics);
                    currentNeedle[h] = p.needles() > 0 && r.nextDouble() < p.needleProbability()
                            ? r.nextInt(p.needles()) : -1;
                }
                System.arraycopy(current, h * k, targetTopics, (t * heads + h) * k, k);
                targetNeedle[t * heads + h] = currentNeedle[h];

                for (int ch = 0; ch < d; ch++) {
                    q[ch] = sinkCoef * sinkDir[ch] + recency[ch];
                }
                for (int i = 0; i < k; i++) {
                    int off = current[h * k + i] * d;
                    for (int ch = 0; ch < d; ch++) {
                        q[ch] += topicCoef * topicDirs[off + ch];
                    }
                }
                if (currentNeedle[h] >= 0) {
                    int off = currentNeedle[h] * d;
                    for (int ch = 0; ch < d; ch++) {
                        q[ch] += needleCoef * needleDirs[off + ch];
                    }
                }
                if (noiseNorm > 0) {
                    noiseDirection(r, eta);
                    for (int ch = 0; ch < d; ch++) {
                        q[ch] += noiseNorm * eta[ch];
                    }
                }
                float[] dst = out[t];
                int base = h * d;
                for (int ch = 0; ch < d; ch++) {
                    dst[base + ch] = (float) q[ch];
                }
            }
        }
    }

    private void drawTargets(SplittableRandom r, int pos, int[] dst, int off, int k, int topics) {
        int first = r.nextDouble() < p.recentTopicProbability() ? topicOf[pos] : r.nextInt(topics);
        dst[off] = first;
        for (int i = 1; i < k; i++) {
            int z;
            do {
                z = r.nextInt(topics);
            } while (contains(dst, off, i, z));
            dst[off + i] = z;
        }
    }

    private static boolean contains(int[] a, int off, int len, int v) {
        for (int i = 0; i < len; i++) {
            if (a[off + i] == v) {
                return true;
            }
        }
        return false;
    }

    /**
     * A random unit vector uniform on the sphere of the private subspace: the orthogonal complement of
     * the semantic directions when structured, else the whole space.
     */
    private void privateDirection(SplittableRandom r, double[] dst) {
        for (int ch = 0; ch < d; ch++) {
            dst[ch] = r.nextGaussian();
        }
        if (structured) {
            // dst -= B^T (B dst). First B dst, as d broadcast-FMA sweeps over the transposed basis (padded
            // to whole vectors), then one axpy per semantic row: no reductions, all on the Vector API.
            int lanes = D.length();
            java.util.Arrays.fill(projection, 0.0);
            for (int ch = 0; ch < d; ch++) {
                DoubleVector x = DoubleVector.broadcast(D, dst[ch]);
                int off = ch * paddedRows;
                for (int i = 0; i < paddedRows; i += lanes) {
                    x.fma(DoubleVector.fromArray(D, semanticBasisT, off + i), DoubleVector.fromArray(D, projection, i))
                            .intoArray(projection, i);
                }
            }
            int bound = D.loopBound(d);
            for (int i = 0; i < semanticRows; i++) {
                int off = i * d;
                double coef = -projection[i];
                DoubleVector c = DoubleVector.broadcast(D, coef);
                int ch = 0;
                for (; ch < bound; ch += lanes) {
                    DoubleVector.fromArray(D, semanticBasis, off + ch).fma(c, DoubleVector.fromArray(D, dst, ch))
                            .intoArray(dst, ch);
                }
                for (; ch < d; ch++) {
                    dst[ch] = Math.fma(coef, semanticBasis[off + ch], dst[ch]); // as the lanes do, on any lane count
                }
            }
        }
        normalise(dst, 0, d);
    }

    /** Query noise: a private direction; when not structured, a random unit vector orthogonal to the sink's. */
    private void noiseDirection(SplittableRandom r, double[] eta) {
        privateDirection(r, eta);
        if (!structured) {
            double proj = 0;
            for (int ch = 0; ch < d; ch++) {
                proj += eta[ch] * sinkDir[ch];
            }
            for (int ch = 0; ch < d; ch++) {
                eta[ch] -= proj * sinkDir[ch];
            }
            normalise(eta, 0, d);
        }
    }

    // ---- random helpers ----

    private static void unitGaussian(SplittableRandom r, double[] dst, int off, int len) {
        for (int i = 0; i < len; i++) {
            dst[off + i] = r.nextGaussian();
        }
        normalise(dst, off, len);
    }

    private static void normalise(double[] v, int off, int len) {
        double ss = 0;
        for (int i = 0; i < len; i++) {
            ss += v[off + i] * v[off + i];
        }
        if (ss == 0) { // probability zero; keep the vector a unit vector anyway
            v[off] = 1;
            return;
        }
        double inv = 1.0 / Math.sqrt(ss);
        for (int i = 0; i < len; i++) {
            v[off + i] *= inv;
        }
    }

    private static long streamSeed(long seed, long stream) {
        return Seeds.derive(Seeds.mix(seed), stream);
    }
}

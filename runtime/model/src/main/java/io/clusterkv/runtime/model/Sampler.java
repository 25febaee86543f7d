package io.clusterkv.runtime.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits: greedy (argmax, lowest id on ties), or sampled from
 * {@code softmax(logits / temperature)} restricted to the {@code topK} most likely tokens and then to
 * the smallest prefix of them, by decreasing probability, whose mass reaches {@code topP} (nucleus).
 *
 * <p>A sampler holds its random stream (seeded: the same seed and logits give the same tokens) and
 * scratch buffers sized to the vocabulary on first use, so sampling allocates nothing per token. Not
 * thread-safe: one per session.
 */
public final class Sampler {

    private final double temperature;
    private final int topK;
    private final double topP;
    private final SplittableRandom random;
    private float[] probs;  // (vocab)
    private long[] keys;    // (vocab) probability bits << 32 | token id, for ordering candidates

    private Sampler(double temperature, int topK, double topP, long seed) {
        if (!(temperature >= 0) || !Double.isFinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and >= 0, was " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0 (0: off), was " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1] (1: off), was " + topP);
        }
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.random = new SplittableRandom(seed);
    }

    /** @return a sampler that always takes the most likely token */
    public static Sampler greedy() {
        return new Sampler(0, 0, 1, 0);
    }

    /**
     * @param temperature divides the logits, {@code >= 0}; 0 means greedy
     * @param topK        keep the {@code topK} most likely tokens; 0 keeps all; 1 is greedy
     * @param topP        nucleus mass in {@code (0, 1]}; 1 keeps all
     * @param seed        seeds the random stream
     * @return the sampler
     * @throws IllegalArgumentException if a parameter is out of range, naming it
     */
    public static Sampler of(double temperature, int topK, double topP, long seed) {
        return new Sampler(temperature, topK, topP, seed);
    }

    /** @return the temperature; 0 is greedy */
    public double temperature() {
        return temperature;
    }

    /** @return top-k, 0 when off */
    public int topK() {
        return topK;
    }

    /** @return top-p, 1 when off */
    public double topP() {
        return topP;
    }

    /**
     * @param logits one score per token; not modified
     * @return the chosen token id
     * @throws IllegalArgumentException if {@code logits} is empty
     */
    public int sample(float[] logits) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("no logits");
        }
        if (temperature == 0 || topK == 1 || logits.length == 1) {
            return argmax(logits);
        }
        int n = logits.length;
        if (probs == null || probs.length != n) {
            probs = new float[n];
            keys = new long[n];
        }
        float max = logits[argmax(logits)];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float p = (float) Math.exp((logits[i] - max) / temperature);
            probs[i] = p;
            sum += p;
        }
        if (topK == 0 && topP == 1) {
            double r = random.nextDouble() * sum;
            double acc = 0;
            for (int i = 0; i < n; i++) {
                acc += probs[i];
                if (r < acc) {
                    return i;
                }
            }
            return argmax(logits);
        }
        // candidates as sortable keys: probabilities are >= 0, so their bits order like their values
        int m = 0;
        double cutoff = topK == 0 ? (1 - topP) / (n - 1) * sum : 0; // no nucleus member can be below this
        for (int i = 0; i < n; i++) {
            if (probs[i] >= cutoff) {
                keys[m++] = (long) Float.floatToRawIntBits(probs[i]) << 32 | i;
            }
        }
        if (topK > 0 && topK < m) {
            select(keys, 0, m, m - topK); // the topK largest now fill [m - topK, m)
            System.arraycopy(keys, m - topK, keys, 0, topK);
            m = topK;
        }
        Arrays.sort(keys, 0, m); // ascending: walk from the end
        double mass = 0; // of the top-k, or of every token when top-k is off
        if (topK == 0) {
            mass = sum;
        } else {
            for (int j = 0; j < m; j++) {
                mass += Float.intBitsToFloat((int) (keys[j] >>> 32));
            }
        }
        double target = topP * mass;
        int first = m - 1;
        double kept = 0;
        for (int j = m - 1; j >= 0; j--) {
            kept += Float.intBitsToFloat((int) (keys[j] >>> 32));
            first = j;
            if (kept >= target) {
                break;
            }
        }
        double r = random.nextDouble() * kept;
        double acc = 0;
        for (int j = m - 1; j >= first; j--) {
            acc += Float.intBitsToFloat((int) (keys[j] >>> 32));
            if (r < acc) {
                return (int) keys[j];
            }
        }
        return (int) keys[first];
    }

    /**
     * @param logits scores
     * @return the index of the largest, the lowest on ties
     */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * @param logits scores
     * @param token  a token in {@code [0, logits.length)}
     * @return {@code log softmax(logits)[token]}, in double precision (a log-likelihood, {@code <= 0})
     */
    public static double logProbability(float[] logits, int token) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double z = 0;
        for (float l : logits) {
            z += Math.exp(l - max);
        }
        return logits[token] - max - Math.log(z);
    }

    /** Quickselect: rearranges {@code a[from, to)} so that {@code a[kth]} holds its sorted value, smaller before. */
    private static void select(long[] a, int from, int to, int kth) {
        int lo = from;
        int hi = to - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            long pivot = median(a[lo], a[mid], a[hi]);
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) {
                    i++;
                }
                while (a[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    long t = a[i];
                    a[i] = a[j];
                    a[j] = t;
                    i++;
                    j--;
                }
            }
            if (kth <= j) {
                hi = j;
            } else if (kth >= i) {
                lo = i;
            } else {
                return;
            }
        }
    }

    private static long median(long a, long b, long c) {
        return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    }
}

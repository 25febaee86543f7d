package io.clusterkv.runtime.synthetic;

import io.clusterkv.runtime.kv.KvShard;
import io.clusterkv.spi.KeyView;
import io.clusterkv.spi.Queries;
import java.util.Arrays;
import java.util.Objects;

/**
 * A seeded synthetic KV workload for one KV head: keys and values for {@code promptLength + steps}
 * positions, and for every decode step the queries of the head's {@code queryHeads} query heads. It
 * lets recall policies be compared, and tested, without a model.
 *
 * <p><b>Shapes.</b> {@link #keys()} and {@link #values()} are {@code (length, headDim)} row-major
 * floats; {@link #queries(int) queries(t)} are {@code (queryHeads, headDim)} at position
 * {@code promptLength + t}. The key of that position is part of the context the step attends: step
 * {@code t} sees {@link #contextSize(int) promptLength + t + 1} positions, as in a decode step where
 * the new token's key is appended before attention. Attention logits are {@code q · k / sqrt(headDim)}.
 *
 * <p><b>The model</b> (parameters in {@link WorkloadParams}; derivation, defaults and measured statistics
 * in {@code docs/SYNTHETIC_WORKLOAD.md}). Write {@code d = headDim}, {@code c = topicCoherence},
 * {@code s = sqrt(1 - c²)}, {@code P = promptLength}, {@code S = sinks}, {@code T = topics},
 * {@code M = needles}, {@code m = sinkNorm}, {@code c_s = 0.95} ({@link #SINK_COHERENCE}),
 * {@code s_s = sqrt(1 - c_s²) ≈ 0.312}.
 * <ul>
 * <li><b>Directions.</b> Semantic directions: a sink direction {@code ŝ}, topic directions
 * {@code u_1..u_T}, needle directions {@code v_1..v_M}. Each position {@code p} also has a private
 * direction {@code ε_p}. When {@code 1 + T + M <= d - }{@link #MIN_PRIVATE_DIMS}, the semantic
 * directions are orthonormal (Gram-Schmidt of Gaussian draws, so randomly oriented, never axis-aligned)
 * and each {@code ε_p} is uniform on the unit sphere of their orthogonal complement, of dimension
 * {@code d' = d - 1 - T - M}; the logits below are then exact up to the stated noise. Otherwise every
 * direction is an independent uniform unit vector ({@code d' = d}) and each semantic query component of
 * logit {@code λ} also leaks about {@code ±λ/sqrt(d)} into every other logit.
 * <li><b>Topics.</b> Positions {@code p >= S} carry a topic {@code z_p} from a sticky Markov chain:
 * {@code z_S} uniform; {@code z_p = z_(p-1)} with probability {@code 1 - 1/meanSegmentLength}, else a
 * uniformly chosen other topic. Segment lengths are therefore geometric with the given mean. The
 * chain runs on through the decode positions.
 * <li><b>Keys.</b> A topic position has {@code k_p = sqrt(d) · g_p · (c·u_(z_p) + s·ε_p)}, where the
 * salience {@code g_p = exp(σ_g·ξ_p - σ_g²/2)}, {@code ξ_p ~ N(0,1)}, {@code σ_g = salienceSpread}, has
 * mean 1: the same positions stay prominent at every step, like heavy hitters. A sink ({@code p < S})
 * has {@code k_p = sqrt(d) · m · (c_s·ŝ + s_s·ε_p)}: a large key along {@code ŝ}. Needle {@code j}
 * sits at a position drawn uniformly in the j-th of {@code M} equal strata of {@code [S, P)} and has
 * {@code k = sqrt(d) · (c·v_j + s·ε_p)}: a direction no other key shares. Ordinary keys thus have
 * channels of order 1 ({@code |k| = sqrt(d)·g_p}), sink keys {@code m} times larger.
 * <li><b>Values.</b> Independent {@code N(0, 1)} channels.
 * <li><b>Targets.</b> At each step each query head holds a target set: {@code topicsPerQuery}
 * distinct topics and at most one needle. At step 0, and afterwards with probability
 * {@code 1 - targetPersistence}, the head draws a new set: its first topic is the topic of the
 * query's own position with probability {@code recentTopicProbability} (recency of topic), else
 * uniform; further topics are uniform and distinct; with probability {@code needleProbability} it
 * also targets a uniformly chosen needle. The heads of the group (GQA) draw independently.
 * <li><b>Queries.</b> For the query at position {@code q} with topics {@code J} and needle {@code j}:
 * <pre>
 *   q_vec = sinkLogit / (m·c_s) · ŝ                                      (only if S > 0)
 *         + Σ_(i∈J) topicLogit / c · u_i
 *         + needleLogit / c · v_j                                        (only if a needle is targeted)
 *         + Σ_(Δ=0..W-1) recencyLogit · exp(-Δ/recencyScale) / a_(q-Δ) · ε_(q-Δ)
 *         + noiseLogit · sqrt(d') / s · η
 * </pre>
 * where {@code a_p} is the coefficient of {@code ε_p} in {@code k_p / sqrt(d)} ({@code g_p·s} for a
 * topic key, {@code m·s_s} for a sink, {@code s} for a needle), {@code W} is the smallest window beyond
 * which the recency bonus is below {@link #RECENCY_CUTOFF} nats, and {@code η} is a fresh private
 * direction (when not structured: a random unit vector orthogonal to {@code ŝ}, with
 * {@code noiseLogit · sqrt(d)} in place of {@code noiseLogit · sqrt(d') / s}).
 * </ul>
 * Hence the logit {@code q·k_p / sqrt(d)} is: {@code sinkLogit} for a sink; {@code g_p · topicLogit}
 * for a key of a targeted topic and 0 for other topic keys; {@code needleLogit} for the targeted needle
 * and 0 for other needles; plus {@code recencyLogit · exp(-Δ/recencyScale)} at distance {@code Δ} from
 * the query ({@code Δ = 0} is the query's own key); plus zero-mean noise of standard deviation
 * {@code noiseLogit · g_p} for a topic key ({@code noiseLogit · m·s_s/s} for a sink). The recency
 * term, a sum of private directions, also adds zero-mean cross-talk of standard deviation about
 * {@code a_p · |recency term| / sqrt(d')} (about {@code 0.7 · g_p} nats at the defaults).
 *
 * <p><b>Scale.</b> The logit knobs are in nats, chosen so that softmax is concentrated but not one-hot,
 * as in a real attention head. At the defaults and 4096 positions, on average about 20% of the mass
 * is on the 4 sinks, about 50% on the targeted topics (some 250 positions), about 9% on the last 8
 * positions and the rest spread thinly; the largest single weight averages about 0.2, the entropy
 * about 5 nats, and the top 5% of positions carry about 80% of the mass. A targeted needle ranks first
 * or second and takes about a third of the mass. Sinks and needles are single positions while topic
 * and background mass grow with the context, so their share falls as the context grows (sinks: about
 * 45% at 1k, 4% at 32k). Queries have norms of about 15.
 *
 * <p><b>Determinism.</b> Every draw comes from {@link java.util.SplittableRandom} streams derived from
 * {@link WorkloadParams#seed()}: one per position (its private direction, salience and value), one for
 * the directions, the topic chain, the needle positions and the queries; the arithmetic avoids
 * platform-dependent operations ({@code StrictMath}, fused multiply-add, no unordered reductions). The
 * same parameters give bit-identical arrays on any machine with the same JDK release (the Gaussian
 * sampler is the JDK's {@code SplittableRandom.nextGaussian()}); changing {@code steps} leaves the rows
 * of the earlier positions and the queries of the earlier steps unchanged. Generation is
 * {@code O(length · headDim · (1 + T + M))} when structured (projecting each private direction) and
 * {@code O(length · headDim)} otherwise; 32k positions of 128 channels take about a quarter of a second
 * once the JIT has warmed up.
 *
 * <p>For a model with several KV heads, generate one workload per KV head with different seeds.
 * Instances are immutable once built (the accessors that return arrays return the backing arrays,
 * which callers must not modify) and safe to share between threads.
 */
public final class SyntheticWorkload {

    /** Cosine between a sink key and the sink direction; sink keys are nearly all sink direction. */
    public static final double SINK_COHERENCE = 0.95;

    /** The recency bonus is dropped for distances where it falls below this many nats. */
    public static final double RECENCY_CUTOFF = 0.01;

    /**
     * Private directions need at least this many dimensions of their own: the semantic directions are
     * made orthonormal, and private directions orthogonal to them, only when
     * {@code 1 + topics + needles <= headDim - MIN_PRIVATE_DIMS}; otherwise all directions are independent
     * random unit vectors.
     */
    public static final int MIN_PRIVATE_DIMS = 16;

    /** What a position's key is drawn around. */
    public enum PositionKind {
        /** One of the first {@code sinks} positions: a large key along the sink direction. */
        SINK,
        /** A position of a topic segment: a key around its topic's direction. */
        TOPIC,
        /** A planted needle: a key along a direction of its own. */
        NEEDLE
    }

    private final WorkloadParams params;
    private final float[] keys;            // (length, headDim)
    private final float[] values;          // (length, headDim)
    private final float[][] queries;       // (steps) of (queryHeads, headDim)
    private final Queries[] queryViews;    // (steps) wrapping queries[t]
    private final int[] topicOf;           // (length) topic of a TOPIC position, -1 for sinks and needles
    private final int[] needlePositions;   // (needles) ascending
    private final int[] targetTopics;      // (steps, queryHeads, topicsPerQuery)
    private final int[] targetNeedle;      // (steps, queryHeads) needle index, or -1

    SyntheticWorkload(WorkloadParams params, float[] keys, float[] values, float[][] queries, int[] topicOf,
            int[] needlePositions, int[] targetTopics, int[] targetNeedle) {
        this.params = params;
        this.keys = keys;
        this.values = values;
        this.queries = queries;
        this.topicOf = topicOf;
        this.needlePositions = needlePositions;
        this.targetTopics = targetTopics;
        this.targetNeedle = targetNeedle;
        this.queryViews = new Queries[queries.length];
        for (int t = 0; t < queries.length; t++) {
            queryViews[t] = Queries.wrap(queries[t], params.queryHeads(), params.headDim());
        }
    }

    /**
     * Generates the workload the parameters describe.
     *
     * @param params the parameters, already validated by their constructor
     * @return the workload
     * @throws NullPointerException if {@code params} is null
     * @throws OutOfMemoryError     if the heap cannot hold {@code 2 · length · headDim} floats
     */
    public static SyntheticWorkload generate(WorkloadParams params) {
        return new WorkloadGenerator(Objects.requireNonNull(params, "params")).generate();
    }

    /** @return the parameters this workload was generated from */
    public WorkloadParams params() {
        return params;
    }

    /** @return total positions, {@code promptLength + steps} */
    public int length() {
        return params.length();
    }

    /** @return positions before the first decode step */
    public int promptLength() {
        return params.promptLength();
    }

    /** @return decode steps */
    public int steps() {
        return params.steps();
    }

    /** @return channels per key, value and query */
    public int headDim() {
        return params.headDim();
    }

    /** @return query heads per step */
    public int queryHeads() {
        return params.queryHeads();
    }

    /** @return the attention scale {@code 1 / sqrt(headDim)} the logit knobs assume */
    public double scale() {
        return 1.0 / Math.sqrt(params.headDim());
    }

    /**
     * The keys, shared, not copied; do not modify.
     *
     * @return {@code (length, headDim)} row-major, {@code keys[p * headDim + c]}
     */
    public float[] keys() {
        return keys;
    }

    /**
     * The values, shared, not copied; do not modify.
     *
     * @return {@code (length, headDim)} row-major, {@code values[p * headDim + c]}
     */
    public float[] values() {
        return values;
    }

    /**
     * @param size positions to show, {@code [0, length()]}
     * @return a key view of positions {@code [0, size)} over the shared key array
     * @throws IndexOutOfBoundsException if {@code size} is out of range
     */
    public KeyView keyView(int size) {
        Objects.checkIndex(size, length() + 1);
        return KeyView.of(keys, size, headDim());
    }

    /**
     * @param step a decode step in {@code [0, steps())}
     * @return the position of its query and of the key appended for it, {@code promptLength + step}
     * @throws IndexOutOfBoundsException if the step is out of range
     */
    public int position(int step) {
        Objects.checkIndex(step, steps());
        return promptLength() + step;
    }

    /**
     * @param step a decode step in {@code [0, steps())}
     * @return positions the step attends over, {@code promptLength + step + 1}
     * @throws IndexOutOfBoundsException if the step is out of range
     */
    public int contextSize(int step) {
        return position(step) + 1;
    }

    /**
     * @param step a decode step in {@code [0, steps())}
     * @return the step's queries, {@code (queryHeads, headDim)}; one shared instance per step
     * @throws IndexOutOfBoundsException if the step is out of range
     */
    public Queries queries(int step) {
        Objects.checkIndex(step, steps());
        return queryViews[step];
    }

    /**
     * The step's queries as the backing array, shared, not copied; do not modify. Head {@code h} starts
     * at offset {@code h * headDim}.
     *
     * @param step a decode step in {@code [0, steps())}
     * @return {@code (queryHeads, headDim)} row-major
     * @throws IndexOutOfBoundsException if the step is out of range
     */
    public float[] queryArray(int step) {
        Objects.checkIndex(step, steps());
        return queries[step];
    }

    /**
     * Appends the prompt, positions {@code [0, promptLength)}, to an empty shard.
     *
     * @param shard an empty shard with this workload's {@code headDim}
     * @throws IllegalArgumentException if the shard's {@code headDim} differs
     * @throws IllegalStateException    if the shard is not empty
     */
    public void appendPrompt(KvShard shard) {
        checkShard(shard, 0);
        shard.appendAll(keys, values, promptLength());
    }

    /**
     * Appends the key and value of a decode step's position, which must be the shard's next position.
     * Call it before attending at that step.
     *
     * @param shard a shard holding positions {@code [0, position(step))}
     * @param step  a decode step in {@code [0, steps())}
     * @return the appended position
     * @throws IndexOutOfBoundsException if the step is out of range
     * @throws IllegalArgumentException  if the shard's {@code headDim} differs
     * @throws IllegalStateException     if the shard does not hold exactly the positions before the step's
     */
    public int appendStep(KvShard shard, int step) {
        int p = position(step);
        checkShard(shard, p);
        int off = p * headDim();
        return shard.append(keys, off, values, off);
    }

    private void checkShard(KvShard shard, int expectedSize) {
        Objects.requireNonNull(shard, "shard");
        if (shard.headDim() != headDim()) {
            throw new IllegalArgumentException("shard headDim " + shard.headDim() + " differs from the workload's "
                    + headDim());
        }
        if (shard.size() != expectedSize) {
            throw new IllegalStateException("shard must hold " + expectedSize + " positions before this append, held "
                    + shard.size());
        }
    }

    /**
     * @param position a position in {@code [0, length())}
     * @return what its key is drawn around
     * @throws IndexOutOfBoundsException if the position is out of range
     */
    public PositionKind kindOf(int position) {
        Objects.checkIndex(position, length());
        if (position < params.sinks()) {
            return PositionKind.SINK;
        }
        return topicOf[position] < 0 ? PositionKind.NEEDLE : PositionKind.TOPIC;
    }

    /**
     * @param position a position in {@code [0, length())}
     * @return the topic its key is drawn around, in {@code [0, topics)}, or -1 for a sink or a needle
     * @throws IndexOutOfBoundsException if the position is out of range
     */
    public int topicOf(int position) {
        Objects.checkIndex(position, length());
        return topicOf[position];
    }

    /** @return the needle positions, ascending, a copy; needle {@code j} is at index {@code j} */
    public int[] needlePositions() {
        return needlePositions.clone();
    }

    /**
     * @param step a decode step in {@code [0, steps())}
     * @param head a query head in {@code [0, queryHeads())}
     * @return the topics the head's query targets at that step, the first possibly its own segment's; a copy
     * @throws IndexOutOfBoundsException if an index is out of range
     */
    public int[] targetTopics(int step, int head) {
        int k = params.topicsPerQuery();
        int base = slot(step, head) * k;
        return Arrays.copyOfRange(targetTopics, base, base + k);
    }

    /**
     * @param step a decode step in {@code [0, steps())}
     * @param head a query head in {@code [0, queryHeads())}
     * @return the position of the needle the head's query targets at that step, or -1 if none
     * @throws IndexOutOfBoundsException if an index is out of range
     */
    public int targetNeedle(int step, int head) {
        int j = targetNeedle[slot(step, head)];
        return j < 0 ? -1 : needlePositions[j];
    }

    private int slot(int step, int head) {
        Objects.checkIndex(step, steps());
        Objects.checkIndex(head, queryHeads());
        return step * queryHeads() + head;
    }

    @Override
    public String toString() {
        return "SyntheticWorkload[length=" + length() + ", prompt=" + promptLength() + ", steps=" + steps()
                + ", headDim=" + headDim() + ", queryHeads=" + queryHeads() + ", seed=" + params.seed() + "]";
    }
}

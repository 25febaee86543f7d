package io.clusterkv.runtime.synthetic;

/**
 * The knobs of a {@link SyntheticWorkload}: shape, topic structure, attention sinks, needles, what
 * queries target, recency and noise. The model they drive, with its equations, is described in
 * {@link SyntheticWorkload} and in {@code docs/SYNTHETIC_WORKLOAD.md}.
 *
 * <p>Logit knobs ({@code *Logit}) are in nats: the expected {@code q · k / sqrt(headDim)} that a key of
 * the named kind contributes for a query that targets it, before the per-position salience factor.
 * Start from {@link #defaults()} and change what the experiment needs with the {@code with*} methods;
 * each returns a new, validated record. Cross-field rules ({@code needles <= promptLength - sinks},
 * {@code topicsPerQuery <= topics}) are checked on every construction, so change the fields in an
 * order that keeps each intermediate record valid.
 *
 * @param seed                   seed of every random draw; the same parameters give bit-identical arrays
 * @param promptLength           positions written before the first decode step, {@code >= 1} (default 4096)
 * @param steps                  decode steps, each appending one position, {@code >= 0} (default 64)
 * @param headDim                channels per key, value and query, {@code >= 2} (default 128)
 * @param queryHeads             query heads served by the KV head (the GQA group size), {@code >= 1}
 *                               (default 4)
 * @param topics                 semantic directions keys are drawn around, {@code >= 1} (default 32)
 * @param meanSegmentLength      mean length of a run of positions sharing a topic, {@code >= 1}
 *                               (default 64)
 * @param topicCoherence         cosine between a topic key and its topic direction, in {@code (0, 1)}
 *                               (default 0.75)
 * @param salienceSpread         standard deviation of the log of a topic key's norm factor,
 *                               {@code [0, 2]} (default 0.25)
 * @param sinks                  attention-sink positions at the start, {@code >= 0} (default 4)
 * @param sinkNorm               norm of a sink key relative to an ordinary key, {@code >= 1} (default 3)
 * @param sinkLogit              logit of a sink key for every query (default 7)
 * @param needles                isolated needle positions planted in the prompt, {@code >= 0}
 *                               (default 8)
 * @param needleLogit            logit of a needle for a query that targets it (default 9)
 * @param needleProbability      chance that a newly drawn target set includes a needle, {@code [0, 1]}
 *                               (default 0.1)
 * @param topicsPerQuery         topics a query head targets at once, {@code [1, topics]} (default 2)
 * @param topicLogit             logit of a unit-salience key of a targeted topic (default 3.5)
 * @param recentTopicProbability chance that a newly drawn target set starts with the topic of the
 *                               query's own segment, {@code [0, 1]} (default 0.5)
 * @param targetPersistence      chance that a head keeps its previous step's targets, {@code [0, 1]}
 *                               (default 0.75)
 * @param recencyLogit           logit bonus of the query's own position, decaying with distance,
 *                               {@code >= 0} (default 6)
 * @param recencyScale           distance, in positions, over which the recency bonus falls by
 *                               {@code e}, {@code > 0} (default 16)
 * @param noiseLogit             standard deviation of the per-position logit noise, {@code >= 0}
 *                               (default 0.5)
 */
public record WorkloadParams(
        long seed,
        int promptLength,
        int steps,
        int headDim,
        int queryHeads,
        int topics,
        double meanSegmentLength,
        double topicCoherence,
        double salienceSpread,
        int sinks,
        double sinkNorm,
        double sinkLogit,
        int needles,
        double needleLogit,
        double needleProbability,
        int topicsPerQuery,
        double topicLogit,
        double recentTopicProbability,
        double targetPersistence,
        double recencyLogit,
        double recencyScale,
        double noiseLogit) {

    /** Upper bound of {@code (promptLength + steps) * headDim}: one Java array holds keys or values. */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8L;

    /** Bound on the magnitude of every logit knob, so that {@code exp} stays finite in float. */
    public static final double MAX_LOGIT = 60.0;

    /**
     * Validates every field; the message names the field, the value and the expectation.
     *
     * @throws IllegalArgumentException if a field is out of range or fields contradict each other
     */
    public WorkloadParams {
        atLeast("promptLength", promptLength, 1);
        atLeast("steps", steps, 0);
        atLeast("headDim", headDim, 2);
        atLeast("queryHeads", queryHeads, 1);
        atLeast("topics", topics, 1);
        atLeast("sinks", sinks, 0);
        atLeast("needles", needles, 0);
        if ((long) promptLength + steps > Integer.MAX_VALUE
                || ((long) promptLength + steps) * headDim > MAX_ELEMENTS) {
            throw new IllegalArgumentException("(promptLength + steps) * headDim must be <= " + MAX_ELEMENTS
                    + " to fit one array, was (" + promptLength + " + " + steps + ") * " + headDim);
        }
        if (sinks > promptLength) {
            throw new IllegalArgumentException("sinks must be <= promptLength (" + promptLength + "), was " + sinks);
        }
        if (needles > promptLength - sinks) {
            throw new IllegalArgumentException("needles must be <= promptLength - sinks (" + (promptLength - sinks)
                    + ") so that each has its own prompt position, was " + needles);
        }
        if (topicsPerQuery < 1 || topicsPerQuery > topics) {
            throw new IllegalArgumentException("topicsPerQuery must be in [1, topics = " + topics + "], was "
                    + topicsPerQuery);
        }
        inRange("meanSegmentLength", meanSegmentLength, 1, 1e9);
        if (!(topicCoherence > 0 && topicCoherence < 1)) {
            throw new IllegalArgumentException("topicCoherence must be in (0, 1), was " + topicCoherence);
        }
        inRange("salienceSpread", salienceSpread, 0, 2);
        inRange("sinkNorm", sinkNorm, 1, 1e3);
        inRange("sinkLogit", sinkLogit, -MAX_LOGIT, MAX_LOGIT);
        inRange("needleLogit", needleLogit, -MAX_LOGIT, MAX_LOGIT);
        inRange("needleProbability", needleProbability, 0, 1);
        inRange("topicLogit", topicLogit, -MAX_LOGIT, MAX_LOGIT);
        inRange("recentTopicProbability", recentTopicProbability, 0, 1);
        inRange("targetPersistence", targetPersistence, 0, 1);
        inRange("recencyLogit", recencyLogit, 0, MAX_LOGIT);
        if (!(recencyScale > 0 && recencyScale <= 1e6)) {
            throw new IllegalArgumentException("recencyScale must be in (0, 1e6] positions, was " + recencyScale);
        }
        inRange("noiseLogit", noiseLogit, 0, 10);
    }

    /**
     * The defaults: a 4096-position prompt and 64 decode steps, {@code headDim} 128, 4 query heads per KV
     * head, 32 topics in segments of 64 positions on average, 4 sinks, 8 needles. At this length a query
     * puts about a fifth of its attention on the sinks, about half on its targeted topics and the rest on
     * recent and background positions; the entropy is about 5 nats and the top 5% of positions carry
     * about 80% of the mass (see {@code docs/SYNTHETIC_WORKLOAD.md} for measured figures at other
     * lengths).
     *
     * @return the default parameters, seed 42
     */
    public static WorkloadParams defaults() {
        return new WorkloadParams(42L, 4096, 64, 128, 4,
                32, 64.0, 0.75, 0.2,
                4, 3.0, 7.0,
                8, 10.0, 0.1,
                2, 3.5, 0.5, 0.75,
                5.0, 2.0, 0.5);
    }

    /** @return the total number of positions, {@code promptLength + steps} */
    public int length() {
        return promptLength + steps;
    }

    private static void atLeast(String name, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException(name + " must be >= " + min + ", was " + value);
        }
    }

    private static void inRange(String name, double value, double min, double max) {
        if (!(value >= min && value <= max)) { // also rejects NaN
            throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], was " + value);
        }
    }

    // ---- withers: each returns a validated copy with one field changed ----

    /**
     * Returns a copy with {@link #seed()} changed.
     *
     * @param v the new the seed
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withSeed(long v) {
        return new WorkloadParams(v, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #promptLength()} changed.
     *
     * @param v the new prompt positions
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withPromptLength(int v) {
        return new WorkloadParams(seed, v, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #steps()} changed.
     *
     * @param v the new decode steps
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withSteps(int v) {
        return new WorkloadParams(seed, promptLength, v, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #headDim()} changed.
     *
     * @param v the new channels per head
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withHeadDim(int v) {
        return new WorkloadParams(seed, promptLength, steps, v, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #queryHeads()} changed.
     *
     * @param v the new query heads per KV head
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withQueryHeads(int v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, v, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #topics()} changed.
     *
     * @param v the new topics
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withTopics(int v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, v, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #meanSegmentLength()} changed.
     *
     * @param v the new mean segment length
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withMeanSegmentLength(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, v,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #topicCoherence()} changed.
     *
     * @param v the new topic coherence
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withTopicCoherence(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                v, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #salienceSpread()} changed.
     *
     * @param v the new salience spread
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withSalienceSpread(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, v, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #sinks()} changed.
     *
     * @param v the new sink positions
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withSinks(int v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, v, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #sinkNorm()} changed.
     *
     * @param v the new sink key norm factor
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withSinkNorm(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, v, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #sinkLogit()} changed.
     *
     * @param v the new sink logit
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withSinkLogit(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, v, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #needles()} changed.
     *
     * @param v the new needle positions
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withNeedles(int v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, v, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #needleLogit()} changed.
     *
     * @param v the new needle logit
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withNeedleLogit(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, v, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #needleProbability()} changed.
     *
     * @param v the new needle probability
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withNeedleProbability(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, v,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #topicsPerQuery()} changed.
     *
     * @param v the new topics per query
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withTopicsPerQuery(int v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                v, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #topicLogit()} changed.
     *
     * @param v the new topic logit
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withTopicLogit(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, v, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #recentTopicProbability()} changed.
     *
     * @param v the new recent-topic probability
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withRecentTopicProbability(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, v, targetPersistence, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #targetPersistence()} changed.
     *
     * @param v the new target persistence
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withTargetPersistence(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, v, recencyLogit, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #recencyLogit()} changed.
     *
     * @param v the new recency logit
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withRecencyLogit(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, v, recencyScale,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #recencyScale()} changed.
     *
     * @param v the new recency scale
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withRecencyScale(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, v,
                noiseLogit);
    }

    /**
     * Returns a copy with {@link #noiseLogit()} changed.
     *
     * @param v the new noise logit
     * @return the validated copy
     * @throws IllegalArgumentException if the copy is invalid
     */
    public WorkloadParams withNoiseLogit(double v) {
        return new WorkloadParams(seed, promptLength, steps, headDim, queryHeads, topics, meanSegmentLength,
                topicCoherence, salienceSpread, sinks, sinkNorm, sinkLogit, needles, needleLogit, needleProbability,
                topicsPerQuery, topicLogit, recentTopicProbability, targetPersistence, recencyLogit, recencyScale,
                v);
    }
}

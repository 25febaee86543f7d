package io.clusterkv.runtime.decode;

import io.clusterkv.runtime.model.LlamaModel;
import io.clusterkv.runtime.model.ModelConfig;
import io.clusterkv.runtime.model.Models;
import io.clusterkv.runtime.model.Sampler;
import io.clusterkv.runtime.model.RopeLayout;
import io.clusterkv.runtime.model.fixtures.TestModelFiles;
import io.clusterkv.runtime.model.fixtures.ReferenceLlama2c;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The runtime's float32 forward pass on stories260K (llama2.c format) against an independent float64
 * reference and against the tokens llama2.c's {@code run.c} prints (a test resource): greedy decoding
 * from BOS must agree token for token, and logits closely.
 */
class Stories260KTest {

    static final int BOS = 1;
    static final int STEPS = 500;

    static Path file;
    static int[] referenceTokens;       // (STEPS) greedy tokens of the reference
    static double[] referenceMargins;   // (STEPS) top-1 minus top-2 logit of the reference
    static double[][] referenceLogits;  // (20, vocab)
    static int[] runtimeTokens;         // (STEPS) the runtime's greedy generate() from BOS

    @BeforeAll
    static void reference() throws Exception {
        file = TestModelFiles.stories260K();
        ReferenceLlama2c ref = new ReferenceLlama2c(file);
        referenceTokens = new int[STEPS];
        referenceMargins = new double[STEPS];
        referenceLogits = new double[20][];
        int token = BOS;
        for (int pos = 0; pos < STEPS; pos++) {
            double[] logits = ref.forward(token, pos);
            if (pos < 20) {
                referenceLogits[pos] = logits;
            }
            int best = 0;
            for (int i = 1; i < logits.length; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            double second = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < logits.length; i++) {
                if (i != best) {
                    second = Math.max(second, logits[i]);
                }
            }
            referenceTokens[pos] = best;
            referenceMargins[pos] = logits[best] - second;
            token = best;
        }
        try (LlamaModel m = Models.load(file.toString()); ReferenceDecoder g = ReferenceDecoder.create(m, null)) {
            // run.c stops at BOS; none comes up in these 500 tokens, so generate() runs them all
            assertArrayEquals(new int[] {1, 2}, m.stopTokens());
            runtimeTokens = g.generate(new int[] {BOS}, STEPS, Sampler.greedy(), t -> { });
        }
    }

    @Test
    void headerBecomesTheConfig() throws Exception {
        try (LlamaModel m = Models.load(file.toString())) {
            ModelConfig c = m.config();
            assertEquals(64, c.dim());
            assertEquals(172, c.hiddenDim());
            assertEquals(5, c.layers());
            assertEquals(8, c.heads());
            assertEquals(4, c.kvHeads());
            assertEquals(8, c.headDim());
            assertEquals(512, c.vocab());
            assertEquals(512, c.contextLength());
            assertTrue(c.tiedOutput());
            assertEquals(RopeLayout.ADJACENT_PAIRS, c.ropeLayout());
            assertTrue(m.output() == m.tokenEmbedding(), "the classifier is the embedding");
        }
    }

    @Test
    void greedyFromBosMatchesTheFloat64ReferenceFor500Tokens() {
        for (int pos = 0; pos < STEPS; pos++) {
            if (runtimeTokens[pos] != referenceTokens[pos]) {
                double minMargin = Double.MAX_VALUE;
                for (int p = 0; p <= pos; p++) {
                    minMargin = Math.min(minMargin, referenceMargins[p]);
                }
                throw new AssertionError("greedy tokens diverge at step " + pos + ": runtime " + runtimeTokens[pos]
                        + ", reference " + referenceTokens[pos] + " (reference top-2 margin there "
                        + referenceMargins[pos] + ", smallest so far " + minMargin + ")");
            }
        }
        double minMargin = java.util.Arrays.stream(referenceMargins).min().orElseThrow();
        System.out.println("stories260K: 500 greedy tokens match; smallest reference top-2 margin " + minMargin
                + "; first tokens " + java.util.Arrays.toString(java.util.Arrays.copyOf(runtimeTokens, 16)));
    }

    /** @return the {@value #STEPS} greedy tokens llama2.c's run.c prints from BOS (a test resource) */
    static int[] runCTokens() throws java.io.IOException {
        String text;
        try (var in = Stories260KTest.class.getResourceAsStream("stories260K-greedy-run-c.txt")) {
            text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
        }
        return text.lines().filter(l -> !l.startsWith("#") && !l.isBlank())
                .flatMap(l -> java.util.Arrays.stream(l.split(","))).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
    }

    @Test
    void greedyFromBosMatchesLlama2cRunC() throws Exception {
        int[] runC = runCTokens();
        assertEquals(STEPS, runC.length);
        assertArrayEquals(runC, referenceTokens, "the float64 reference agrees with run.c");
        assertArrayEquals(runC, runtimeTokens, "the runtime agrees with run.c");
    }

    @Test
    void logitsOfTheFirst20StepsMatchTheReference() throws Exception {
        double worst = 0;
        try (LlamaModel m = Models.load(file.toString()); ReferenceDecoder g = ReferenceDecoder.create(m, null)) {
            int token = BOS;
            for (int pos = 0; pos < 20; pos++) {
                float[] logits = g.next(token);
                for (int i = 0; i < logits.length; i++) {
                    double d = Math.abs(logits[i] - referenceLogits[pos][i]);
                    worst = Math.max(worst, d);
                    if (d > 1e-4 * Math.max(1, Math.abs(referenceLogits[pos][i]))) {
                        throw new AssertionError("step " + pos + " logit " + i + ": runtime " + logits[i]
                                + ", reference " + referenceLogits[pos][i]);
                    }
                }
                token = referenceTokens[pos];
            }
        }
        System.out.println("stories260K: worst |logit - float64 reference| over 20 steps = " + worst);
    }
}

package io.clusterkv.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.clusterkv.runtime.tensor.GgmlType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code synthetic:retrieval} checked against its construction's claims with independent code: the
 * codes' coherence and the positional heads' margins computed directly from their definitions, and the
 * model run by a naive decoder (plain double-precision softmax attention over every position) that
 * can leave positions out.
 */
class RetrievalModelTest {

    private static LlamaModel model;

    @BeforeAll
    static void open() {
        model = SyntheticModels.create(RetrievalModel.NAME, GgmlType.F32, 0);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void matchCodesAreUnitAndAtMostOneOverSqrt17ApartFromEachOther() {
        float[][] c = RetrievalModel.codes(17);
        double bound = 1 / Math.sqrt(17) + 1e-6;
        for (int i = 0; i < c.length; i++) {
            assertEquals(1.0, dot(c[i], c[i]), 1e-5);
            for (int j = i + 1; j < c.length; j++) {
                double d = Math.abs(dot(c[i], c[j]));
                assertTrue(d <= bound, "codes " + i + ", " + j + ": " + d);
            }
        }
    }

    @Test
    void positionalHeadsPeakAtTheirDistanceByAtLeastNinePercentOverTheWholeContext() {
        Rope rope = model.rope();
        int pairs = RetrievalModel.POSITIONAL_PAIRS;
        for (int distance = 1; distance <= 2; distance++) {
            double worst = Double.NEGATIVE_INFINITY;
            for (int d = 0; d < model.config().contextLength(); d++) {
                if (d == distance) {
                    continue;
                }
                double s = 0;
                for (int j = 0; j < pairs; j++) {
                    s += Math.cos((d - distance) * rope.inverseFrequency(j));
                }
                worst = Math.max(worst, s / pairs);
            }
            assertTrue(worst < 1 - 0.09, "distance " + distance + ": a competitor reaches " + worst + " of the peak");
        }
        // and the content pairs turn by less than 2e-4 radians over the whole context
        for (int j = pairs; j < model.config().headDim() / 2; j++) {
            assertTrue(rope.inverseFrequency(j) * model.config().contextLength() < 2e-4, "pair " + j);
        }
    }

    @Test
    void answersThePasskeyAndNothingWithoutTheNeedle() {
        SplittableRandom r = new SplittableRandom(7);
        for (int trial = 0; trial < 3; trial++) {
            int[] digits = {1 + r.nextInt(9), r.nextInt(10), r.nextInt(10), r.nextInt(10), r.nextInt(10)};
            String d = String.join(" ", Arrays.stream(digits).mapToObj(Integer::toString).toList());
            if (hasRepeatedBigram(digits)) {
                continue;
            }
            List<Integer> prompt = new ArrayList<>();
            prompt.add(RetrievalVocabulary.BOS);
            add(prompt, "there is an important info hidden inside a lot of irrelevant text . find it and memorize them .");
            int needleAt = 100 + r.nextInt(300);
            String filler = "the grass is green . the sky is blue . the sun is yellow . here we go . there and back again .";
            while (prompt.size() < needleAt) {
                add(prompt, filler);
            }
            int needleStart = prompt.size();
            add(prompt, "the pass key is " + d + " . remember it . " + d + " is the pass key .");
            int needleEnd = prompt.size();
            while (prompt.size() < 600) {
                add(prompt, filler);
            }
            add(prompt, "what is the pass key ? the pass key is");
            int[] ids = prompt.stream().mapToInt(Integer::intValue).toArray();
            int[] expected = RetrievalVocabulary.ids(d);

            assertArrayEquals(expected, greedy(ids, 5, new BitSet()), "passkey " + d);
            BitSet dropped = new BitSet();
            dropped.set(needleStart, needleEnd);
            int[] without = greedy(ids, 1, dropped);
            assertEquals(RetrievalVocabulary.EOS, without[0], "without the needle the model must not answer");
        }
    }

    @Test
    void theExportedGgufAnswersTheSame(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = GgufModelWriter.of(model).write(dir.resolve("retrieval.gguf"));
        List<Integer> prompt = new ArrayList<>();
        prompt.add(RetrievalVocabulary.BOS);
        String filler = "the grass is green . the sky is blue . the sun is yellow . here we go . there and back again .";
        add(prompt, filler);
        add(prompt, "one of the special magic numbers for k17 is v03 v41 v09 .");
        add(prompt, "one of the special magic numbers for k05 is v11 v12 v13 .");
        while (prompt.size() < 300) {
            add(prompt, filler);
        }
        add(prompt, "what is the special magic number for k17 mentioned in the provided text ? the special magic number for k17 is");
        int[] ids = prompt.stream().mapToInt(Integer::intValue).toArray();
        int[] expected = RetrievalVocabulary.ids("v03 v41 v09");
        assertArrayEquals(expected, greedy(ids, 3, new BitSet()));
        LlamaModel inMemory = model;
        try (LlamaModel loaded = Models.load(file)) {
            assertArrayEquals(RetrievalModel.frequencyFactors(RetrievalModel.CONFIG),
                    GgufModelWriter.ropeFreqFactors(loaded));
            model = loaded;
            assertArrayEquals(expected, greedy(ids, 3, new BitSet()));
        } finally {
            model = inMemory;
        }
    }

    @Test
    void followsAVariableChainBackwards() {
        List<Integer> prompt = new ArrayList<>();
        prompt.add(RetrievalVocabulary.BOS);
        add(prompt, "memorize and track the chain of variable assignment hidden in the following text .");
        String filler = "the grass is green . the sky is blue . the sun is yellow . here we go . there and back again .";
        String[] chain = {"var x03 = v07 .", "var x11 = x03 .", "var x40 = x11 .", "var x09 = x40 .", "var x22 = x09 ."};
        String[] other = {"var x05 = v30 .", "var x06 = x05 .", "var x07 = x06 ."};
        for (int i = 0; i < chain.length; i++) {
            add(prompt, filler);
            add(prompt, chain[i]);
            if (i < other.length) {
                add(prompt, filler);
                add(prompt, other[i]);
            }
        }
        add(prompt, filler);
        add(prompt, "question : find all variables that are assigned the value v07");
        int[] ids = prompt.stream().mapToInt(Integer::intValue).toArray();
        assertArrayEquals(RetrievalVocabulary.ids("x03 x11 x40 x09 x22 </s>"), greedy(ids, 6, new BitSet()));
        // without the statement "var x40 = x11 ." the chain ends at x11
        int[] statement = RetrievalVocabulary.ids("var x40 = x11 .");
        int at = -1;
        for (int i = 0; i + statement.length <= ids.length && at < 0; i++) {
            at = Arrays.equals(ids, i, i + statement.length, statement, 0, statement.length) ? i : -1;
        }
        BitSet dropped = new BitSet();
        dropped.set(at, at + statement.length);
        assertArrayEquals(RetrievalVocabulary.ids("x03 x11 </s>"), greedy(ids, 3, dropped));
    }

    // ---- a naive decoder: the model's own forward pass, attention in double precision over kept positions ----

    private static int[] greedy(int[] prompt, int n, BitSet dropped) {
        ModelConfig c = model.config();
        ForwardPass pass = new ForwardPass(model, null);
        int hd = c.headDim(), group = c.groupSize();
        int total = prompt.length + n;
        float[][][] keys = new float[c.layers()][total][];
        float[][][] values = new float[c.layers()][total][];
        int[] out = new int[n];
        int produced = 0;
        int token = prompt[0];
        for (int pos = 0; produced < n; pos++) {
            pass.begin(token, pos);
            do {
                int l = pass.layer();
                keys[l][pos] = pass.k().clone();
                values[l][pos] = pass.v().clone();
                attend(pass, keys[l], values[l], pos, hd, group, c.heads(), dropped);
            } while (pass.nextLayer());
            float[] logits = pass.logits();
            if (pos + 1 < prompt.length) {
                token = prompt[pos + 1];
            } else {
                token = Sampler.argmax(logits);
                out[produced++] = token;
            }
        }
        return out;
    }

    private static void attend(ForwardPass pass, float[][] keys, float[][] values, int pos, int hd, int group,
                               int heads, BitSet dropped) {
        float[] att = pass.att();
        for (int h = 0; h < heads; h++) {
            int kvh = h / group;
            double max = Double.NEGATIVE_INFINITY;
            double[] s = new double[pos + 1];
            for (int p = 0; p <= pos; p++) {
                if (dropped.get(p)) {
                    s[p] = Double.NEGATIVE_INFINITY;
                    continue;
                }
                double d = 0;
                for (int i = 0; i < hd; i++) {
                    d += (double) pass.q()[h * hd + i] * keys[p][kvh * hd + i];
                }
                s[p] = d / Math.sqrt(hd);
                max = Math.max(max, s[p]);
            }
            double sum = 0;
            double[] o = new double[hd];
            for (int p = 0; p <= pos; p++) {
                if (s[p] == Double.NEGATIVE_INFINITY) {
                    continue;
                }
                double w = Math.exp(s[p] - max);
                sum += w;
                for (int i = 0; i < hd; i++) {
                    o[i] += w * values[p][kvh * hd + i];
                }
            }
            for (int i = 0; i < hd; i++) {
                att[h * hd + i] = (float) (o[i] / sum);
            }
        }
    }

    private static boolean hasRepeatedBigram(int[] d) {
        for (int i = 0; i + 1 < d.length; i++) {
            for (int j = i + 1; j + 1 < d.length; j++) {
                if (d[i] == d[j] && d[i + 1] == d[j + 1]) {
                    return true;
                }
            }
        }
        return false;
    }

    private static void add(List<Integer> to, String words) {
        for (int id : RetrievalVocabulary.ids(words)) {
            to.add(id);
        }
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }
}

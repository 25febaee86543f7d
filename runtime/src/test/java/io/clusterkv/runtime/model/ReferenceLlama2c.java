package io.clusterkv.runtime.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A float64 reference of llama2.c's {@code run.c} forward pass, written independently of the runtime:
 * its own reader, plain double arrays, naive loops. Slow and simple on purpose.
 */
final class ReferenceLlama2c {

    final int dim, hidden, layers, heads, kvHeads, vocab, seqLen, headSize, kvDim;
    final double[][] embedding;                 // (vocab, dim)
    final double[][] rmsAtt, rmsFfn;            // (layers, dim)
    final double[][][] wq, wk, wv, wo;          // (layers, out, in)
    final double[][][] w1, w2, w3;              // (layers, out, in)
    final double[] rmsFinal;                    // (dim)
    final double[][] wcls;                      // (vocab, dim)
    final double[][][] keyCache, valueCache;    // (layers, seqLen, kvDim)

    ReferenceLlama2c(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        dim = b.getInt();
        hidden = b.getInt();
        layers = b.getInt();
        heads = b.getInt();
        kvHeads = b.getInt();
        int v = b.getInt();
        vocab = Math.abs(v);
        seqLen = b.getInt();
        headSize = dim / heads;
        kvDim = headSize * kvHeads;
        embedding = mat(b, vocab, dim);
        rmsAtt = mat(b, layers, dim);
        wq = mats(b, layers, dim, dim);
        wk = mats(b, layers, kvDim, dim);
        wv = mats(b, layers, kvDim, dim);
        wo = mats(b, layers, dim, dim);
        rmsFfn = mat(b, layers, dim);
        w1 = mats(b, layers, hidden, dim);
        w2 = mats(b, layers, dim, hidden);
        w3 = mats(b, layers, hidden, dim);
        rmsFinal = mat(b, 1, dim)[0];
        b.position(b.position() + seqLen * headSize * 4); // freq_cis_real, freq_cis_imag
        wcls = v > 0 ? embedding : mat(b, vocab, dim);
        keyCache = new double[layers][seqLen][];
        valueCache = new double[layers][seqLen][];
    }

    private static double[][] mat(ByteBuffer b, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                m[r][c] = b.getFloat();
            }
        }
        return m;
    }

    private static double[][][] mats(ByteBuffer b, int n, int rows, int cols) {
        double[][][] m = new double[n][][];
        for (int i = 0; i < n; i++) {
            m[i] = mat(b, rows, cols);
        }
        return m;
    }

    private static double[] matvec(double[][] w, double[] x) {
        double[] out = new double[w.length];
        for (int r = 0; r < w.length; r++) {
            double s = 0;
            for (int c = 0; c < x.length; c++) {
                s += w[r][c] * x[c];
            }
            out[r] = s;
        }
        return out;
    }

    private static double[] rmsnorm(double[] x, double[] w) {
        double ss = 0;
        for (double a : x) {
            ss += a * a;
        }
        double r = 1 / Math.sqrt(ss / x.length + 1e-5);
        double[] o = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            o[i] = w[i] * r * x[i];
        }
        return o;
    }

    /** Rotates pairs (i, i+1) of each head by pos * 10000^(-(i mod headSize) / headSize). */
    private void rope(double[] v, int pos) {
        for (int i = 0; i < v.length; i += 2) {
            double freq = Math.pow(10000.0, -(double) (i % headSize) / headSize);
            double a = pos * freq;
            double c = Math.cos(a);
            double s = Math.sin(a);
            double x0 = v[i];
            double x1 = v[i + 1];
            v[i] = x0 * c - x1 * s;
            v[i + 1] = x0 * s + x1 * c;
        }
    }

    double[] forward(int token, int pos) {
        double[] x = embedding[token].clone();
        int group = heads / kvHeads;
        for (int l = 0; l < layers; l++) {
            double[] xb = rmsnorm(x, rmsAtt[l]);
            double[] q = matvec(wq[l], xb);
            double[] k = matvec(wk[l], xb);
            double[] v = matvec(wv[l], xb);
            rope(q, pos);
            rope(k, pos);
            keyCache[l][pos] = k;
            valueCache[l][pos] = v;
            double[] att = new double[dim];
            for (int h = 0; h < heads; h++) {
                int kvOff = (h / group) * headSize;
                double[] scores = new double[pos + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t <= pos; t++) {
                    double s = 0;
                    for (int i = 0; i < headSize; i++) {
                        s += q[h * headSize + i] * keyCache[l][t][kvOff + i];
                    }
                    scores[t] = s / Math.sqrt(headSize);
                    max = Math.max(max, scores[t]);
                }
                double sum = 0;
                for (int t = 0; t <= pos; t++) {
                    scores[t] = Math.exp(scores[t] - max);
                    sum += scores[t];
                }
                for (int t = 0; t <= pos; t++) {
                    for (int i = 0; i < headSize; i++) {
                        att[h * headSize + i] += scores[t] / sum * valueCache[l][t][kvOff + i];
                    }
                }
            }
            double[] o = matvec(wo[l], att);
            for (int i = 0; i < dim; i++) {
                x[i] += o[i];
            }
            xb = rmsnorm(x, rmsFfn[l]);
            double[] g = matvec(w1[l], xb);
            double[] u = matvec(w3[l], xb);
            for (int i = 0; i < hidden; i++) {
                g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
            }
            double[] d = matvec(w2[l], g);
            for (int i = 0; i < dim; i++) {
                x[i] += d[i];
            }
        }
        return matvec(wcls, rmsnorm(x, rmsFinal));
    }
}

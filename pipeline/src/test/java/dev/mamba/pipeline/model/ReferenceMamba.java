package dev.mamba.pipeline.model;

import dev.mamba.pipeline.checkpoint.MambaWeights;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;

/**
 * An independent, deliberately plain double-precision Mamba-1 forward over one whole sequence,
 * written from the equations (HF MambaMixer.slow_forward), to check the backend-based model.
 */
final class ReferenceMamba {
    private ReferenceMamba() {
    }

    /** Final hidden states [L][H] after norm_f; tokens or features [L][k]. */
    static double[][] hidden(MambaWeights w, int[] tokens, float[][] features) {
        MambaConfig c = w.config;
        int len = c.family == ModelFamily.TOKENS ? tokens.length : features.length;
        int hs = c.hiddenSize, d = c.intermediateSize, n = c.stateSize, k = c.convKernel, r = c.timeStepRank;
        double[][] h = new double[len][hs];
        for (int t = 0; t < len; t++) {
            if (c.family == ModelFamily.TOKENS) {
                for (int j = 0; j < hs; j++) {
                    h[t][j] = w.embeddings.data[tokens[t] * hs + j];
                }
            } else {
                int kin = c.inputFeatures;
                for (int j = 0; j < hs; j++) {
                    double s = w.inputProjBias.data[j];
                    for (int q = 0; q < kin; q++) {
                        s += w.inputProjWeight.data[j * kin + q] * features[t][q];
                    }
                    h[t][j] = s;
                }
            }
        }
        for (MambaWeights.Layer lw : w.layers) {
            double[][] xn = rms(h, lw.norm.data, c.layerNormEpsilon);
            double[][] xz = linear(xn, lw.inProjWeight.data, lw.inProjBias == null ? null : lw.inProjBias.data, 2 * d);
            double[][] xc = new double[len][d];
            for (int t = 0; t < len; t++) {
                for (int ch = 0; ch < d; ch++) {
                    double s = lw.conv1dBias == null ? 0 : lw.conv1dBias.data[ch];
                    for (int j = 0; j < k; j++) {
                        int src = t - (k - 1) + j;
                        if (src >= 0) {
                            s += lw.conv1dWeight.data[ch * k + j] * xz[src][ch];
                        }
                    }
                    xc[t][ch] = s / (1 + Math.exp(-s));
                }
            }
            double[][] dbc = linear(xc, lw.xProjWeight.data, null, r + 2 * n);
            double[][] dtIn = new double[len][r];
            for (int t = 0; t < len; t++) {
                System.arraycopy(dbc[t], 0, dtIn[t], 0, r);
            }
            double[][] dt = linear(dtIn, lw.dtProjWeight.data, lw.dtProjBias.data, d);
            double[][] y = new double[len][d];
            for (int ch = 0; ch < d; ch++) {
                double[] st = new double[n];
                for (int t = 0; t < len; t++) {
                    double delta = dt[t][ch] > 20 ? dt[t][ch] : Math.log1p(Math.exp(dt[t][ch]));
                    double acc = 0;
                    for (int s = 0; s < n; s++) {
                        double a = -Math.exp(lw.aLog.data[ch * n + s]);
                        st[s] = Math.exp(delta * a) * st[s] + delta * dbc[t][r + s] * xc[t][ch];
                        acc += st[s] * dbc[t][r + n + s];
                    }
                    double zz = xz[t][d + ch];
                    y[t][ch] = (acc + lw.d.data[ch] * xc[t][ch]) * (zz / (1 + Math.exp(-zz)));
                }
            }
            double[][] out = linear(y, lw.outProjWeight.data, lw.outProjBias == null ? null : lw.outProjBias.data, hs);
            for (int t = 0; t < len; t++) {
                for (int j = 0; j < hs; j++) {
                    h[t][j] += out[t][j];
                }
            }
        }
        return rms(h, w.normF.data, c.layerNormEpsilon);
    }

    static double[][] logits(MambaWeights w, double[][] hidden) {
        return linear(hidden, w.lmHead.data, null, w.config.vocabSize);
    }

    static double[][] prediction(MambaWeights w, double[][] hidden) {
        return linear(hidden, w.headWeight.data, w.headBias.data, w.config.outputFeatures);
    }

    static double[][] rms(double[][] x, float[] weight, double eps) {
        double[][] o = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            double ss = 0;
            for (double v : x[t]) {
                ss += v * v;
            }
            double inv = 1 / Math.sqrt(ss / x[t].length + eps);
            o[t] = new double[x[t].length];
            for (int j = 0; j < x[t].length; j++) {
                o[t][j] = x[t][j] * inv * weight[j];
            }
        }
        return o;
    }

    static double[][] linear(double[][] x, float[] w, float[] bias, int out) {
        double[][] o = new double[x.length][out];
        int in = x.length == 0 ? 0 : x[0].length;
        for (int t = 0; t < x.length; t++) {
            for (int j = 0; j < out; j++) {
                double s = bias == null ? 0 : bias[j];
                for (int q = 0; q < in; q++) {
                    s += w[j * in + q] * x[t][q];
                }
                o[t][j] = s;
            }
        }
        return o;
    }
}

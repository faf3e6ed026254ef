package dev.mamba.pipeline.model;

import dev.mamba.pipeline.checkpoint.HostTensor;
import dev.mamba.pipeline.checkpoint.MambaWeights;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Random weights with parameters far from their initial values. */
final class TestWeights {
    private TestWeights() {
    }

    static MambaConfig tokens(int hidden, int layers, int vocab, int state, int conv, int inner, int rank,
                              boolean convBias, boolean bias) {
        return new MambaConfig(ModelFamily.TOKENS, hidden, layers, vocab, state, conv, inner, rank, convBias, bias,
                1e-5f, true, true, 0, 0);
    }

    static MambaConfig continuous(int hidden, int layers, int in, int out) {
        return new MambaConfig(ModelFamily.CONTINUOUS, hidden, layers, 0, 8, 4, 2 * hidden,
                (hidden + 15) / 16, true, false, 1e-5f, true, false, in, out);
    }

    static MambaWeights random(MambaConfig c, long seed, boolean tied) {
        Random rnd = new Random(seed);
        int h = c.hiddenSize, d = c.intermediateSize, n = c.stateSize, k = c.convKernel, r = c.timeStepRank;
        List<MambaWeights.Layer> layers = new ArrayList<>();
        for (int l = 0; l < c.numLayers; l++) {
            String p = "backbone.layers." + l + ".";
            MambaWeights.Layer lw = new MambaWeights.Layer();
            lw.norm = t(p + "norm.weight", rnd, 0.5, 1.5, h);
            lw.inProjWeight = t(p + "mixer.in_proj.weight", rnd, -1 / Math.sqrt(h), 1 / Math.sqrt(h), 2 * d, h);
            lw.inProjBias = c.useBias ? t(p + "mixer.in_proj.bias", rnd, -0.2, 0.2, 2 * d) : null;
            lw.conv1dWeight = t(p + "mixer.conv1d.weight", rnd, -0.6, 0.6, d, 1, k);
            lw.conv1dBias = c.useConvBias ? t(p + "mixer.conv1d.bias", rnd, -0.3, 0.3, d) : null;
            lw.xProjWeight = t(p + "mixer.x_proj.weight", rnd, -1 / Math.sqrt(d), 1 / Math.sqrt(d), r + 2 * n, d);
            lw.dtProjWeight = t(p + "mixer.dt_proj.weight", rnd, -1 / Math.sqrt(r), 1 / Math.sqrt(r), d, r);
            lw.dtProjBias = t(p + "mixer.dt_proj.bias", rnd, -4, 1, d);
            lw.aLog = t(p + "mixer.A_log", rnd, -1, 2, d, n);
            lw.d = t(p + "mixer.D", rnd, -2, 2, d);
            lw.outProjWeight = t(p + "mixer.out_proj.weight", rnd, -1 / Math.sqrt(d), 1 / Math.sqrt(d), h, d);
            lw.outProjBias = c.useBias ? t(p + "mixer.out_proj.bias", rnd, -0.2, 0.2, h) : null;
            layers.add(lw);
        }
        HostTensor normF = t("backbone.norm_f.weight", rnd, 0.5, 1.5, h);
        if (c.family == ModelFamily.TOKENS) {
            HostTensor emb = t("backbone.embeddings.weight", rnd, -1, 1, c.vocabSize, h);
            HostTensor head = tied ? emb : t("lm_head.weight", rnd, -0.3, 0.3, c.vocabSize, h);
            return new MambaWeights(c, emb, null, null, layers, normF, head, null, null);
        }
        HostTensor ipw = t("backbone.input_proj.weight", rnd, -1, 1, h, c.inputFeatures);
        HostTensor ipb = t("backbone.input_proj.bias", rnd, -0.5, 0.5, h);
        HostTensor hw = t("head.weight", rnd, -0.3, 0.3, c.outputFeatures, h);
        HostTensor hb = t("head.bias", rnd, -0.3, 0.3, c.outputFeatures);
        return new MambaWeights(c, null, ipw, ipb, layers, normF, null, hw, hb);
    }

    private static HostTensor t(String name, Random rnd, double lo, double hi, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
        }
        return new HostTensor(name, shape, v);
    }
}

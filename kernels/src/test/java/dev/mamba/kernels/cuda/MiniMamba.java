package dev.mamba.kernels.cuda;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A tiny Mamba-1 language model written against {@link Backend} exactly as the pipeline's model uses the
 * operators (activation/weight dtypes from the backend, column views of xz and dbc, carried conv and SSM
 * state per layer, fp32 residual stream), so CPU and CUDA can be compared on whole forward passes.
 */
final class MiniMamba implements AutoCloseable {
    final int hidden, inner, states, rank, width, vocab, layers;
    private final Backend be;
    private final List<Tensor> owned = new ArrayList<>();
    private final Tensor embedding, normF, lmHead;
    private final Layer[] layer;
    private final float eps = 1e-5f;

    private final class Layer {
        Tensor norm, inProj, convW, convB, xProj, dtProj, dtBias, aNeg, dSkip, outProj;
        Tensor convState, ssmState;
    }

    /** Weights drawn from {@code seed} (identical on every backend). */
    MiniMamba(Backend be, long seed, int hidden, int inner, int states, int rank, int width, int vocab, int layers,
              int lanes) {
        this.be = be;
        this.hidden = hidden;
        this.inner = inner;
        this.states = states;
        this.rank = rank;
        this.width = width;
        this.vocab = vocab;
        this.layers = layers;
        Random r = new Random(seed);
        DType wt = be.matrixWeightType();
        embedding = keep(be.upload("embedding", GpuTest.gauss(r, vocab * hidden, 0, 1), vocab, hidden, DType.F32));
        layer = new Layer[layers];
        for (int l = 0; l < layers; l++) {
            Layer y = new Layer();
            y.norm = keep(be.upload("norm", GpuTest.gauss(r, hidden, 1, 0.1), 1, hidden, DType.F32));
            y.inProj = keep(be.upload("in_proj", GpuTest.gauss(r, 2 * inner * hidden, 0, 1 / Math.sqrt(hidden)),
                    2 * inner, hidden, wt));
            y.convW = keep(be.upload("conv.w", GpuTest.uniform(r, inner * width, -0.5, 0.5), inner, width, DType.F32));
            y.convB = keep(be.upload("conv.b", GpuTest.gauss(r, inner, 0, 0.1), 1, inner, DType.F32));
            y.xProj = keep(be.upload("x_proj", GpuTest.gauss(r, (rank + 2 * states) * inner, 0, 1 / Math.sqrt(inner)),
                    rank + 2 * states, inner, wt));
            y.dtProj = keep(be.upload("dt_proj", GpuTest.uniform(r, inner * rank, -1 / Math.sqrt(rank),
                    1 / Math.sqrt(rank)), inner, rank, wt));
            float[] bias = new float[inner];
            for (int i = 0; i < inner; i++) {
                double dt = Math.exp(Math.log(1e-3) + r.nextDouble() * (Math.log(0.1) - Math.log(1e-3)));
                bias[i] = (float) (dt + Math.log(-Math.expm1(-dt)));  // inverse softplus
            }
            y.dtBias = keep(be.upload("dt.bias", bias, 1, inner, DType.F32));
            float[] a = new float[inner * states];
            for (int i = 0; i < inner; i++) {
                for (int n = 0; n < states; n++) {
                    a[i * states + n] = -(n + 1) * (float) (0.8 + 0.4 * r.nextDouble());
                }
            }
            y.aNeg = keep(be.upload("A", a, inner, states, DType.F32));
            y.dSkip = keep(be.upload("D", GpuTest.gauss(r, inner, 1, 0.1), 1, inner, DType.F32));
            y.outProj = keep(be.upload("out_proj", GpuTest.gauss(r, hidden * inner, 0, 1 / Math.sqrt(inner * 2.0 * layers)),
                    hidden, inner, wt));
            y.convState = keep(be.allocate("conv.state", lanes, inner * (width - 1), DType.F32));
            y.ssmState = keep(be.allocate("ssm.state", lanes, inner * states, DType.F32));
            layer[l] = y;
        }
        normF = keep(be.upload("norm_f", GpuTest.gauss(r, hidden, 1, 0.1), 1, hidden, DType.F32));
        lmHead = keep(be.upload("lm_head", GpuTest.gauss(r, vocab * hidden, 0, 1 / Math.sqrt(hidden)), vocab, hidden, wt));
    }

    private Tensor keep(Tensor t) {
        owned.add(t);
        return t;
    }

    /** What one forward call returns (host copies). */
    static final class Out {
        float[] logits, nll, summary;
        float[][] convStates, ssmStates;
    }

    /** One chunk of {@code steps} per lane, continuing from the carried states. */
    Out forward(int[] ids, int[] targets, int[] lens, int steps) {
        int lanes = lens.length, rows = lanes * steps;
        DType act = be.activationType();
        List<Tensor> tmp = new ArrayList<>();
        Tensor idt = be.allocate("ids", rows, 1, DType.I32);
        be.write(idt, ids, 0);
        Tensor lt = be.allocate("lens", lanes, 1, DType.I32);
        be.write(lt, lens, 0);
        Tensor tt = be.allocate("targets", rows, 1, DType.I32);
        be.write(tt, targets, 0);
        Tensor h = be.allocate("h", rows, hidden, DType.F32);
        Tensor xn = be.allocate("xn", rows, hidden, act);
        Tensor xz = be.allocate("xz", rows, 2 * inner, act);
        Tensor xc = be.allocate("xc", rows, inner, act);
        Tensor dbc = be.allocate("dbc", rows, rank + 2 * states, act);
        Tensor dt = be.allocate("dt", rows, inner, act);
        Tensor y = be.allocate("y", rows, inner, act);
        Tensor hf = be.allocate("hf", rows, hidden, DType.F32);
        Tensor logits = be.allocate("logits", rows, vocab, DType.F32);
        Tensor nll = be.allocate("nll", rows, 1, DType.F32);
        Tensor summary = be.allocate("summary", lanes, 2 * hidden, DType.F32);
        tmp.addAll(List.of(idt, lt, tt, h, xn, xz, xc, dbc, dt, y, hf, logits, nll, summary));
        try {
            be.embedding(idt, embedding, h);
            for (Layer l : layer) {
                be.rmsNorm(h, l.norm, eps, xn);
                be.linear(xn, l.inProj, null, xz, false);
                Tensor x = xz.columns(0, inner), z = xz.columns(inner, 2 * inner);
                be.conv1dSilu(x, l.convW, l.convB, l.convState, lt, xc);
                be.linear(xc, l.xProj, null, dbc, false);
                be.linear(dbc.columns(0, rank), l.dtProj, null, dt, false);
                be.selectiveScan(xc, dt, l.dtBias, l.aNeg, dbc.columns(rank, rank + states),
                        dbc.columns(rank + states, rank + 2 * states), l.dSkip, z, l.ssmState, lt, y);
                be.linear(y, l.outProj, null, h, true);
            }
            be.rmsNorm(h, normF, eps, hf);
            be.linear(hf, lmHead, null, logits, false);
            be.tokenNll(logits, tt, nll);
            be.laneSummary(hf, lt, summary);
            Out o = new Out();
            o.logits = GpuTest.read(be, logits);
            o.nll = GpuTest.read(be, nll);
            o.summary = GpuTest.read(be, summary);
            o.convStates = new float[layers][];
            o.ssmStates = new float[layers][];
            for (int i = 0; i < layers; i++) {
                o.convStates[i] = GpuTest.read(be, layer[i].convState);
                o.ssmStates[i] = GpuTest.read(be, layer[i].ssmState);
            }
            return o;
        } finally {
            for (Tensor t : tmp) {
                be.free(t);
            }
        }
    }

    @Override
    public void close() {
        for (Tensor t : owned) {
            be.free(t);
        }
        owned.clear();
    }
}

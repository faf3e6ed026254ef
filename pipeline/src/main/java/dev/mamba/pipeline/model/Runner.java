package dev.mamba.pipeline.model;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.Tensor;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;
import dev.mamba.pipeline.state.SequenceState;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.util.EnumSet;
import java.util.Set;

/**
 * Runs forward passes of one {@link MambaModel} for one thread: {@code lanes} state slots (one
 * sequence each, carried across calls) and a workspace for up to {@code lanes × maxSteps} rows,
 * allocated once. The model is written once here, against {@link Backend}.
 */
public final class Runner implements AutoCloseable {
    private final MambaModel model;
    private final MambaConfig cfg;
    private final Backend be;
    private final int lanes;
    private final int maxSteps;
    private final BackendTensors owned;

    private final Tensor states;       // [lanes, layers·(D(K−1) + D·N)] F32: a lane's whole state in one row
    private final Tensor[] convState;  // per layer [lanes, D(K−1)] F32, column views of states
    private final Tensor[] ssmState;   // per layer [lanes, D·N] F32, column views of states
    private final Tensor ints;         // [lanes + 2·rows, 1] I32: lens | ids | targets
    private final Tensor features;     // CONTINUOUS [rows, k] F32
    private final Tensor h;            // residual stream [rows, H] F32
    private final Tensor xn;           // normed input [rows, H] act
    private final Tensor mixed;        // out_proj output [rows, H] act, added to h by the next norm
    private final Tensor xz;           // in_proj output [rows, 2D] act
    private final Tensor xc;           // conv output [rows, D] act
    private final Tensor dbc;          // x_proj output [rows, R + 2N] act
    private final Tensor dt;           // dt_proj output [rows, D] act
    private final Tensor y;            // scan output [rows, D] act
    private final Tensor hf;           // after norm_f [rows, H] F32
    private Tensor logits;             // [rows, V] F32, allocated on first use
    private Tensor nll;                // [rows, 1] F32
    private Tensor summary;            // [lanes, 2H] F32
    private Tensor prediction;         // [rows, out] F32
    private final ByteBuffer staging;  // host copy of the packed ints

    Runner(MambaModel model, int lanes, int maxSteps) {
        if (lanes <= 0 || maxSteps <= 0) {
            throw new IllegalArgumentException("runner needs lanes > 0 and maxSteps > 0, got " + lanes + " × " + maxSteps);
        }
        this.model = model;
        this.cfg = model.config();
        this.be = model.backend();
        this.lanes = lanes;
        this.maxSteps = maxSteps;
        this.owned = new BackendTensors(be, "runner");
        long rowsL = (long) lanes * maxSteps;
        if (rowsL > Integer.MAX_VALUE / 4) {
            throw new IllegalArgumentException("lanes × maxSteps = " + rowsL + " is too large");
        }
        int rows = (int) rowsL;
        DType act = be.activationType();
        final int hs = cfg.hiddenSize, d = cfg.intermediateSize;
        boolean ok = false;
        try {
            // One row per lane holding every layer's conv and SSM state, so that starting a new sequence
            // is one fill per lane rather than two per layer (on the GPU, 48 tiny launches per lane
            // took ~15 % of a 130m forward over 8 fresh lanes).
            final int cs = cfg.convStateSize(), ss = cfg.ssmStateSize(), layers = cfg.numLayers;
            states = alloc("states", lanes, layers * (cs + ss), DType.F32);
            convState = new Tensor[layers];
            ssmState = new Tensor[layers];
            for (int l = 0; l < layers; l++) {
                convState[l] = states.columns(l * cs, (l + 1) * cs);
                ssmState[l] = states.columns(layers * cs + l * ss, layers * cs + (l + 1) * ss);
            }
            ints = alloc("inputs", lanes + 2 * rows, 1, DType.I32);
            features = cfg.family == ModelFamily.CONTINUOUS ? alloc("features", rows, cfg.inputFeatures, DType.F32) : null;
            h = alloc("residual", rows, hs, DType.F32);
            // xn and y feed only in_proj and out_proj: GEMM inputs (tf32-rounded by their writers in TF32 mode)
            xn = owned.allocateGemmInput("normed", rows, hs);
            mixed = alloc("out_proj_out", rows, hs, act);
            xz = alloc("in_proj_out", rows, 2 * d, act);
            xc = alloc("conv_out", rows, d, act);
            dbc = alloc("x_proj_out", rows, cfg.timeStepRank + 2 * cfg.stateSize, act);
            dt = alloc("dt", rows, d, act);
            y = owned.allocateGemmInput("scan_out", rows, d);
            hf = alloc("hidden_final", rows, hs, DType.F32);
            staging = ByteBuffer.allocateDirect(4 * (lanes + 2 * rows)).order(ByteOrder.LITTLE_ENDIAN);
            ok = true;
        } finally {
            if (!ok) {
                close();
            }
        }
    }

    private Tensor alloc(String name, int rows, int cols, DType t) {
        return owned.allocate(name, rows, cols, t);
    }

    public int lanes() {
        return lanes;
    }

    public int maxSteps() {
        return maxSteps;
    }

    public MambaModel model() {
        return model;
    }

    private void checkOpen() {
        owned.checkOpen();
        model.checkOpen();
    }

    private void checkLane(int lane) {
        if (lane < 0 || lane >= lanes) {
            throw new IndexOutOfBoundsException("lane " + lane + " outside [0, " + lanes + ")");
        }
    }

    /** Zeroes a lane's state: the next call starts a new sequence there. */
    public void reset(int lane) {
        checkOpen();
        checkLane(lane);
        be.fill(states.rows(lane, lane + 1), 0f);
    }

    /** Copies a lane's model state to the host ({@code extras} and {@code position} are left as given). */
    public void saveState(int lane, SequenceState into) {
        checkOpen();
        checkLane(lane);
        into.checkFits(cfg, "saveState");
        for (int l = 0; l < cfg.numLayers; l++) {
            be.read(convState[l].rows(lane, lane + 1), into.conv[l], 0);
            be.read(ssmState[l].rows(lane, lane + 1), into.ssm[l], 0);
        }
    }

    /** Puts a saved state into a lane (resume). */
    public void loadState(int lane, SequenceState from) {
        checkOpen();
        checkLane(lane);
        from.checkFits(cfg, "loadState");
        for (int l = 0; l < cfg.numLayers; l++) {
            be.write(convState[l].rows(lane, lane + 1), from.conv[l], 0);
            be.write(ssmState[l].rows(lane, lane + 1), from.ssm[l], 0);
        }
    }

    /** Runs a batch given as host arrays (see {@link ForwardBatch}). */
    public ForwardResult forward(ForwardBatch batch, Set<Output> outputs) {
        checkOpen();
        if (batch.lanes != lanes) {
            throw new IllegalArgumentException("batch has " + batch.lanes + " lanes, runner has " + lanes);
        }
        batch.validate(cfg);
        int steps = batch.steps, rows = lanes * steps;
        // bulk copies: the device idles while the host packs a batch (64 x 2048 on the dev machine: 0.18-0.29 ms
        // with one putInt per value, 0.12 ms in bulk)
        staging.clear();
        IntBuffer ib = staging.asIntBuffer();  // the buffer's little-endian order carries over
        ib.put(batch.lens, 0, lanes);
        if (batch.tokens == null) {
            ib.put(new int[rows]);
        } else {
            ib.put(batch.tokens, 0, rows);
        }
        if (batch.targets == null) {
            int[] none = new int[rows];
            java.util.Arrays.fill(none, -1);
            ib.put(none);
        } else {
            ib.put(batch.targets, 0, rows);
        }
        staging.limit(4 * ib.position());
        return forwardPacked(steps, staging, batch.features, batch.lens, outputs);
    }

    /**
     * Runs one call over lanes {@code [0, u)} with {@code u = lens.length ≤ lanes} (lanes from u on keep
     * their state untouched and cost nothing: a call with one busy lane computes one lane).
     * {@code packedInts}: little-endian ints {@code lens[u] | ids[u·steps] | targets[u·steps]} (ids and
     * targets already checked against the vocabulary; ids of padding steps must be valid, e.g. 0).
     * {@code features}: for continuous models, [u·steps, k] floats (little-endian ByteBuffer or float[]),
     * else null. {@code lens}: host copy of the lengths.
     */
    public ForwardResult forwardPacked(int steps, ByteBuffer packedInts, Object featureData, int[] lens,
                                       Set<Output> outputs) {
        checkOpen();
        if (steps <= 0 || steps > maxSteps) {
            throw new IllegalArgumentException("steps " + steps + " outside [1, " + maxSteps + "]");
        }
        final int used = lens.length;
        if (used < 1 || used > lanes) {
            throw new IllegalArgumentException(used + " lane lengths given, runner has " + lanes + " lanes");
        }
        final int rows = used * steps;
        final int hs = cfg.hiddenSize, d = cfg.intermediateSize, r = cfg.timeStepRank, n = cfg.stateSize;
        EnumSet<Output> want = outputs.isEmpty() ? EnumSet.noneOf(Output.class) : EnumSet.copyOf(outputs);
        checkOutputs(want);

        // One host → backend copy of the batch's ints.
        Tensor in = ints.rows(0, used + 2 * rows);
        be.write(in, packedInts);
        Tensor lensT = in.rows(0, used);
        Tensor ids = in.rows(used, used + rows);
        Tensor targets = in.rows(used + rows, used + 2 * rows);

        Tensor hv = h.rows(0, rows), xnv = xn.rows(0, rows), mv = mixed.rows(0, rows), xzv = xz.rows(0, rows),
                xcv = xc.rows(0, rows), dbcv = dbc.rows(0, rows), dtv = dt.rows(0, rows), yv = y.rows(0, rows),
                hfv = hf.rows(0, rows);
        if (cfg.family == ModelFamily.TOKENS) {
            be.embedding(ids, model.embeddings, hv);
        } else {
            Tensor fv = features.rows(0, rows);
            if (featureData == null) {
                throw new IllegalArgumentException("continuous model needs features");
            }
            if (featureData instanceof float[]) {
                be.write(fv, (float[]) featureData, 0);
            } else if (featureData instanceof ByteBuffer) {
                be.write(fv, (ByteBuffer) featureData);
            } else {
                throw new IllegalArgumentException("features must be float[] or ByteBuffer");
            }
            be.linear(fv, model.inputProj, model.inputProjBias, hv, false);
        }
        Tensor x = xzv.columns(0, d), z = xzv.columns(d, 2 * d);
        Tensor dtIn = dbcv.columns(0, r), bm = dbcv.columns(r, r + n), cm = dbcv.columns(r + n, r + 2 * n);
        // The previous block's output joins the residual (as HF adds it before the next block) inside the next
        // norm, so out_proj writes its result instead of reading h back in its epilogue; or, where the backend
        // says its accumulating out_proj is the cheaper of the two, in out_proj, and the norm just reads h.
        final boolean residInLinear = be.residualInLinear(rows, hs);
        for (int l = 0; l < cfg.numLayers; l++) {
            LayerWeights lw = model.layers[l];
            if (l == 0 || residInLinear) {
                be.rmsNorm(hv, lw.norm, cfg.layerNormEpsilon, xnv);
            } else {
                be.addRmsNorm(mv, hv, lw.norm, cfg.layerNormEpsilon, xnv);
            }
            be.linear(xnv, lw.inProj, lw.inProjBias, xzv, false);
            be.conv1dSiluLinear(x, lw.convWeight, lw.convBias, convState[l].rows(0, used), lensT, xcv, lw.xProj, dbcv);
            be.selectiveScanProjected(xcv, dtIn, lw.dtProj, dtv, lw.dtBias, lw.aNeg, bm, cm, lw.dSkip, z,
                    ssmState[l].rows(0, used), lensT, yv);
            be.linear(yv, lw.outProj, lw.outProjBias, residInLinear ? hv : mv, residInLinear);
        }
        if (residInLinear) {
            be.rmsNorm(hv, model.normF, cfg.layerNormEpsilon, hfv);
        } else {
            be.addRmsNorm(mv, hv, model.normF, cfg.layerNormEpsilon, hfv);
        }

        ForwardResult res = new ForwardResult(used, steps, lens.clone());
        if (want.contains(Output.HIDDEN)) {
            res.hidden = new float[rows * hs];
            be.read(hfv, res.hidden, 0);
        }
        if (want.contains(Output.SUMMARY)) {
            if (summary == null) {
                summary = alloc("summary", lanes, 2 * hs, DType.F32);
            }
            Tensor sv = summary.rows(0, used);
            be.laneSummary(hfv, lensT, sv);
            res.summary = new float[used * 2 * hs];
            be.read(sv, res.summary, 0);
        }
        if (want.contains(Output.LOGITS) || want.contains(Output.NLL)) {
            if (logits == null) {
                logits = alloc("logits", lanes * maxSteps, cfg.vocabSize, DType.F32);
            }
            Tensor lv = logits.rows(0, rows);
            be.linear(hfv, model.lmHead, null, lv, false);
            if (want.contains(Output.LOGITS)) {
                res.logits = new float[Math.multiplyExact(rows, cfg.vocabSize)];
                be.read(lv, res.logits, 0);
            }
            if (want.contains(Output.NLL)) {
                if (nll == null) {
                    nll = alloc("nll", lanes * maxSteps, 1, DType.F32);
                }
                be.tokenNll(lv, targets, nll.rows(0, rows));
                res.nll = new float[rows];
                be.read(nll.rows(0, rows), res.nll, 0);
            }
        }
        if (want.contains(Output.PREDICTION)) {
            if (prediction == null) {
                prediction = alloc("prediction", lanes * maxSteps, cfg.outputFeatures, DType.F32);
            }
            Tensor pv = prediction.rows(0, rows);
            be.linear(hfv, model.head, model.headBias, pv, false);
            res.prediction = new float[rows * cfg.outputFeatures];
            be.read(pv, res.prediction, 0);
        }
        return res;
    }

    private void checkOutputs(Set<Output> want) {
        boolean tokens = cfg.family == ModelFamily.TOKENS;
        for (Output o : want) {
            switch (o) {
                case LOGITS:
                case NLL:
                    if (!model.hasLmHead()) {
                        throw new IllegalArgumentException("output " + o + " needs a token model with an LM head");
                    }
                    break;
                case PREDICTION:
                    if (tokens) {
                        throw new IllegalArgumentException("output PREDICTION needs a continuous model");
                    }
                    break;
                default:
                    break;
            }
        }
    }

    /** Frees the workspace and lane states. */
    @Override
    public void close() {
        owned.freeAll();
    }
}

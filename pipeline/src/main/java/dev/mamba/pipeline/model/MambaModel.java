package dev.mamba.pipeline.model;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.Tensor;
import dev.mamba.pipeline.checkpoint.CheckpointLoader;
import dev.mamba.pipeline.checkpoint.HostTensor;
import dev.mamba.pipeline.checkpoint.MambaWeights;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A Mamba-1 model's weights uploaded to one backend. Immutable after construction and shared by all
 * threads; each thread runs forward passes through its own {@link Runner} (workspace and lane states).
 */
public final class MambaModel implements AutoCloseable {
    private final MambaConfig cfg;
    private final Backend backend;
    private final BackendTensors owned;

    final Tensor embeddings;      // TOKENS: [V, H] F32
    final Tensor inputProj;       // CONTINUOUS: [H, k] matrix
    final Tensor inputProjBias;   // CONTINUOUS: [1, H] F32
    final LayerWeights[] layers;
    final Tensor normF;           // [1, H]
    final Tensor lmHead;          // TOKENS with head: [V, H] matrix, else null
    final Tensor head;            // CONTINUOUS: [out, H] matrix
    final Tensor headBias;        // CONTINUOUS: [1, out]

    /** Loads a checkpoint directory (config.json + safetensors) onto the backend. */
    public static MambaModel load(Path dir, Backend backend) throws IOException {
        return new MambaModel(CheckpointLoader.load(dir), backend);
    }

    /** Uploads host weights; the caller may drop {@code w} afterwards. */
    public MambaModel(MambaWeights w, Backend backend) {
        this.cfg = w.config;
        this.backend = backend;
        this.owned = new BackendTensors(backend, "model");
        boolean ok = false;
        try {
            final int d = cfg.intermediateSize, k = cfg.convKernel;
            if (cfg.family == ModelFamily.TOKENS) {
                embeddings = vector(w.embeddings, w.embeddings.rows(), w.embeddings.cols());
                inputProj = null;
                inputProjBias = null;
            } else {
                embeddings = null;
                inputProj = matrix(w.inputProjWeight);
                inputProjBias = vector(w.inputProjBias, 1, cfg.hiddenSize);
            }
            layers = new LayerWeights[cfg.numLayers];
            for (int l = 0; l < cfg.numLayers; l++) {
                MambaWeights.Layer src = w.layers.get(l);
                LayerWeights lw = new LayerWeights();
                lw.norm = vector(src.norm, 1, cfg.hiddenSize);
                lw.inProj = matrix(src.inProjWeight);
                lw.inProjBias = src.inProjBias == null ? null : vector(src.inProjBias, 1, 2 * d);
                lw.convWeight = vector(src.conv1dWeight, d, k);
                lw.convBias = src.conv1dBias == null ? null : vector(src.conv1dBias, 1, d);
                lw.xProj = matrix(src.xProjWeight);
                lw.dtProj = matrix(src.dtProjWeight);
                lw.dtBias = vector(src.dtProjBias, 1, d);
                float[] aNeg = new float[src.aLog.data.length];
                for (int i = 0; i < aNeg.length; i++) {
                    aNeg[i] = (float) -Math.exp(src.aLog.data[i]); // as HF: A = -exp(A_log.float())
                }
                lw.aNeg = upload(src.aLog.name + "(-exp)", aNeg, d, cfg.stateSize, DType.F32);
                lw.dSkip = vector(src.d, 1, d);
                lw.outProj = matrix(src.outProjWeight);
                lw.outProjBias = src.outProjBias == null ? null : vector(src.outProjBias, 1, cfg.hiddenSize);
                layers[l] = lw;
            }
            normF = vector(w.normF, 1, cfg.hiddenSize);
            if (cfg.family == ModelFamily.TOKENS && w.lmHead != null) {
                // Tied head in fp32 mode: the embedding table serves as the head, no second copy.
                lmHead = (w.lmHead == w.embeddings && backend.matrixWeightType() == DType.F32)
                        ? embeddings : matrix(w.lmHead);
            } else {
                lmHead = null;
            }
            if (cfg.family == ModelFamily.CONTINUOUS) {
                head = matrix(w.headWeight);
                headBias = vector(w.headBias, 1, cfg.outputFeatures);
            } else {
                head = null;
                headBias = null;
            }
            ok = true;
        } finally {
            if (!ok) {
                close();
            }
        }
    }

    private Tensor upload(String name, float[] data, int rows, int cols, DType t) {
        return owned.upload(name, data, rows, cols, t);
    }

    private Tensor vector(HostTensor h, int rows, int cols) {
        if ((long) rows * cols != h.data.length) {
            throw new IllegalArgumentException("tensor " + h.name + " " + h.shapeString() + " does not fit ["
                    + rows + ", " + cols + "]");
        }
        return upload(h.name, h.data, rows, cols, DType.F32);
    }

    private Tensor matrix(HostTensor h) {
        return owned.uploadMatrix(h.name, h.data, h.rows(), h.cols());
    }

    public MambaConfig config() {
        return cfg;
    }

    public Backend backend() {
        return backend;
    }

    /** True for token models that produce logits. */
    public boolean hasLmHead() {
        return lmHead != null;
    }

    /** A per-thread runner with {@code lanes} state slots and room for {@code maxSteps} steps per call. */
    public Runner newRunner(int lanes, int maxSteps) {
        checkOpen();
        return new Runner(this, lanes, maxSteps);
    }

    void checkOpen() {
        owned.checkOpen();
    }

    /** Frees the weights on the backend (the backend itself stays open). */
    @Override
    public void close() {
        owned.freeAll();
    }
}

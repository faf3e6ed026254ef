package dev.mamba.pipeline.checkpoint;

import dev.mamba.pipeline.config.MambaConfig;

import java.util.List;

/**
 * Every tensor of a Mamba checkpoint, checked against its config and upcast to fp32. Shapes are in
 * PyTorch layout (Linear weights [out, in]); conv1d.weight is [D, 1, K].
 */
public final class MambaWeights {
    /** One mixer block. Optional tensors are null when the config says they are absent. */
    public static final class Layer {
        /** RMSNorm before the mixer [H]. */
        public HostTensor norm;
        /** [2D, H]. */
        public HostTensor inProjWeight;
        /** [2D] when use_bias. */
        public HostTensor inProjBias;
        /** [D, 1, K]. */
        public HostTensor conv1dWeight;
        /** [D] when use_conv_bias. */
        public HostTensor conv1dBias;
        /** [R + 2N, D]. */
        public HostTensor xProjWeight;
        /** [D, R]. */
        public HostTensor dtProjWeight;
        /** [D]. */
        public HostTensor dtProjBias;
        /** [D, N]. */
        public HostTensor aLog;
        /** [D]. */
        public HostTensor d;
        /** [H, D]. */
        public HostTensor outProjWeight;
        /** [H] when use_bias. */
        public HostTensor outProjBias;
    }

    public final MambaConfig config;
    /** TOKENS: [V, H]. */
    public final HostTensor embeddings;
    /** CONTINUOUS: [H, k] and [H]. */
    public final HostTensor inputProjWeight;
    public final HostTensor inputProjBias;
    public final List<Layer> layers;
    /** [H]. */
    public final HostTensor normF;
    /** TOKENS: [V, H]; the embedding tensor itself when tied. */
    public final HostTensor lmHead;
    /** CONTINUOUS: [out, H] and [out]. */
    public final HostTensor headWeight;
    public final HostTensor headBias;

    public MambaWeights(MambaConfig config, HostTensor embeddings, HostTensor inputProjWeight,
                        HostTensor inputProjBias, List<Layer> layers, HostTensor normF, HostTensor lmHead,
                        HostTensor headWeight, HostTensor headBias) {
        this.config = config;
        this.embeddings = embeddings;
        this.inputProjWeight = inputProjWeight;
        this.inputProjBias = inputProjBias;
        this.layers = List.copyOf(layers);
        this.normF = normF;
        this.lmHead = lmHead;
        this.headWeight = headWeight;
        this.headBias = headBias;
    }
}

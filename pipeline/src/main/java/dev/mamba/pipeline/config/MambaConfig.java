package dev.mamba.pipeline.config;

/**
 * The shape of a Mamba-1 model, resolved from a checkpoint's config.json (Hugging Face or mamba_ssm
 * names). All derived sizes ({@link #intermediateSize}, {@link #timeStepRank}) are already resolved.
 */
public final class MambaConfig {
    public final ModelFamily family;
    /** d_model. */
    public final int hiddenSize;
    public final int numLayers;
    /** Rows of the embedding table (after pad_vocab_size_multiple); 0 for CONTINUOUS. */
    public final int vocabSize;
    /** d_state (N). */
    public final int stateSize;
    /** d_conv (K). */
    public final int convKernel;
    /** d_inner (D) = expand × hidden unless given. */
    public final int intermediateSize;
    /** dt rank (R). */
    public final int timeStepRank;
    public final boolean useConvBias;
    /** in_proj / out_proj carry a bias. */
    public final boolean useBias;
    public final float layerNormEpsilon;
    public final boolean residualInFp32;
    /** TOKENS: no separate lm_head.weight, the embedding matrix is used. */
    public final boolean tieWordEmbeddings;
    /** CONTINUOUS: features per input step (k). */
    public final int inputFeatures;
    /** CONTINUOUS: outputs of the head per step. */
    public final int outputFeatures;

    public MambaConfig(ModelFamily family, int hiddenSize, int numLayers, int vocabSize, int stateSize,
                       int convKernel, int intermediateSize, int timeStepRank, boolean useConvBias,
                       boolean useBias, float layerNormEpsilon, boolean residualInFp32,
                       boolean tieWordEmbeddings, int inputFeatures, int outputFeatures) {
        this.family = family;
        this.hiddenSize = hiddenSize;
        this.numLayers = numLayers;
        this.vocabSize = vocabSize;
        this.stateSize = stateSize;
        this.convKernel = convKernel;
        this.intermediateSize = intermediateSize;
        this.timeStepRank = timeStepRank;
        this.useConvBias = useConvBias;
        this.useBias = useBias;
        this.layerNormEpsilon = layerNormEpsilon;
        this.residualInFp32 = residualInFp32;
        this.tieWordEmbeddings = tieWordEmbeddings;
        this.inputFeatures = inputFeatures;
        this.outputFeatures = outputFeatures;
        check(hiddenSize > 0, "hidden_size must be > 0, is " + hiddenSize);
        check(numLayers > 0, "num_hidden_layers must be > 0, is " + numLayers);
        check(stateSize > 0, "state_size must be > 0, is " + stateSize);
        check(convKernel >= 2, "conv_kernel must be >= 2, is " + convKernel);
        check(intermediateSize > 0, "intermediate_size must be > 0, is " + intermediateSize);
        check(timeStepRank > 0, "time_step_rank must be > 0, is " + timeStepRank);
        if (family == ModelFamily.TOKENS) {
            check(vocabSize > 0, "vocab_size must be > 0, is " + vocabSize);
        } else {
            check(inputFeatures > 0, "input_features must be > 0, is " + inputFeatures);
            check(outputFeatures > 0, "output_features must be > 0, is " + outputFeatures);
        }
    }

    private static void check(boolean ok, String msg) {
        if (!ok) {
            throw new IllegalArgumentException("config: " + msg);
        }
    }

    /** Floats of one layer's conv state: D × (K − 1). */
    public int convStateSize() {
        return intermediateSize * (convKernel - 1);
    }

    /** Floats of one layer's SSM state: D × N. */
    public int ssmStateSize() {
        return intermediateSize * stateSize;
    }

    @Override
    public String toString() {
        return "MambaConfig{" + family + ", hidden=" + hiddenSize + ", layers=" + numLayers
                + (family == ModelFamily.TOKENS ? ", vocab=" + vocabSize : ", in=" + inputFeatures + ", out=" + outputFeatures)
                + ", state=" + stateSize + ", conv=" + convKernel + ", inner=" + intermediateSize
                + ", dtRank=" + timeStepRank + ", convBias=" + useConvBias + ", bias=" + useBias
                + ", eps=" + layerNormEpsilon + ", tied=" + tieWordEmbeddings + "}";
    }
}

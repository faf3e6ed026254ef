package dev.mamba.pipeline.state;

import dev.mamba.pipeline.config.MambaConfig;

/**
 * Everything one sequence carries from one chunk to the next: per layer the conv window
 * (D × (K − 1) floats, {@code conv[l][d·(K−1) + j]}, oldest first) and the SSM state (D × N floats,
 * {@code ssm[l][d·N + n]}), the number of steps consumed, and job-level running statistics
 * ({@code extras}, e.g. normalisation moments or embedding sums) in double precision.
 * Serialised by {@link StateCodec}.
 */
public final class SequenceState {
    public final int numLayers;
    public final int dInner;
    public final int convWidth;
    public final int dState;
    public final float[][] conv;
    public final float[][] ssm;
    /** Steps consumed so far. */
    public long position;
    /** Job-level running values; length fixed at creation. */
    public final double[] extras;

    public SequenceState(int numLayers, int dInner, int convWidth, int dState, int extrasLength) {
        this.numLayers = numLayers;
        this.dInner = dInner;
        this.convWidth = convWidth;
        this.dState = dState;
        this.conv = new float[numLayers][dInner * convWidth];
        this.ssm = new float[numLayers][dInner * dState];
        this.extras = new double[extrasLength];
    }

    /** A state over arrays already filled ({@link StateCodec} reads them before it allocates a state). */
    SequenceState(int numLayers, int dInner, int convWidth, int dState, float[][] conv, float[][] ssm,
                  double[] extras) {
        this.numLayers = numLayers;
        this.dInner = dInner;
        this.convWidth = convWidth;
        this.dState = dState;
        this.conv = conv;
        this.ssm = ssm;
        this.extras = extras;
    }

    /** A zero state shaped for the model. */
    public static SequenceState zero(MambaConfig cfg, int extrasLength) {
        return new SequenceState(cfg.numLayers, cfg.intermediateSize, cfg.convKernel - 1, cfg.stateSize, extrasLength);
    }

    /** Throws unless this state fits the model's shape. */
    public void checkFits(MambaConfig cfg, String source) {
        if (numLayers != cfg.numLayers || dInner != cfg.intermediateSize || convWidth != cfg.convKernel - 1
                || dState != cfg.stateSize) {
            throw new IllegalArgumentException(source + ": state has layers=" + numLayers + ", d_inner=" + dInner
                    + ", conv width=" + convWidth + ", d_state=" + dState + " but the model needs layers="
                    + cfg.numLayers + ", d_inner=" + cfg.intermediateSize + ", conv width=" + (cfg.convKernel - 1)
                    + ", d_state=" + cfg.stateSize);
        }
    }

    /** Bytes of model state (floats only). */
    public long stateBytes() {
        return 4L * numLayers * ((long) dInner * convWidth + (long) dInner * dState);
    }
}

package dev.mamba.pipeline.model;

import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;

/**
 * One forward call's inputs as host arrays: {@code lanes} lanes of {@code steps} steps, row
 * {@code b·steps + t}; steps at or past {@code lens[b]} are padding.
 */
public final class ForwardBatch {
    public final int lanes;
    public final int steps;
    public final int[] lens;
    /** TOKENS: ids [lanes·steps] (padding: any valid id). */
    public int[] tokens;
    /** CONTINUOUS: [lanes·steps·k]. */
    public float[] features;
    /** For {@link Output#NLL}: next-token ids [lanes·steps], −1 where there is none. */
    public int[] targets;

    public ForwardBatch(int lanes, int steps) {
        this.lanes = lanes;
        this.steps = steps;
        this.lens = new int[lanes];
    }

    /** Checks sizes, lengths and token ids; errors name the lane and step. */
    void validate(MambaConfig cfg) {
        int rows = lanes * steps;
        for (int b = 0; b < lanes; b++) {
            if (lens[b] < 0 || lens[b] > steps) {
                throw new IllegalArgumentException("lane " + b + ": length " + lens[b] + " outside [0, " + steps + "]");
            }
        }
        if (cfg.family == ModelFamily.TOKENS) {
            if (tokens == null || tokens.length < rows) {
                throw new IllegalArgumentException("token model needs " + rows + " token ids");
            }
            for (int i = 0; i < rows; i++) {
                if (tokens[i] < 0 || tokens[i] >= cfg.vocabSize) {
                    throw new IllegalArgumentException("lane " + i / steps + ", step " + i % steps + ": token id "
                            + tokens[i] + " outside the vocabulary [0, " + cfg.vocabSize + ")");
                }
            }
            if (targets != null) {
                for (int i = 0; i < rows; i++) {
                    if (targets[i] < -1 || targets[i] >= cfg.vocabSize) {
                        throw new IllegalArgumentException("lane " + i / steps + ", step " + i % steps + ": target "
                                + targets[i] + " outside [-1, " + cfg.vocabSize + ")");
                    }
                }
            }
        } else if (features == null || features.length < (long) rows * cfg.inputFeatures) {
            throw new IllegalArgumentException("continuous model needs " + rows + " × " + cfg.inputFeatures + " features");
        }
    }
}

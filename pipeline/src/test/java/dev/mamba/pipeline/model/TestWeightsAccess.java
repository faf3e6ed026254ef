package dev.mamba.pipeline.model;

import dev.mamba.pipeline.checkpoint.MambaWeights;
import dev.mamba.pipeline.config.MambaConfig;

/** Lets tests in other packages draw random weights. */
public final class TestWeightsAccess {
    private TestWeightsAccess() {
    }

    public static MambaWeights random(MambaConfig cfg, long seed) {
        return TestWeights.random(cfg, seed, false);
    }
}

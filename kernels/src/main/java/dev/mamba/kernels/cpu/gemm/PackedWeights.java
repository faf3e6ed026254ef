package dev.mamba.kernels.cpu.gemm;

/** A weight matrix w [N, K] rearranged once by a {@link Gemm} for fast repeated products. */
public interface PackedWeights {
    /** Output features (rows of w). */
    int n();

    /** Input features (columns of w). */
    int k();
}

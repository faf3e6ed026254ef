package dev.mamba.kernels.cpu.gemm;

import dev.mamba.kernels.cpu.CpuParallel;

/**
 * fp32 matrix product against a packed weight: {@code out[m, n] = (accumulate ? out[m, n] : 0) +
 * Σ_k x[m, k]·w[n, k] + bias[n]}, with w in PyTorch's Linear layout [N, K].
 */
public interface Gemm {

    /** Implementation name for logs and benchmarks (e.g. "vector-256", "scalar"). */
    String name();

    /** Packs w [n, k] (row stride ldw, starting at wOff) for {@link #multiply}. */
    PackedWeights pack(float[] w, int wOff, int ldw, int n, int k);

    /**
     * out [m, w.n()] (+)= x [m, w.k()] · wᵀ + bias. bias may be null. Runs on {@code par}'s threads.
     * x and out must not overlap.
     */
    void multiply(CpuParallel par, int m, float[] x, int xOff, int ldx, PackedWeights w,
                  float[] bias, int biasOff, float[] out, int outOff, int ldo, boolean accumulate);
}

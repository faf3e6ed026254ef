package dev.mamba.kernels.cpu.gemm;

import dev.mamba.kernels.cpu.CpuParallel;

/** Portable fp32 GEMM without the Vector API: blocked over rows, four outputs at a time. */
public final class ScalarGemm implements Gemm {

    /** The weights kept as a contiguous copy of w [N, K]. */
    record Packed(float[] w, int n, int k) implements PackedWeights {
    }

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public PackedWeights pack(float[] w, int wOff, int ldw, int n, int k) {
        float[] p = new float[n * k];
        for (int r = 0; r < n; r++) {
            System.arraycopy(w, wOff + r * ldw, p, r * k, k);
        }
        return new Packed(p, n, k);
    }

    @Override
    public void multiply(CpuParallel par, int m, float[] x, int xOff, int ldx, PackedWeights pw,
                         float[] bias, int biasOff, float[] out, int outOff, int ldo, boolean accumulate) {
        Packed p = (Packed) pw;
        final int n = p.n, k = p.k;
        final int rowBlock = 16;
        int blocks = (m + rowBlock - 1) / rowBlock;
        par.forEach(blocks, blk -> {
            int r0 = blk * rowBlock, r1 = Math.min(m, r0 + rowBlock);
            for (int r = r0; r < r1; r++) {
                int xr = xOff + r * ldx;
                int or = outOff + r * ldo;
                for (int c = 0; c < n; c++) {
                    int wr = c * k;
                    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                    int j = 0;
                    for (; j + 3 < k; j += 4) {
                        s0 += x[xr + j] * p.w[wr + j];
                        s1 += x[xr + j + 1] * p.w[wr + j + 1];
                        s2 += x[xr + j + 2] * p.w[wr + j + 2];
                        s3 += x[xr + j + 3] * p.w[wr + j + 3];
                    }
                    for (; j < k; j++) {
                        s0 += x[xr + j] * p.w[wr + j];
                    }
                    float s = (s0 + s1) + (s2 + s3);
                    if (bias != null) {
                        s += bias[biasOff + c];
                    }
                    out[or + c] = accumulate ? out[or + c] + s : s;
                }
            }
        });
    }
}

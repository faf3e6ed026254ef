package dev.mamba.kernels.cuda;

import dev.mamba.kernels.DType;
import dev.mamba.kernels.Precision;

/**
 * Chooses and launches the GEMM kernel of {@code linear}: bf16 tensor cores when the weight is bf16
 * (an fp32 input is converted to bf16 first), else tf32 tensor cores, or fp32 FFMA in FP32 mode.
 * Field order of the parameter struct: gemm.cu {@code gemm::P}.
 */
final class CudaGemm {
    private CudaGemm() {
    }

    static final int BIG_BM = 128, BIG_BN = 256, BIG_THREADS = 256;
    static final int SMALL_BM = 128, SMALL_BN = 128, SMALL_THREADS = 128;
    static final int STAGES = 4;

    /** Dynamic shared memory of the tensor-core kernels: STAGES x (BM + BN) rows of 128 bytes. */
    static int mmaSmem(int bm, int bn) {
        return STAGES * (bm + bn) * 128;
    }

    /** Kernel family for this backend and weight type: mamba_sgemm, mamba_mma_tf32 or mamba_mma_bf16. */
    static String family(Precision precision, DType weight) {
        if (weight == DType.BF16) {
            return "mamba_mma_bf16";
        }
        return precision == Precision.FP32 ? "mamba_sgemm" : "mamba_mma_tf32";
    }

    static void run(CudaBackend be, CudaTensor x, CudaTensor w, CudaTensor bias, CudaTensor out, boolean accumulate) {
        final int m = x.rows, n = w.rows, k = x.cols;
        if (m == 0 || n == 0) {
            return;
        }
        String family = family(be.precision(), w.dtype);
        DType inType = w.dtype == DType.BF16 ? DType.BF16 : DType.F32;
        if (x.dtype != inType) {
            x = be.converted(x, inType);
        }
        final int bm, bn, threads, smem;
        String kernel;
        if (family.equals("mamba_sgemm")) {
            kernel = family;
            bm = 128;
            bn = 128;
            threads = 256;
            smem = 0;
        } else {
            long mt = (m + 127) / 128;
            long bigTiles = mt * ((n + BIG_BN - 1) / BIG_BN);
            long smallTiles = mt * ((n + SMALL_BN - 1) / SMALL_BN);
            boolean small = n <= SMALL_BN || (bigTiles < be.smCount() && smallTiles > bigTiles);
            kernel = family + (small ? "_small" : "_big");
            bm = small ? SMALL_BM : BIG_BM;
            bn = small ? SMALL_BN : BIG_BN;
            threads = small ? SMALL_THREADS : BIG_THREADS;
            smem = mmaSmem(bm, bn);
        }
        final long vecW = w.aligned16() ? 1 : 0;
        final long outBf16 = out.dtype == DType.BF16 ? 1 : 0;
        final long biasAddr = bias == null ? 0 : bias.address();
        // grid.y <= 65535: very tall inputs go in row slices
        final int rowsPerLaunch = 65535 * bm;
        for (int r0 = 0; r0 < m; r0 += rowsPerLaunch) {
            int r1 = Math.min(m, r0 + rowsPerLaunch);
            CudaTensor xs = r0 == 0 && r1 == m ? x : (CudaTensor) x.rows(r0, r1);
            CudaTensor os = r0 == 0 && r1 == m ? out : (CudaTensor) out.rows(r0, r1);
            long vecX = xs.aligned16() ? 1 : 0;
            long vecOut = (os.address() % (2L * os.dtype.bytes()) == 0 && os.ld % 2 == 0) ? 1 : 0;
            be.module().launch(kernel, (n + bn - 1) / bn, (r1 - r0 + bm - 1) / bm, 1, threads, smem,
                    xs.address(), w.address(), biasAddr, os.address(), xs.ld, w.ld, os.ld, r1 - r0, n, k,
                    accumulate ? 1 : 0, vecX, vecW, vecOut, outBf16);
        }
    }
}

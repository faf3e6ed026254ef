package dev.mamba.kernels.cuda;

import dev.mamba.kernels.DType;
import dev.mamba.kernels.Precision;

/**
 * Chooses and launches the GEMM kernel of {@code linear}: bf16 tensor cores when the weight is bf16
 * (an fp32 input is converted to bf16 first; wgmma on sm_90a for big tiles, else mma.sync), tf32 tensor
 * cores for fp32 weights, or fp32 FFMA in FP32 mode. Parameter struct: gemm_common.cuh {@code gemm::P}.
 */
final class CudaGemm {
    private CudaGemm() {
    }

    /** Pipeline depth of the big (128x256) and small (128x128) tensor-core kernels (gemm.cu MMA_KERNEL). */
    static final int BIG_STAGES = 4, SMALL_STAGES = 3;

    /** Tile rows, tile columns, threads and dynamic shared memory of a GEMM kernel. */
    record Shape(int bm, int bn, int threads, int smem) {
    }

    /** Dynamic shared memory of the tensor-core kernels: stages x (BM + BN) rows of 128 bytes. */
    static int mmaSmem(int stages, int bm, int bn) {
        return stages * (bm + bn) * 128;
    }

    static Shape shape(String kernel) {
        if (kernel.equals("mamba_sgemm")) {
            return new Shape(128, 128, 256, 0);
        }
        if (kernel.equals("mamba_wgmma_bf16")) {
            return new Shape(128, 256, 256, mmaSmem(4, 128, 256) + 1024);
        }
        if (kernel.endsWith("_small")) {
            return new Shape(128, 128, 128, mmaSmem(SMALL_STAGES, 128, 128));
        }
        return new Shape(128, 256, 256, mmaSmem(BIG_STAGES, 128, 256));
    }

    /** Kernel family for this backend and weight type: mamba_sgemm, mamba_mma_tf32 or mamba_mma_bf16. */
    static String family(Precision precision, DType weight) {
        if (weight == DType.BF16) {
            return "mamba_mma_bf16";
        }
        return precision == Precision.FP32 ? "mamba_sgemm" : "mamba_mma_tf32";
    }

    /** Small (128x128) tiles for narrow outputs, or when big tiles would leave SMs idle. */
    static boolean smallTiles(int m, int n, int sms) {
        long mt = (m + 127) / 128;
        long bigTiles = mt * ((n + 255) / 256);
        long smallTiles = mt * ((n + 127) / 128);
        return n <= 128 || (bigTiles < sms && smallTiles > bigTiles);
    }

    static void run(CudaBackend be, CudaTensor x, CudaTensor w, CudaTensor bias, CudaTensor out, boolean accumulate) {
        if (x.rows == 0 || w.rows == 0) {
            return;
        }
        String family = family(be.precision(), w.dtype);
        DType inType = w.dtype == DType.BF16 ? DType.BF16 : DType.F32;
        if (x.dtype != inType) {
            x = be.converted(x, inType);
        }
        if (family.equals("mamba_sgemm")) {
            launch(be, be.module(), family, x, w, bias, out, accumulate);
            return;
        }
        boolean small = smallTiles(x.rows, w.rows, be.smCount());
        if (!small && inType == DType.BF16) {
            CudaModule wg = be.wgmmaModule();
            if (wg != null) {
                launch(be, wg, "mamba_wgmma_bf16", x, w, bias, out, accumulate);
                return;
            }
        }
        launch(be, be.module(), family + (small ? "_small" : "_big"), x, w, bias, out, accumulate);
    }

    /** Launches one GEMM kernel; very tall inputs go in row slices (grid.y ≤ 65535). */
    static void launch(CudaBackend be, CudaModule module, String kernel, CudaTensor x, CudaTensor w, CudaTensor bias,
                       CudaTensor out, boolean accumulate) {
        final int m = x.rows, n = w.rows, k = x.cols;
        Shape s = shape(kernel);
        final long vecW = w.aligned16() ? 1 : 0;
        final long outBf16 = out.dtype == DType.BF16 ? 1 : 0;
        final long biasAddr = bias == null ? 0 : bias.address();
        final int rowsPerLaunch = 65535 * s.bm();
        for (int r0 = 0; r0 < m; r0 += rowsPerLaunch) {
            int r1 = Math.min(m, r0 + rowsPerLaunch);
            CudaTensor xs = r0 == 0 && r1 == m ? x : (CudaTensor) x.rows(r0, r1);
            CudaTensor os = r0 == 0 && r1 == m ? out : (CudaTensor) out.rows(r0, r1);
            long vecX = xs.aligned16() ? 1 : 0;
            long vecOut = (os.address() % (2L * os.dtype.bytes()) == 0 && os.ld % 2 == 0) ? 1 : 0;
            module.launch(kernel, (n + s.bn() - 1) / s.bn(), (r1 - r0 + s.bm() - 1) / s.bm(), 1, s.threads(),
                    s.smem(), xs.address(), w.address(), biasAddr, os.address(), xs.ld, w.ld, os.ld, r1 - r0, n, k,
                    accumulate ? 1 : 0, vecX, vecW, vecOut, outBf16);
        }
    }
}

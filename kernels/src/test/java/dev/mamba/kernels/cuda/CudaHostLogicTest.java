package dev.mamba.kernels.cuda;

import dev.mamba.kernels.DType;
import dev.mamba.kernels.Precision;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Host-side pieces of the CUDA backend that need no GPU: bf16 rounding, size classes, kernel choice. */
class CudaHostLogicTest {

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals(1.0f, Bf16.round(1.0f));
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0)
        assertEquals(1.0f, Bf16.round(1.0f + 0x1p-8f));
        // 1 + 3*2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even (1 + 2^-6)
        assertEquals(1.0f + 0x1p-6f, Bf16.round(1.0f + 3 * 0x1p-8f));
        // just above the halfway point rounds up
        assertEquals(1.0f + 0x1p-7f, Bf16.round(1.0f + 0x1p-8f + 0x1p-20f));
        assertEquals(-2.5f, Bf16.round(-2.5f));
        assertTrue(Float.isNaN(Bf16.round(Float.NaN)));
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.POSITIVE_INFINITY));
        // the largest finite float rounds to infinity in bf16 (as __float2bfloat16_rn)
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.MAX_VALUE));
        java.util.Random r = new java.util.Random(7);
        for (int i = 0; i < 10000; i++) {
            float f = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(10) - 5));
            float g = Bf16.round(f);
            assertTrue(Math.abs(g - f) <= Math.abs(f) * 0x1p-8f, f + " -> " + g);
        }
    }

    @Test
    void sizeClassesBoundTheSlack() {
        assertEquals(512, DeviceMemory.roundUp(0));
        assertEquals(512, DeviceMemory.roundUp(1));
        assertEquals(1024, DeviceMemory.roundUp(513));
        assertEquals(1L << 20, DeviceMemory.roundUp(1L << 20));
        long prev = 0;
        for (long b = 1; b < (1L << 34); b = b * 3 + 7) {
            long r = DeviceMemory.roundUp(b);
            assertTrue(r >= b && r <= Math.max(512, b + b / 4 + 512), b + " -> " + r);
            assertTrue(r >= prev);
            prev = r;
        }
    }

    @Test
    void scanSharedMemoryMatchesTheKernelLayout() {
        // 2 stages of (u, dt, z [32x32] + B, C [32xN]) activations + δ, δu [32x32] + B, C f32 + partial y
        // sums [32 steps][128 threads]
        assertEquals(2 * (3 * 1024 + 2 * 32 * 16) * 4 + (2 * 1024 + 2 * 32 * 16 + 1024 * 4) * 4,
                CudaScan.smem(4, 16, 4, false));
        assertEquals(61440, CudaScan.smem(4, 16, 4, false));
        // dt_proj fused (bf16): the dt tile is dtIn [32 x 72] and the block's W_dt rows [32 x 72] are added
        assertEquals(CudaScan.smem(2, 16, 4, false) + 2 * 32 * (72 - 32) * 2 + 32 * 72 * 2, CudaScan.smem(2, 16, 4, true));
        assertTrue(CudaScan.smem(2, 16, 2, false) < 227 * 1024);
        assertTrue(CudaScan.smem(4, 64, 4, false) < 227 * 1024);
        assertTrue(CudaScan.smem(2, 64, 4, true) < 227 * 1024);
        // warp-specialised main pass: 4 raw slots of (u, dt, z [16x32] + B, C [16xN]) + 2 f32 buffers of
        // (δ, δu [16x32] float2, B, C [16xN], partial y [16 steps][32 x N/4]); 3 blocks of 256 threads per SM
        assertEquals(4 * (3 * 512 + 2 * 16 * 16) * 2 + 2 * (2 * 512 + 2 * 16 * 16 + 16 * 128) * 4, CudaScan.wsSmem(2, 16, 4, false));
        assertEquals(45056, CudaScan.wsSmem(2, 16, 4, false));
        assertTrue(4 * CudaScan.wsSmem(2, 16, 4, false) <= 227 * 1024);  // the sm_90a pass: 4 blocks per SM
        assertTrue(3 * CudaScan.wsSmem(4, 16, 4, false) <= 228 * 1024);
        assertTrue(2 * CudaScan.wsSmem(4, 32, 4, false) <= 228 * 1024);
        // with dt_proj fused in: dtIn [16 x 64] instead of dt [16 x 32] per slot, a raw-dt scratch [16 x 40] f32
        assertEquals(45056 + 4 * 16 * 32 * 2 + 16 * 40 * 4, CudaScan.wsSmem(2, 16, 4, true));
        assertTrue(4 * CudaScan.wsSmem(2, 16, 4, true) <= 227 * 1024);
        // channel-per-thread pass, 4 warps of their own: per warp a ring of 8-step slots (u, dt, z [8 x 32] + B,
        // C [8 x 16]), 3 slots bf16 / 2 f32, plus (bf16) B, C of the tile in f32 [8 x 32]; with dt_proj fused in
        // 2 slots whose dt tile is dtIn [8 x 56], W_dt [32 x 56] bf16 and a dt scratch [8 x 40] f32. The blocks
        // per SM the instances are launched for (scan.cu SCAN_CHAN: 5, 6, 5) fit with 1 KB reserved per block.
        assertEquals(4 * (3 * 8 * 128 * 2 + 8 * 32 * 4), CudaScan.chanSmem(2, false));
        assertEquals(4 * (2 * 8 * 128 * 4), CudaScan.chanSmem(4, false));
        assertEquals(4 * (2 * 8 * 152 * 2 + 8 * 32 * 4 + 32 * 56 * 2 + 8 * 40 * 4), CudaScan.chanSmem(2, true));
        assertTrue(5 * (CudaScan.chanSmem(2, false) + 1024) <= 228 * 1024);
        assertTrue(6 * (CudaScan.chanSmem(4, false) + 1024) <= 228 * 1024);
        assertTrue(5 * (CudaScan.chanSmem(2, true) + 1024) <= 228 * 1024);
        // conv + x_proj (conv_xproj.cu): 3 stages of x rows with 3 halo rows, w_x [np x 64] bf16, taps [64 x 4]
        // and bias [64] f32, plus the A tile [rows x 64] bf16; the 130m model's instances (np = 80) fit the blocks
        // per SM they are compiled for (conv_xproj.cu blocks_per_sm: 8 warps 2, 4 warps 3; np = 128 gets fewer)
        assertEquals(3 * (131 * 128 + 80 * 128 + 1024 + 256) + 128 * 128, CudaBackend.convXProjSmem(8, 80));
        assertEquals(3 * (67 * 128 + 32 * 128 + 1024 + 256) + 64 * 128, CudaBackend.convXProjSmem(4, 32));
        assertTrue(2 * (CudaBackend.convXProjSmem(8, 80) + 1024) <= 228 * 1024);
        assertTrue(3 * (CudaBackend.convXProjSmem(4, 96) + 1024) <= 228 * 1024);
        // auto: the fused kernel at 64 x 2048 on 132 SMs (2048 blocks), not at 8 x 2048 (256 blocks, where it lost)
        assertTrue(CudaBackend.convXProjAuto(64 * 2048, 132));
        assertFalse(CudaBackend.convXProjAuto(8 * 2048, 132));
        assertTrue(CudaScan.hasWs(16, false) && CudaScan.hasWs(8, false) && CudaScan.hasWs(32, false)
                && !CudaScan.hasWs(64, false));
        assertTrue(CudaScan.hasWs(16, true) && !CudaScan.hasWs(8, true) && !CudaScan.hasWs(32, true));
        assertEquals(8, CudaScan.templateN(3));
        assertEquals(16, CudaScan.templateN(16));
        assertEquals(32, CudaScan.templateN(17));
        assertEquals(64, CudaScan.templateN(64));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaScan.templateN(65));
        assertTrue(e.getMessage().contains("65"), e.getMessage());
    }

    @Test
    void gemmKernelsFollowPrecisionAndWeightType() {
        assertEquals(List.of(CudaGemm.Kernel.SGEMM), CudaGemm.mmaKernels(Precision.FP32, DType.F32));
        assertEquals(List.of(CudaGemm.Kernel.MMA_TF32_BIG, CudaGemm.Kernel.MMA_TF32_SMALL),
                CudaGemm.mmaKernels(Precision.TF32, DType.F32));
        assertEquals(List.of(CudaGemm.Kernel.MMA_BF16_BIG, CudaGemm.Kernel.MMA_BF16_SMALL),
                CudaGemm.mmaKernels(Precision.BF16, DType.BF16));
        assertEquals(List.of(CudaGemm.Kernel.MMA_TF32_BIG, CudaGemm.Kernel.MMA_TF32_SMALL),
                CudaGemm.mmaKernels(Precision.BF16, DType.F32));
        for (CudaGemm.Kernel k : CudaGemm.Kernel.values()) {
            assertTrue(k.smem <= 227 * 1024, k + " needs " + k.smem + " bytes of shared memory");
        }
        // wsg::Cfg: stages, 128 bytes of mbarriers, 8 consumer warps x 16 rows x 160 bytes of output staging, slack
        assertEquals(4 * 384 * 128 + 128 + 8 * 16 * 160 + 1024, CudaGemm.Kernel.WS_BF16_256.smem);
        assertEquals(6 * 256 * 128 + 128 + 8 * 16 * 160 + 1024, CudaGemm.Kernel.WS_TF32_128.smem);
        // bulk epilogue in 2 rounds: 4 stages + 64 bytes of mbarriers + 8 warps x 16 rows x (256 + 16) bytes, no slack
        assertEquals(4 * 384 * 128 + 64 + 8 * 16 * 272, CudaGemm.Kernel.WS_BF16_256_E2.smem);
        // 192-wide tiles: 5 stages of 40 KB; bulk in 3 rounds of 64 columns (rows of 128 + 16 bytes)
        assertEquals(5 * 320 * 128 + 128 + 8 * 16 * 160 + 1024, CudaGemm.Kernel.WS_BF16_192.smem);
        assertEquals(5 * 320 * 128 + 128 + 8 * 16 * 144 + 1024, CudaGemm.Kernel.WS_BF16_192_E3.smem);
        assertTrue(CudaGemm.smallTiles(16384, 80, 132));
        assertTrue(!CudaGemm.smallTiles(16384, 3072, 132));
    }

    @Test
    void gemmLaunchShapesAndTuningClasses() {
        // persistent kernels: one CTA per SM, never more CTAs than tiles
        assertArrayEquals(new long[] {132, 1}, CudaGemm.grid(CudaGemm.Kernel.WS_BF16_256, 16384, 3072, 132));
        assertArrayEquals(new long[] {9, 1}, CudaGemm.grid(CudaGemm.Kernel.WS_BF16_256, 300, 520, 132));
        // tiled kernels: (N tiles, M tiles)
        assertArrayEquals(new long[] {12, 128}, CudaGemm.grid(CudaGemm.Kernel.MMA_BF16_BIG, 16384, 3072, 132));
        assertEquals(14, CudaGemm.mClass(16384));
        assertEquals(14, CudaGemm.mClass(9000));
        assertEquals(15, CudaGemm.mClass(1 << 20));
        assertEquals(0, CudaGemm.mClass(1));
        long[] p = CudaGemm.params(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, true, false, true, false, true, true, false,
                CudaGemm.ACT_SOFTPLUS);
        assertArrayEquals(new long[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 0, 1, 0, 1, 1, 0, 1}, p);
        assertEquals("layers.*.mixer.in_proj.weight", CudaBackend.weightLabel("backbone.layers.13.mixer.in_proj.weight"));
        // tf32 rounding of the wgmma check: nearest, ties away from zero
        assertEquals(1.0f, WgmmaCheck.tf32(1.0f + 0x1p-12f));
        assertEquals(1.0f + 0x1p-10f, WgmmaCheck.tf32(1.0f + 0x1p-11f));
        // kernels without a TMA producer take gemm::P alone
        assertSame(p, CudaGemm.launchParams(CudaGemm.Kernel.WS_BF16_256_E2, p));
    }

    @Test
    void tmaKernelsShareTheirTwinsLayout() {
        // the TMA kernels are the cp.async kernels with another producer: same tiles, threads and shared memory
        assertEquals(CudaGemm.Kernel.WS_BF16_256_E2.smem, CudaGemm.Kernel.TMA_BF16_256_E2.smem);
        assertEquals(CudaGemm.Kernel.WS_BF16_192_E3.smem, CudaGemm.Kernel.TMA_BF16_192_E3.smem);
        for (CudaGemm.Kernel k : CudaGemm.Kernel.values()) {
            assertEquals(k.function.contains("_tma_"), k.tma, k.toString());
            if (k.tma) {
                assertTrue(k.hopper && k.persistent && k.input == DType.BF16 && k.threads == 384, k.toString());
            }
        }
        // libcuda.so.1 is found among the process's mappings (JCuda's driver binding links it)
        assertEquals("/usr/lib/x86_64-linux-gnu/libcuda.so.580.65.06", TensorMaps.mappedLibcuda(List.of(
                "7f00-7f10 r-xp 00000000 08:01 42   /usr/lib/x86_64-linux-gnu/libc.so.6",
                "7f20-7f30 r-xp 00000000 08:01 43   /usr/lib/x86_64-linux-gnu/libcuda.so.580.65.06",
                "7f40-7f50 rw-p 00000000 00:00 0")));
        assertNull(TensorMaps.mappedLibcuda(List.of("7f00-7f10 r-xp 00000000 08:01 42   /usr/lib/libc.so.6")));
        // without a GPU (CI) no driver is mapped: the TMA kernels are no candidates, and asking for a map says why
        if (TensorMaps.unavailableReason() != null) {
            assertTrue(CudaGemm.hopperKernels(DType.BF16).stream().noneMatch(k -> k.tma));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> TensorMaps.bf16Tiled("x", 0, 8, 64, 64, 128));
            assertTrue(e.getMessage().contains(TensorMaps.unavailableReason()), e.getMessage());
        } else {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TensorMaps.bf16Tiled("y", 8, 8, 60, 60, 128));
            assertTrue(e.getMessage().contains("tensor map of y"), e.getMessage());
        }
    }
}

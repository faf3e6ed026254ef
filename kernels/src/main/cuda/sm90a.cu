// The sm_90a module (mamba_wgmma.fatbin, built by build-fatbin.sh for sm_90a alone): kernels that need
// Hopper's arch-specific instructions, loaded next to the portable module (all.cu) on compute capability
// 9.0 in TF32/BF16 mode: the wgmma GEMMs, and the bf16 scan's warp-specialised main pass at 4 blocks per
// SM, which needs setmaxnreg.
#include "wgmma.cu"
#include "scan.cuh"

// The warp-specialised main pass of scan.cuh for 16 states, launched with 64 registers per thread so that
// 4 blocks of 256 threads fit an SM (the portable module's has 80 and 3 blocks): the recurrence warpgroup
// gives registers to the helper warpgroup (40 / 88; ptxas: the recurrence spills 16 bytes at 40 and none
// at 48, the helpers 4 bytes at 88 and 24 at 80). H200 probe (run 33): bf16 (64, 1536, 2048, 16)
// 1.313 ms against 1.385 with 3 blocks per SM (r48/80: 1.333); (8, 1536, 4096, 16) 0.372 vs 0.376 (its
// 384 blocks fill 3 per SM either way). Its fix-up pass is the portable module's p4 kernel.
// The _dtp_ variant computes dt from dtIn inside (scan.cuh FDT).
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define SCAN_WS4_BODY(FDT) scan::scan_ws_kernel<bf16, 16, 4, scan::WS_HELP, 40, 88, FDT>(p);
#else
#define SCAN_WS4_BODY(FDT) __trap();
#endif
extern "C" __global__ void __launch_bounds__(32 * 4 + scan::WS_HELP, 4) mamba_scan_bf16_n16_p4_ws4_main(const scan::P p) {
    SCAN_WS4_BODY(false)
}
extern "C" __global__ void __launch_bounds__(32 * 4 + scan::WS_HELP, 4) mamba_scan_bf16_n16_p4_dtp_ws4_main(const scan::P p) {
    SCAN_WS4_BODY(true)
}

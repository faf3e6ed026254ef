// Selective-scan kernel instances of the portable module (all.cu); the kernels themselves are in scan.cuh.
#include "scan.cuh"

// Register cap: 128 for the p4/p2 kernels of 32 channels (min blocks = 65536 / (threads * 128)), lower for
// the 16-channel ones, whose point is more resident warps (their shared memory allows 4-6 blocks). (A cap
// of 102 for bf16 measured 0.398 vs 0.404 ms at (8, 1536, 4096, 16) in H200 run 21 but spilled: not taken.)
#define SCAN_MINB(N, NPT, DT) (DT == 32 ? 512 / (DT * (N / NPT)) : (NPT == 1 ? 4 : 6))
#define SCAN_KERNEL_F(NAME, T, N, NPT, DT, FIX, EXACT, FDT)                                   \
    extern "C" __global__ void __launch_bounds__(DT*(N / NPT), SCAN_MINB(N, NPT, DT))         \
        NAME(const scan::P p) {                                                                 \
        scan::scan_kernel<T, N, NPT, DT, FIX, EXACT, FDT>(p);                                 \
    }
#define SCAN_KERNEL(NAME, T, N, NPT, DT, FIX, EXACT) SCAN_KERNEL_F(NAME, T, N, NPT, DT, FIX, EXACT, false)

// mamba_scan_<type>_n<N>_p<NPT>[_c<DT>]_{main,fix}[_exact]; no _c suffix: 32 channels per block.
#define SCAN_PAIR_C(TN, T, N, NPT, DT, SUF)                                                      \
    SCAN_KERNEL(mamba_scan_##TN##_n##N##_p##NPT##SUF##_main, T, N, NPT, DT, false, false)     \
    SCAN_KERNEL(mamba_scan_##TN##_n##N##_p##NPT##SUF##_fix, T, N, NPT, DT, true, false)
#define SCAN_PAIR(TN, T, N, NPT) SCAN_PAIR_C(TN, T, N, NPT, 32, )

#define SCAN_EXACT_PAIR(N, NPT)                                                                 \
    SCAN_KERNEL(mamba_scan_f32_n##N##_p##NPT##_main_exact, float, N, NPT, 32, false, true)    \
    SCAN_KERNEL(mamba_scan_f32_n##N##_p##NPT##_fix_exact, float, N, NPT, 32, true, true)

SCAN_PAIR(f32, float, 8, 4)
SCAN_PAIR(f32, float, 16, 2)
SCAN_PAIR(f32, float, 16, 4)
SCAN_PAIR(f32, float, 32, 4)
SCAN_PAIR(f32, float, 64, 4)
SCAN_PAIR(bf16, bf16, 8, 4)
SCAN_PAIR(bf16, bf16, 16, 2)
SCAN_PAIR(bf16, bf16, 16, 4)
SCAN_PAIR(bf16, bf16, 32, 4)
SCAN_PAIR(bf16, bf16, 64, 4)
// (benchmarks/device/kernel_probe.cu instantiates more shapes for comparison: 8 states per thread, 16
// channels per block with 1 or 2 states per thread; on the H200 each was slower than p4 with 32 channels.)
// exp2_fma (unbiased, FMA pipe) instead of ex2.approx in the recurrence (mamba.cuda.scanExp=exact).
SCAN_EXACT_PAIR(8, 4)
SCAN_EXACT_PAIR(16, 2)
SCAN_EXACT_PAIR(16, 4)
SCAN_EXACT_PAIR(32, 4)
SCAN_EXACT_PAIR(64, 4)
// bf16 with dt_proj fused in (CudaBackend.selectiveScanProjected; dt rank <= RMAX): _dtp_{main,fix}
#define SCAN_DTP_PAIR(N, NPT)                                                                   \
    SCAN_KERNEL_F(mamba_scan_bf16_n##N##_p##NPT##_dtp_main, bf16, N, NPT, 32, false, false, true) \
    SCAN_KERNEL_F(mamba_scan_bf16_n##N##_p##NPT##_dtp_fix, bf16, N, NPT, 32, true, false, true)
SCAN_DTP_PAIR(8, 4)
SCAN_DTP_PAIR(16, 2)
SCAN_DTP_PAIR(16, 4)
SCAN_DTP_PAIR(32, 4)
SCAN_DTP_PAIR(64, 4)
// Warp-specialised main pass (scan_ws_kernel), bf16 only: mamba_scan_bf16_n<N>_p4_ws_main, RT + 128 threads;
// split lanes take the _p4_fix kernel for their fix-up. (fp32 activations measured slower with it, H200 run 26:
// the emulation and the probe instantiate it.) Register caps: 80 for n8 / n16 (4 / 3 blocks per SM), 85
// for n32 (2 blocks of 384 threads).
#define SCAN_WS_MINB(N) (N == 8 ? 4 : (N == 16 ? 3 : 2))
#define SCAN_WS(TN, T, N)                                                                                       \
    extern "C" __global__ void __launch_bounds__(32 * (N / 4) + scan::WS_HELP, SCAN_WS_MINB(N))                 \
        mamba_scan_##TN##_n##N##_p4_ws_main(const scan::P p) {                                                  \
        scan::scan_ws_kernel<T, N, 4>(p);                                                                       \
    }
SCAN_WS(bf16, bf16, 8)
SCAN_WS(bf16, bf16, 16)
SCAN_WS(bf16, bf16, 32)
// ... and with dt_proj fused in (16 states): mamba_scan_bf16_n16_p4_dtp_ws_main; its fix-up is _p4_dtp_fix.
extern "C" __global__ void __launch_bounds__(32 * 4 + scan::WS_HELP, SCAN_WS_MINB(16))
    mamba_scan_bf16_n16_p4_dtp_ws_main(const scan::P p) {
    scan::scan_ws_kernel<bf16, 16, 4, scan::WS_HELP, 0, 0, true>(p);
}
// Channel-per-thread main pass for many lanes (scan_chan.cuh): blocks of 4 independent warps, 8-step tiles.
// bf16: 3 ring slots, 5 blocks per SM (96 registers); at 6 blocks the 80-register cap cost more than the 20 %
// more warps gained (H200 run 50-51, (64, 1536, 2048, 16): 1.140 ms at 5 blocks, 1.260-1.292 at 6 with 80
// registers, 1.259 with A in shared memory). f32: 2 slots, 6 blocks (80 registers, no spill): 1.462 ms
// against 1.494 at 5 blocks.
#include "scan_chan.cuh"
#define SCAN_CHAN(NAME, T, SLOTS, MINB, FDT, DELTA)                                                             \
    extern "C" __global__ void __launch_bounds__(32 * scan::CH_WARPS, MINB) NAME(const scan::P p) {             \
        scan::scan_chan_kernel<T, 8, SLOTS, FDT, DELTA>(p);                                                     \
    }
SCAN_CHAN(mamba_scan_bf16_n16_chan_main, bf16, 3, 5, false, false)
SCAN_CHAN(mamba_scan_f32_n16_chan_main, float, 2, 6, false, false)
// ... reading δ that the dt_proj GEMM's epilogue computed (bf16, opt-in: -Dmamba.cuda.deltaInDtProj=true)
SCAN_CHAN(mamba_scan_bf16_n16_chan_delta_main, bf16, 3, 5, false, true)
// ... with dt_proj fused in (bf16, rank <= 48; opt-in, measured slower: scan_chan.cuh): 2 slots, so that 5 blocks
// still fit (42 KB each)
SCAN_CHAN(mamba_scan_bf16_n16_chan_dtp_main, bf16, 2, 5, true, false)

// Runs the real wgmma.cu kernels (the first bf16 wgmma GEMM and the warp-specialised persistent bf16/tf32
// GEMMs) on the CPU with emulated mbarriers and descriptor-reading wgmma (emu_wgmma_ops.cuh) and compares
// them with a double-precision reference on the same rounded inputs: ragged M/N/K, a single k-tile,
// bias, accumulate, bf16 output, unaligned rows, and grids of fewer CTAs than tiles so that each CTA
// walks several tiles and the stage ring wraps.
#include "emu_common.cuh"
#include "emu_mma_ops.cuh"
#include "emu_wgmma_ops.cuh"
#include "wgmma.cu"
#include "emu_gemm_problem.cuh"
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <vector>

thread_local dim3e threadIdx, blockIdx, blockDim, gridDim;
thread_local unsigned char* emu_smem;
std::barrier<>* emu_bar;
EmuWarp* emu_warps;
EmuMbars emu_mbars;
namespace wg { thread_local EmuGroups emu_groups; thread_local EmuBulkGroups emu_bulk; }

template <typename Params>
static void launch(void (*k)(const Params), unsigned gx, unsigned gy, int threads, size_t smem, const Params& p) {
    std::vector<unsigned char> sm(smem + 2048);
    const int warps = threads / 32;
    for (unsigned y = 0; y < gy; ++y)
        for (unsigned x = 0; x < gx; ++x) {
            std::barrier<> bar(threads);
            emu_bar = &bar;
            PerWarp<EmuWarp> mma(warps);
            emu_warps = mma.areas.data();
            emu_mbars.bars.clear();
            std::fill(sm.begin(), sm.end(), 0xCD);
            std::vector<std::thread> ts;
            for (int t = 0; t < threads; ++t)
                ts.emplace_back([&, t] {
                    threadIdx = {(unsigned)t, 0, 0}; blockIdx = {x, y, 0}; blockDim = {(unsigned)threads, 1, 1};
                    gridDim = {gx, gy, 1};
                    emu_smem = sm.data();
                    wg::emu_groups = wg::EmuGroups{};
                    wg::emu_bulk = wg::EmuBulkGroups{};
                    k(p);
                    if (!wg::emu_groups.committed.empty() || !wg::emu_groups.open.empty()) {
                        fprintf(stderr, "emu: thread %d left wgmma groups unretired\n", t);
                        abort();
                    }
                    // the block's shared memory ends with it: a copy still reading it would read garbage
                    if (!wg::emu_bulk.committed.empty() || !wg::emu_bulk.open.empty()) {
                        fprintf(stderr, "emu: thread %d exited with bulk copies still reading shared memory\n", t);
                        abort();
                    }
                });
            for (auto& th : ts) th.join();
        }
}

static std::mt19937 rng(11);
static float gauss() { std::normal_distribution<float> d(0, 1); return d(rng); }
static int fails = 0;

// kind: 0 old wgmma bf16 (128x256 tiles, grid N/256 x M/128), 1 ws bf16 n256, 2 ws bf16 n128, 3 ws tf32 n256,
// 4 ws tf32 n128, 5 ws bf16 n256 with the bulk-copy epilogue (2 rounds), 6 / 7 ws bf16 n192 without / with it (3 rounds),
// 8-11 the TMA-producer kernels (n256e2, n256, n128, n192e3). ctas: grid of the persistent kernels (0: one per tile).
static void gemm_case(int kind, int M, int N, int K, int xoff, int pad, bool bias, bool acc, bool outBf16, int ctas,
                      bool wPre = false, bool xPre = false) {
    GemmProblem pr(kind <= 2 || kind >= 5 ? GemmIn::BF16 : GemmIn::TF32, M, N, K, xoff, pad, bias, acc, outBf16, gauss, wPre, xPre);
    const gemm::P& p = pr.p;
    const int bn = (kind == 2 || kind == 4 || kind == 10) ? 128 : kind == 6 || kind == 7 || kind == 11 ? 192 : 256;
    const unsigned tiles = (unsigned)(((M + 127) / 128) * ((N + bn - 1) / bn));
    const unsigned grid = ctas > 0 && (unsigned)ctas < tiles ? (unsigned)ctas : tiles;
    const char* name = "";
    switch (kind) {
        case 0: name = "wgmma bf16"; launch(mamba_wgmma_bf16, (N + 255) / 256, (M + 127) / 128, 256, wg::SMEM, p); break;
        case 1: name = "ws bf16 256"; launch(mamba_wgmma_ws_bf16_n256, grid, 1, 384, wsg::Cfg<256>::SMEM, p); break;
        case 2: name = "ws bf16 128"; launch(mamba_wgmma_ws_bf16_n128, grid, 1, 384, wsg::Cfg<128>::SMEM, p); break;
        case 3: name = "ws tf32 256"; launch(mamba_wgmma_ws_tf32_n256, grid, 1, 384, wsg::Cfg<256>::SMEM, p); break;
        case 4: name = "ws tf32 128"; launch(mamba_wgmma_ws_tf32_n128, grid, 1, 384, wsg::Cfg<128>::SMEM, p); break;
        case 5: name = "ws bf16 256e2"; launch(mamba_wgmma_ws_bf16_n256e2, grid, 1, 384, wsg::Cfg<256, 2>::SMEM, p); break;
        case 6: name = "ws bf16 192"; launch(mamba_wgmma_ws_bf16_n192, grid, 1, 384, wsg::Cfg<192>::SMEM, p); break;
        case 7: name = "ws bf16 192e3"; launch(mamba_wgmma_ws_bf16_n192e3, grid, 1, 384, wsg::Cfg<192, 3>::SMEM, p); break;
        default: {
            // TMA producer: the same parameters plus tensor maps of x (boxes of 128 rows) and w (boxes of the tile width)
            wsg::PT pt{};
            pt.p = p;
            pt.a = wg::emu_tensor_map((const void*)(uintptr_t)p.x, K, M, p.ldx * 2, 128);
            pt.b = wg::emu_tensor_map((const void*)(uintptr_t)p.w, K, N, p.ldw * 2, bn);
            switch (kind) {
                case 8: name = "tma bf16 256e2"; launch(mamba_wgmma_tma_bf16_n256e2, grid, 1, 384, wsg::Cfg<256, 2>::SMEM, pt); break;
                case 9: name = "tma bf16 256"; launch(mamba_wgmma_tma_bf16_n256, grid, 1, 384, wsg::Cfg<256>::SMEM, pt); break;
                case 10: name = "tma bf16 128"; launch(mamba_wgmma_tma_bf16_n128, grid, 1, 384, wsg::Cfg<128>::SMEM, pt); break;
                case 11: name = "tma bf16 192e3"; launch(mamba_wgmma_tma_bf16_n192e3, grid, 1, 384, wsg::Cfg<192, 3>::SMEM, pt); break;
            }
        }
    }
    const double err = pr.relError();
    const double tol = outBf16 ? 5e-3 : 1e-6;
    const bool ok = err <= tol && std::isfinite(err);
    printf("%s %-12s M=%d N=%d K=%d xoff=%d bias=%d acc=%d out=%s vecX=%lld ctas=%u/%u: rel %.2e\n", ok ? "ok  " : "FAIL",
           name, M, N, K, xoff, bias, acc, outBf16 ? "bf16" : "f32", p.vecX, grid, tiles, err);
    if (!ok) fails++;
}

int main() {
    gemm_case(0, 130, 260, 150, 0, 8, true, true, false, 0);     // first wgmma kernel: edges, 3 k-tiles, accumulate
    gemm_case(1, 200, 300, 200, 0, 0, true, false, false, 2);    // 4 tiles on 2 CTAs: 8 k-iterations, ring of 4 wraps
    gemm_case(1, 129, 80, 48, 0, 32, false, true, true, 0);      // one k-tile (dt_proj-like view), bf16 out, accumulate
    gemm_case(2, 260, 80, 330, 0, 0, false, false, true, 2);     // x_proj-like: n128 tile, 6 k-tiles x 3 tiles on 2 CTAs
    gemm_case(3, 140, 260, 100, 1, 3, true, true, false, 1);     // tf32, unaligned rows (element loads), 1 CTA walks 4 tiles
    gemm_case(4, 100, 130, 70, 0, 0, true, false, false, 1);     // tf32 n128, K tail inside a chunk
    gemm_case(1, 272, 512, 128, 0, 0, false, true, false, 2);    // out_proj-like: f32 +=, full tiles (batched old-value loads) + row tail
    gemm_case(2, 256, 256, 64, 0, 0, false, true, false, 3);     // n128: f32 += on full tiles
    gemm_case(3, 200, 300, 96, 0, 0, true, true, false, 2, true);   // tf32, w rounded at upload: only x rows rounded in smem
    gemm_case(4, 130, 200, 70, 0, 0, false, false, false, 1, true); // tf32 n128, same
    gemm_case(3, 200, 300, 96, 0, 0, true, false, false, 2, true, true);  // tf32, both pre-rounded: no rounding pass
    gemm_case(4, 130, 200, 70, 0, 0, false, true, false, 1, false, true); // tf32 n128, x pre-rounded: only w rows rounded
    // staged epilogue (no bias, no accumulate, 16-byte aligned output): interior tiles through the warp
    // buffers, edge tiles (row and column tails) through the pair stores, in one launch
    gemm_case(1, 300, 544, 64, 0, 0, false, false, true, 3);     // bf16 out, n256: 2 full + 4 edge tiles
    gemm_case(1, 256, 512, 48, 0, 0, false, false, false, 2);    // f32 out, n256, one k-tile (dt_proj-like)
    gemm_case(2, 260, 272, 96, 0, 0, false, false, true, 2);     // bf16 out, n128
    gemm_case(4, 256, 256, 40, 0, 0, false, false, false, 3);    // tf32 n128, f32 out
    // k-loops longer than the ring with several tiles per CTA (the ring wraps within and across tiles)
    gemm_case(2, 300, 272, 640, 0, 0, true, false, true, 2);     // n128: 10 k-tiles x 3 tiles per CTA, bias, bf16 out
    gemm_case(2, 260, 80, 1536, 0, 0, false, false, true, 2);    // x_proj-like: 24 k-tiles, 3 tiles on 2 CTAs
    // aligned rows whose K ends inside a 16-byte chunk (the copy's partial source size; padding is NaN)
    gemm_case(2, 200, 80, 108, 0, 4, false, false, true, 2);     // bf16 n128: second k-tile ends 4 into chunk 5
    gemm_case(4, 130, 96, 70, 0, 2, true, false, false, 1);      // tf32 n128: the last k-tile ends 2 into chunk 1
    // bulk-copy epilogue (bf16 stores, f32 adds): interior tiles through the warp buffers and the TMA unit, edge tiles through the pair
    // stores; 2-3 CTAs walk several tiles, so each round and tile reuses a buffer its copies read before
    for (int kind : {5, 6, 7}) {
        gemm_case(kind, 300, 544, 200, 0, 0, false, false, true, 3);  // 2 interior + 4 edge tiles, 4 k-tiles, ring wraps
        gemm_case(kind, 512, 512, 64, 0, 0, false, false, true, 2);   // 8 interior tiles on 2 CTAs, one k-tile
        gemm_case(kind, 260, 520, 96, 0, 0, true, false, true, 2);    // bias: pair stores only
        gemm_case(kind, 200, 300, 130, 0, 0, false, true, false, 2);  // f32 +=: bulk adds (interior), pair stores
        gemm_case(kind, 384, 520, 96, 0, 0, false, true, false, 2);   // f32 += through bulk adds on 2 CTAs, N tail
    }
    // TMA producer (one thread, boxes zero-filled past M, N and K: x's row padding is NaN): every kind on ragged
    // shapes with the ring wrapping within and across tiles, the bulk epilogue's stores and adds, one k-tile, K = 48
    for (int kind : {8, 9, 10, 11}) {
        gemm_case(kind, 300, 544, 200, 0, 8, false, false, true, 3);   // 4 k-tiles (last partial), edge tiles, bf16 out
        gemm_case(kind, 260, 520, 640, 0, 0, true, false, false, 2);   // 10 k-tiles x several tiles per CTA, bias
        gemm_case(kind, 200, 300, 136, 0, 0, false, true, false, 2);   // f32 += (K ends inside a box)
        gemm_case(kind, 129, 300, 48, 0, 32, false, false, true, 2);   // dt_proj-like: K = 48 in a 64-wide box
        gemm_case(kind, 37, 300, 64, 0, 0, false, false, true, 2);     // fewer rows than the x box
    }
    gemm_case(6, 300, 400, 200, 0, 0, false, true, false, 2);   // n192: f32 += (batched old-value loads), N tail
    gemm_case(6, 272, 384, 640, 0, 0, true, false, false, 2);   // n192: 10 k-tiles x 6 tiles, ring of 5 wraps, bias
    printf(fails ? "%d FAILED\n" : "all passed\n", fails);
    return fails != 0;
}

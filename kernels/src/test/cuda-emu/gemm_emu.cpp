// Runs the real gemm.cu kernels (sgemm, mma.sync tf32/bf16 big/small) on the CPU with emulated
// ldmatrix/mma (emu_mma_ops.cuh) and compares them with a double-precision reference on the same
// rounded inputs. Edges in M, N and K, column views, bias, accumulate, bf16 output, unaligned loads.
#include "emu_common.cuh"
#include "emu_mma_ops.cuh"
#include "gemm.cu"
#include "emu_gemm_problem.cuh"
#include <vector>
#include <thread>
#include <random>
#include <cstdio>
#include <memory>

thread_local dim3e threadIdx, blockIdx, blockDim;
thread_local unsigned char* emu_smem;
std::barrier<>* emu_bar;
EmuWarp* emu_warps;

static void launch(void (*k)(const gemm::P), unsigned gx, unsigned gy, int threads, size_t smem, const gemm::P& p) {
    std::vector<unsigned char> sm(smem + 1024);
    const int warps = threads / 32;
    for (unsigned y = 0; y < gy; ++y)
        for (unsigned x = 0; x < gx; ++x) {
            std::barrier<> bar(threads);
            emu_bar = &bar;
            std::vector<std::unique_ptr<std::barrier<>>> wb;
            std::vector<EmuWarp> areas(warps);
            for (int i = 0; i < warps; ++i) { wb.emplace_back(new std::barrier<>(32)); areas[i].bar = wb.back().get(); }
            emu_warps = areas.data();
            std::fill(sm.begin(), sm.end(), 0xCD);
            std::vector<std::thread> ts;
            for (int t = 0; t < threads; ++t)
                ts.emplace_back([&, t] {
                    threadIdx = {(unsigned)t, 0, 0}; blockIdx = {x, y, 0}; blockDim = {(unsigned)threads, 1, 1};
                    emu_smem = sm.data();
                    k(p);
                });
            for (auto& th : ts) th.join();
        }
}

static std::mt19937 rng(7);
static float gauss() { std::normal_distribution<float> d(0, 1); return d(rng); }
static int fails = 0;

// kind: 0 sgemm, 1 tf32 small, 2 tf32 big, 3 bf16 small, 4 bf16 big
static void gemm_case(int kind, int M, int N, int K, int xoff, int pad, bool bias, bool acc, bool outBf16) {
    const GemmIn in = kind >= 3 ? GemmIn::BF16 : kind >= 1 ? GemmIn::TF32 : GemmIn::F32;
    GemmProblem pr(in, M, N, K, xoff, pad, bias, acc, outBf16, gauss);
    const gemm::P& p = pr.p;
    const char* name = "";
    switch (kind) {
        case 0: name = "sgemm"; launch(mamba_sgemm, (N + 127) / 128, (M + 127) / 128, 256, 0, p); break;
        case 1: name = "tf32 small"; launch(mamba_mma_tf32_small, (N + 127) / 128, (M + 127) / 128, 128, 3 * 256 * 128, p); break;
        case 2: name = "tf32 big"; launch(mamba_mma_tf32_big, (N + 255) / 256, (M + 127) / 128, 256, 4 * 384 * 128, p); break;
        case 3: name = "bf16 small"; launch(mamba_mma_bf16_small, (N + 127) / 128, (M + 127) / 128, 128, 3 * 256 * 128, p); break;
        case 4: name = "bf16 big"; launch(mamba_mma_bf16_big, (N + 255) / 256, (M + 127) / 128, 256, 4 * 384 * 128, p); break;
    }
    double err = pr.relError();
    double tol = outBf16 ? 5e-3 : 1e-6;
    bool ok = err <= tol && std::isfinite(err);
    printf("%s %-10s M=%d N=%d K=%d xoff=%d bias=%d acc=%d out=%s vecX=%lld vecW=%lld: rel %.2e\n", ok ? "ok  " : "FAIL", name,
           M, N, K, xoff, bias, acc, outBf16 ? "bf16" : "f32", p.vecX, p.vecW, err);
    if (!ok) fails++;
}

int main() {
    gemm_case(0, 130, 150, 37, 1, 4, true, true, false);     // fp32 FFMA, unaligned x, edges everywhere
    gemm_case(1, 130, 150, 72, 0, 0, true, false, false);    // tf32 128x128
    gemm_case(3, 129, 80, 48, 0, 32, false, false, true);    // bf16 128x128, dt_proj-like view, bf16 out
    gemm_case(4, 130, 260, 35, 0, 13, true, true, false);    // bf16 128x256, aligned rows, K tail chunk
    if (getenv("EMU_ALL")) {
        gemm_case(2, 140, 260, 40, 3, 5, false, true, false);    // tf32 128x256, unaligned x
        gemm_case(4, 64, 300, 130, 1, 0, false, false, true);    // bf16 128x256, unaligned, bf16 out
    }
    printf(fails ? "%d FAILED\n" : "all passed\n", fails);
    return fails != 0;
}

// What the bf16 scan's recurrence costs on its own at the issue's shape (8 lanes x 1536 channels x 4096 steps,
// 16 states): the main pass's recurrence warps without their helpers (no tile loads, no softplus, no output
// phase, no barriers), to bound what any work on the helpers could win. Standalone (no Java), from the repository root:
//   nvcc -O3 -std=c++17 -arch=sm_90a -I kernels/src/main/cuda -o /tmp/scan_floor benchmarks/device/scan_floor.cu && /tmp/scan_floor
// Variants, each 384 blocks of 128 recurrence threads (4 states each, the p4 / ws layout), 16-step tiles:
//   smem:  operands of each step read from shared memory as recur_tile reads them (float2 (δ, δu), float4 B,
//          float4 C), the partial y stored to shared memory: the recurrence warps' whole instruction stream;
//   regs:  the same arithmetic with operands made in registers (no loads, no stores but a checksum): the
//          ex2 + FMUL + FMUL + FFMA + FFMA floor;
//   smem+6w: as smem, plus 4 more warps per block that only wait at a per-tile barrier (the ws kernel's
//          block shape and occupancy without the helpers' work).
#include <cstdio>
#include <vector>
#include <algorithm>
#include <cuda_runtime.h>
#include "common.cuh"  // ex2_approx: the scan's own exp

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("%s: %s\n", #x, cudaGetErrorString(e)); return 1; } } while (0)

constexpr int TW = 16, DT = 32, N = 16;

// MODE 0 smem, 1 regs, 2 smem + idle warps at a barrier; NPT states per thread (RT = DT * N / NPT threads)
template <int MODE, int NPT = 4>
__global__ void __launch_bounds__(MODE == 2 ? 2 * DT * N / NPT : DT * N / NPT) rec(float* out, int T) {
    constexpr int RT = DT * N / NPT;
    __shared__ float2 sdd[TW][DT];
    __shared__ __align__(16) float sb[TW][N], sc[TW][N];
    __shared__ float sy[TW][DT * N / NPT];
    const int tid = threadIdx.x;
    for (int i = tid; i < TW * DT; i += blockDim.x) {
        const float dl = 0.001f + 0.099f * ((i * 2654435761u) % 1000) / 1000.f;  // δ in [0.001, 0.1]
        sdd[i / DT][i % DT] = make_float2(dl, dl * 0.37f);
    }
    for (int i = tid; i < TW * N; i += blockDim.x) {
        sb[i / N][i % N] = 0.5f - ((i * 40503u) % 100) / 100.f;
        sc[i / N][i % N] = 0.25f - ((i * 9973u) % 100) / 200.f;
    }
    __syncthreads();
    const int ntiles = T / TW;
    if (MODE == 2 && tid >= RT) {  // idle helpers: one barrier per tile, like the ws kernel's rounds
        for (int k = 0; k < ntiles; ++k) asm volatile("bar.sync 1, %0;" :: "r"(2 * RT));
        return;
    }
    const int dl = tid % DT, g = tid / DT, n0 = g * NPT;
    float a2[NPT], h[NPT];
#pragma unroll
    for (int j = 0; j < NPT; ++j) {
        a2[j] = -(float)(n0 + j + 1) * 1.4426950f;
        h[j] = 0.f;
    }
    float sum = 0.f;
    for (int k = 0; k < ntiles; ++k) {
        if (MODE == 1) {
            float dlt = 0.001f + 1e-5f * (k & 1023), du = 0.3f * dlt;
#pragma unroll
            for (int r = 0; r < TW; ++r) {
                float yv = 0.f;
#pragma unroll
                for (int j = 0; j < NPT; ++j) {
                    const float a = ex2_approx(dlt * a2[j]);
                    h[j] = fmaf(a, h[j], du * (0.1f * j + 0.01f * r));
                    yv = fmaf(h[j], 0.2f - 0.01f * j, yv);
                }
                sum += yv;
                dlt += 1e-6f;
                du += 3e-7f;
            }
        } else {
#pragma unroll
            for (int r = 0; r < TW; ++r) {
                const float2 dd = sdd[r][dl];
                float bb[NPT], cc[NPT];
#pragma unroll
                for (int q = 0; q < NPT; q += 2) {  // float4 / float2 loads, as recur_tile
                    if (NPT >= 4 && q % 4 == 0) {
                        const float4 b = *reinterpret_cast<const float4*>(&sb[r][n0 + q]);
                        const float4 c = *reinterpret_cast<const float4*>(&sc[r][n0 + q]);
                        bb[q] = b.x; bb[q + 1] = b.y; bb[q + 2] = b.z; bb[q + 3] = b.w;
                        cc[q] = c.x; cc[q + 1] = c.y; cc[q + 2] = c.z; cc[q + 3] = c.w;
                    } else if (NPT == 2) {
                        const float2 b = *reinterpret_cast<const float2*>(&sb[r][n0 + q]);
                        const float2 c = *reinterpret_cast<const float2*>(&sc[r][n0 + q]);
                        bb[q] = b.x; bb[q + 1] = b.y;
                        cc[q] = c.x; cc[q + 1] = c.y;
                    }
                }
                float yv = 0.f;
#pragma unroll
                for (int j = 0; j < NPT; ++j) {
                    const float a = ex2_approx(dd.x * a2[j]);
                    h[j] = fmaf(a, h[j], dd.y * bb[j]);
                    yv = fmaf(h[j], cc[j], yv);
                }
                sy[r][tid] = yv;
            }
            if (MODE == 2) asm volatile("bar.sync 1, %0;" :: "r"(2 * RT));
            else __syncwarp();
        }
    }
    float s = sum;
#pragma unroll
    for (int j = 0; j < NPT; ++j) s += h[j];
    if (MODE != 1) s += sy[TW - 1][tid];
    out[blockIdx.x * RT + tid] = s;
}

template <int MODE, int NPT = 4>
float timeit(float* out, int blocks, int T) {
    constexpr int threads = (MODE == 2 ? 2 : 1) * DT * N / NPT;
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    std::vector<float> ms;
    for (int i = 0; i < 12; ++i) {
        rec<MODE, NPT><<<blocks, threads>>>(out, T);  // untimed, then timed (as CudaKernelBench)
        cudaEventRecord(a);
        rec<MODE, NPT><<<blocks, threads>>>(out, T);
        cudaEventRecord(b);
        cudaEventSynchronize(b);
        float t;
        cudaEventElapsedTime(&t, a, b);
        ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

int main() {
    const int lanes = 8, D = 1536, T = 4096, blocks = lanes * D / DT;  // 384
    float* out;
    CK(cudaMalloc(&out, blocks * DT * N / 2 * sizeof(float)));
    const double stateSteps = (double)lanes * D * N * T;
    float t0 = timeit<0>(out, blocks, T), t1 = timeit<1>(out, blocks, T), t2 = timeit<2>(out, blocks, T);
    float t8 = timeit<0, 8>(out, blocks, T), t2s = timeit<0, 2>(out, blocks, T), t8r = timeit<1, 8>(out, blocks, T);
    CK(cudaGetLastError());
    int clk;
    cudaDeviceGetAttribute(&clk, cudaDevAttrClockRate, 0);
    printf("scan recurrence alone at (8, 1536, 4096, 16), 384 blocks, median of 12 (max SM clock %d MHz)\n", clk / 1000);
    printf("  smem (the recurrence warps' stream)        %.4f ms  %.2f G state-steps/s\n", t0, stateSteps / t0 / 1e6);
    printf("  regs (ex2 + 4 FMA-pipe ops per state-step) %.4f ms  %.2f G state-steps/s\n", t1, stateSteps / t1 / 1e6);
    printf("  smem + 4 idle warps per block, bar per tile %.4f ms  %.2f G state-steps/s\n", t2, stateSteps / t2 / 1e6);
    printf("  smem, 8 states per thread (64 threads)      %.4f ms\n", t8);
    printf("  regs, 8 states per thread                   %.4f ms\n", t8r);
    printf("  smem, 2 states per thread (256 threads)     %.4f ms\n", t2s);
    printf("  (the whole bf16 main pass: 0.366 ms; 3x mamba_ssm needs <= 0.297)\n");
    return 0;
}

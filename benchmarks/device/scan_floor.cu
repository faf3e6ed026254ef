// What the bf16 scan's recurrence costs on its own at the issue's shape (8 lanes x 1536 channels x 4096 steps,
// 16 states): the main pass's recurrence warps without their helpers (no tile loads, no softplus, no output
// phase, no barriers), to bound what any work on the helpers could win. Standalone (no Java), from the repository root:
//   nvcc -O3 -std=c++17 -arch=sm_90a -I kernels/src/main/cuda -o /tmp/scan_floor benchmarks/device/scan_floor.cu && /tmp/scan_floor
// (Run 117 added PF: part of the exps on the FMA pipe. Run 113 added rec2, a sweep of which operand reads and stores cost what, and the time-segment rows.)
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
#include <cstdlib>
#include <cuda_runtime.h>
#include "common.cuh"  // ex2_approx: the scan's own exp

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("%s: %s\n", #x, cudaGetErrorString(e)); return 1; } } while (0)

constexpr int TW = 16, DT = 32, N = 16;

// B and C of a tile (the same made-up values in every kernel here)
__device__ void fill_bc(float (*sb)[N], float (*sc)[N], int tid) {
    for (int i = tid; i < TW * N; i += blockDim.x) {
        sb[i / N][i % N] = 0.5f - ((i * 40503u) % 100) / 100.f;
        sc[i / N][i % N] = 0.25f - ((i * 9973u) % 100) / 200.f;
    }
}

// (δ, δ·u) of a tile: δ in [0.001, 0.1], as Mamba initialises dt
__device__ void fill_dd(float2 (*sdd)[DT], int tid) {
    fill_dd(sdd, tid);
}

// The ws kernel's helper warps with nothing to do: one barrier per tile with the RT recurrence threads
__device__ void idle_helper(int ntiles, int RT) {
    for (int k = 0; k < ntiles; ++k) asm volatile("bar.sync 1, %0;" :: "r"(2 * RT));
}

// A = -(n + 1) (times log2 e, as the scan keeps it) and zero states for the thread's NPT states from n0
template <int NPT> __device__ void init_states(float (&a2)[NPT], float (&h)[NPT], int n0) {
#pragma unroll
    for (int j = 0; j < NPT; ++j) {
        a2[j] = -(float)(n0 + j + 1) * 1.4426950f;
        h[j] = 0.f;
    }
}

// MODE 0 smem, 1 regs, 2 smem + idle warps at a barrier; NPT states per thread (RT = DT * N / NPT threads)
template <int MODE, int NPT = 4>
__global__ void __launch_bounds__(MODE == 2 ? 2 * DT * N / NPT : DT * N / NPT) rec(float* out, int T) {
    constexpr int RT = DT * N / NPT;
    __shared__ float2 sdd[TW][DT];
    __shared__ __align__(16) float sb[TW][N], sc[TW][N];
    __shared__ float sy[TW][DT * N / NPT];
    const int tid = threadIdx.x;
    fill_dd(sdd, tid);
    fill_bc(sb, sc, tid);
    __syncthreads();
    const int ntiles = T / TW;
    if (MODE == 2 && tid >= RT) {
        idle_helper(ntiles, RT);
        return;
    }
    const int dl = tid % DT, g = tid / DT, n0 = g * NPT;
    float a2[NPT], h[NPT];
    init_states<NPT>(a2, h, n0);
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

// Diagnostic sweep of the recurrence's operand traffic (4 states per thread, 384 blocks of 128 + 128 idle threads,
// as smem+4w above): DD 0 (δ, δu) made in registers, 1 one float2 per step, 2 one float4 per two steps (layout
// [TW/2][DT] float4); BC 0 B and C made in registers, 1 one float4 each per step; Y 0 partial y summed in a
// register, 1 one store per step, 2 one float4 store per four steps (layout [TW/4][RT] float4).
template <int DD, int BC, int Y, int PF = 0>
__global__ void __launch_bounds__(256) rec2(float* out, int T) {
    constexpr int NPT = 4, RT = DT * N / NPT;
    __shared__ __align__(16) float2 sdd[TW][DT];
    __shared__ __align__(16) float4 sdd2[TW / 2][DT];
    __shared__ __align__(16) float sb[TW][N], sc[TW][N];
    __shared__ __align__(16) float sy[TW][RT];
    __shared__ __align__(16) float4 sy4[TW / 4][RT];
    const int tid = threadIdx.x;
    fill_dd(sdd, tid);
    __syncthreads();
    for (int i = tid; i < TW / 2 * DT; i += blockDim.x) {
        const int r = 2 * (i / DT), c = i % DT;
        sdd2[r / 2][c] = make_float4(sdd[r][c].x, sdd[r][c].y, sdd[r + 1][c].x, sdd[r + 1][c].y);
    }
    fill_bc(sb, sc, tid);
    __syncthreads();
    const int ntiles = T / TW;
    if (tid >= RT) {
        idle_helper(ntiles, RT);
        return;
    }
    const int dl = tid % DT, g = tid / DT, n0 = g * NPT;
    float a2[NPT], h[NPT];
    init_states<NPT>(a2, h, n0);
    float sum = 0.f;
    for (int k = 0; k < ntiles; ++k) {
        float ys[4];
#pragma unroll
        for (int r = 0; r < TW; ++r) {
            float dlt, du;
            if (DD == 0) { dlt = 0.001f + 1e-5f * ((k + r) & 1023); du = 0.3f * dlt; }
            else if (DD == 1) { const float2 v = sdd[r][dl]; dlt = v.x; du = v.y; }
            else {
                const float4 v = sdd2[r / 2][dl];  // the compiler loads it once per pair of steps
                dlt = (r & 1) ? v.z : v.x; du = (r & 1) ? v.w : v.y;
            }
            float bb[NPT], cc[NPT];
            if (BC == 0) {
#pragma unroll
                for (int j = 0; j < NPT; ++j) { bb[j] = 0.1f * j + 0.01f * r + 1e-4f * k; cc[j] = 0.2f - 0.01f * j; }
            } else {
                const float4 b = *reinterpret_cast<const float4*>(&sb[r][n0]);
                const float4 c = *reinterpret_cast<const float4*>(&sc[r][n0]);
                bb[0] = b.x; bb[1] = b.y; bb[2] = b.z; bb[3] = b.w;
                cc[0] = c.x; cc[1] = c.y; cc[2] = c.z; cc[3] = c.w;
            }
            float yv = 0.f;
#pragma unroll
            for (int j = 0; j < NPT; ++j) {
                const float a = j >= NPT - PF ? exp2_fma(dlt * a2[j]) : ex2_approx(dlt * a2[j]);
                h[j] = fmaf(a, h[j], du * bb[j]);
                yv = fmaf(h[j], cc[j], yv);
            }
            if (Y == 0) sum += yv;
            else if (Y == 1) sy[r][tid] = yv;
            else {
                ys[r & 3] = yv;
                if ((r & 3) == 3) sy4[r / 4][tid] = make_float4(ys[0], ys[1], ys[2], ys[3]);
            }
        }
        asm volatile("bar.sync 1, %0;" :: "r"(2 * RT));
    }
    float s = sum;
#pragma unroll
    for (int j = 0; j < NPT; ++j) s += h[j];
    if (Y == 1) s += sy[TW - 1][tid];
    if (Y == 2) s += sy4[TW / 4 - 1][tid].w;
    out[blockIdx.x * RT + tid] = s;
}

template <int DD, int BC, int Y, int PF = 0>
float timeit2(float* out, int blocks, int T) {
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    std::vector<float> ms;
    for (int i = 0; i < 12; ++i) {
        rec2<DD, BC, Y, PF><<<blocks, 256>>>(out, T);
        cudaEventRecord(a);
        rec2<DD, BC, Y, PF><<<blocks, 256>>>(out, T);
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
    CK(cudaMalloc(&out, 4 * blocks * DT * N / 2 * sizeof(float)));
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
    printf("  operand traffic sweep (+4 idle warps per block), DD/BC/Y as in rec2:\n");
    printf("    DD1 BC1 Y1 (as smem+4w) %.4f\n", timeit2<1, 1, 1>(out, blocks, T));
    printf("    DD0 BC0 Y0 (regs)       %.4f\n", timeit2<0, 0, 0>(out, blocks, T));
    printf("    DD1 BC0 Y0              %.4f\n", timeit2<1, 0, 0>(out, blocks, T));
    printf("    DD0 BC1 Y0              %.4f\n", timeit2<0, 1, 0>(out, blocks, T));
    printf("    DD0 BC0 Y1              %.4f\n", timeit2<0, 0, 1>(out, blocks, T));
    printf("    DD1 BC1 Y0              %.4f\n", timeit2<1, 1, 0>(out, blocks, T));
    printf("    DD2 BC1 Y1              %.4f\n", timeit2<2, 1, 1>(out, blocks, T));
    printf("    DD1 BC1 Y2              %.4f\n", timeit2<1, 1, 2>(out, blocks, T));
    printf("    DD2 BC1 Y2              %.4f\n", timeit2<2, 1, 2>(out, blocks, T));
    printf("  FMA-pipe exps (exp2_fma) for PF of the thread's 4 states, the rest on the exp unit:\n");
    printf("    DD1 BC1 Y1 PF1          %.4f\n", timeit2<1, 1, 1, 1>(out, blocks, T));
    printf("    DD1 BC1 Y1 PF2          %.4f\n", timeit2<1, 1, 1, 2>(out, blocks, T));
    printf("    DD1 BC0 Y0 PF1          %.4f\n", timeit2<1, 0, 0, 1>(out, blocks, T));
    printf("    DD1 BC0 Y0 PF2          %.4f\n", timeit2<1, 0, 0, 2>(out, blocks, T));
    CK(cudaGetLastError());
    if (getenv("FLOOR_QUICK")) return 0;
    // time segments: the same state-steps in nseg x more blocks of T / nseg steps each (what a main pass over
    // nseg segments would cost before its fix-up), to see what more resident recurrence warps buy
    for (int nseg = 2; nseg <= 4; nseg *= 2) {
        float s0 = timeit<0>(out, blocks * nseg, T / nseg), s1 = timeit<1>(out, blocks * nseg, T / nseg);
        float s2 = timeit<2>(out, blocks * nseg, T / nseg), s2p = timeit<0, 2>(out, blocks * nseg, T / nseg);
        printf("  nseg %d (%d blocks of %d steps): smem %.4f  regs %.4f  smem+4w %.4f  smem p2 %.4f ms\n", nseg,
               blocks * nseg, T / nseg, s0, s1, s2, s2p);
    }
    return 0;
}

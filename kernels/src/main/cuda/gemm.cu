// GEMMs for linear(): out[M,N] = (accumulate ? out : 0) + x[M,K] · w[N,K]ᵀ + bias[N].
// Both operands are K-contiguous (PyTorch's Linear layout), which is exactly what mma.sync wants:
// A row-major, B "col-major" = W rows. Three kernels:
//   * mamba_sgemm_*:  fp32 FFMA, 128x128x8 tiles, 8x8 outputs per thread (exact mode);
//   * mamba_mma_tf32_*: tensor cores, mma.sync m16n8k8 tf32 (operands rounded with cvt.rna), fp32 storage;
//   * mamba_mma_bf16_*: tensor cores, mma.sync m16n8k16 bf16, fp32 accumulation.
// The tensor-core kernels share one template: BMxBN tiles, 128-byte smem rows (BK = 64 bf16 / 32 fp32)
// with the 128B XOR swizzle (chunk ^ row%8) so ldmatrix is conflict-free, a STAGES-deep cp.async
// pipeline with zero-fill for M/N/K edges, 64x64 warp tiles, and a fused bias/accumulate epilogue.
#include "gemm_common.cuh"

namespace gemm {

template <typename Ti, int BM, int BN, int WM, int WN, int STAGES>
DEV void mma_gemm(const P& p) {
    constexpr bool BF = sizeof(Ti) == 2;
    constexpr int THREADS = 32 * WM * WN;
    constexpr int BK = 128 / sizeof(Ti);  // 64 bf16 or 32 fp32 per 128-byte row
    constexpr int KSTEP = BF ? 16 : 8;    // k per mma
    constexpr int WTM = BM / WM, WTN = BN / WN;
    constexpr int MI = WTM / 16, NI = WTN / 8;
    static_assert(NI % 2 == 0, "B fragments are loaded two n8 tiles at a time");
    constexpr int STAGE_BYTES = (BM + BN) * 128;

    extern __shared__ __align__(128) unsigned char smem[];
    {
        unsigned dyn;
        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));
        if (dyn < (unsigned)(STAGES * STAGE_BYTES)) __trap();
    }
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp / WN, wn = warp % WN;
    const i64 m0 = (i64)blockIdx.y * BM;
    const i64 n0 = (i64)blockIdx.x * BN;
    const Ti* gx = cptr<Ti>(p.x) + m0 * p.ldx;
    const Ti* gw = cptr<Ti>(p.w) + n0 * p.ldw;
    const i64 K = p.K;
    const int KT = (int)((K + BK - 1) / BK);
    const bool vecX = p.vecX != 0, vecW = p.vecW != 0;

    auto load_stage = [&](int stage, int kt) {
        unsigned char* base = smem + stage * STAGE_BYTES;
        const i64 k0 = (i64)kt * BK;
        load_slab<Ti, BM, THREADS>(base, gx + k0, p.ldx, p.M - m0, K - k0, vecX);
        load_slab<Ti, BN, THREADS>(base + BM * 128, gw + k0, p.ldw, p.N - n0, K - k0, vecW);
    };

    float acc[MI][NI][4];
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < NI; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < KT) load_stage(s, s);
        cp_async_commit();
    }

    const uint32_t sbase = smem_u32(smem);
    // ldmatrix row/chunk of this lane: A: row lane%16, chunk +lane/16; B: row lane%8 + 8*(lane/16), chunk +(lane/8)%2
    const int aRow = wm * WTM + (lane & 15), aChunk = lane >> 4;
    const int bRow = wn * WTN + (lane & 7) + ((lane >> 4) << 3), bChunk = (lane >> 3) & 1;

    for (int kt = 0; kt < KT; ++kt) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        {
            const int nk = kt + STAGES - 1;
            if (nk < KT) load_stage(nk % STAGES, nk);
            cp_async_commit();
        }
        const uint32_t aBase = sbase + (kt % STAGES) * STAGE_BYTES;
        const uint32_t bBase = aBase + BM * 128;
#pragma unroll
        for (int ks = 0; ks < BK / KSTEP; ++ks) {
            uint32_t af[MI][4], bfr[NI][2];
#pragma unroll
            for (int i = 0; i < MI; ++i) {
                const int r = aRow + i * 16;
                ldmatrix_x4(af[i], aBase + swz(r, ks * 2 + aChunk));
                if constexpr (!BF) {
#pragma unroll
                    for (int e = 0; e < 4; ++e) af[i][e] = to_tf32(af[i][e]);
                }
            }
#pragma unroll
            for (int j = 0; j < NI; j += 2) {
                const int r = bRow + j * 8;
                uint32_t t[4];
                ldmatrix_x4(t, bBase + swz(r, ks * 2 + bChunk));
                bfr[j][0] = t[0]; bfr[j][1] = t[1]; bfr[j + 1][0] = t[2]; bfr[j + 1][1] = t[3];
                if constexpr (!BF) {
                    bfr[j][0] = to_tf32(bfr[j][0]); bfr[j][1] = to_tf32(bfr[j][1]);
                    bfr[j + 1][0] = to_tf32(bfr[j + 1][0]); bfr[j + 1][1] = to_tf32(bfr[j + 1][1]);
                }
            }
#pragma unroll
            for (int i = 0; i < MI; ++i)
#pragma unroll
                for (int j = 0; j < NI; ++j) {
                    if constexpr (BF) mma_bf16(acc[i][j], af[i], bfr[j][0], bfr[j][1]);
                    else mma_tf32(acc[i][j], af[i], bfr[j][0], bfr[j][1]);
                }
        }
    }
    cp_async_wait<0>();

    const int g = lane >> 2, tig = lane & 3;
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < NI; ++j) {
            const i64 row = m0 + wm * WTM + i * 16 + g;
            const int col = (int)(n0 + wn * WTN + j * 8 + tig * 2);
            store_pair_any(p, row, col, acc[i][j][0], acc[i][j][1]);
            store_pair_any(p, row + 8, col, acc[i][j][2], acc[i][j][3]);
        }
}

// ------------------------------------------------------------------ fp32 FFMA GEMM (exact mode)

// 128x128 tile, BK = 8, 256 threads, each 8x8 outputs (rows ty*4+{0..3}, 64+ty*4+{0..3}; same for
// columns with tx). Tiles are stored k-major in smem so the inner loop reads float4 broadcasts; the next
// k-slab is fetched into registers while the current one is multiplied (double-buffered smem).
// Each output is one FFMA chain over k in order.
DEV void sgemm(const P& p) {
    constexpr int BM = 128, BN = 128, BK = 8, PAD = 4;
    __shared__ __align__(16) float As[2][BK][BM + PAD];
    __shared__ __align__(16) float Ws[2][BK][BN + PAD];
    const int tid = threadIdx.x;
    const int tx = tid & 15, ty = tid >> 4;
    const i64 m0 = (i64)blockIdx.y * BM, n0 = (i64)blockIdx.x * BN;
    const float* gx = cptr<float>(p.x);
    const float* gw = cptr<float>(p.w);
    const i64 K = p.K;
    const bool vecX = p.vecX != 0, vecW = p.vecW != 0;
    // loader: thread owns row lr = tid/2, k-quad lk = (tid%2)*4 of both slabs
    const int lr = tid >> 1, lk = (tid & 1) * 4;
    const i64 xr = m0 + lr, wr = n0 + lr;

    auto fetch = [&](const float* g, i64 row, i64 rows, i64 ld, bool vec, i64 k0, float (&v)[4]) {
        const i64 k = k0 + lk;
        if (row < rows && vec && k + 3 < K) {
            float4 q = __ldg(reinterpret_cast<const float4*>(g + row * ld + k));
            v[0] = q.x; v[1] = q.y; v[2] = q.z; v[3] = q.w;
        } else {
#pragma unroll
            for (int e = 0; e < 4; ++e) v[e] = (row < rows && k + e < K) ? __ldg(g + row * ld + k + e) : 0.f;
        }
    };

    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;

    float ra[4], rw[4];
    fetch(gx, xr, p.M, p.ldx, vecX, 0, ra);
    fetch(gw, wr, p.N, p.ldw, vecW, 0, rw);
#pragma unroll
    for (int e = 0; e < 4; ++e) { As[0][lk + e][lr] = ra[e]; Ws[0][lk + e][lr] = rw[e]; }
    __syncthreads();

    const int KT = (int)((K + BK - 1) / BK);
    for (int kt = 0; kt < KT; ++kt) {
        const int cur = kt & 1;
        if (kt + 1 < KT) {
            fetch(gx, xr, p.M, p.ldx, vecX, (i64)(kt + 1) * BK, ra);
            fetch(gw, wr, p.N, p.ldw, vecW, (i64)(kt + 1) * BK, rw);
        }
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            float a[8], b[8];
            float4 a0 = *reinterpret_cast<const float4*>(&As[cur][k][ty * 4]);
            float4 a1 = *reinterpret_cast<const float4*>(&As[cur][k][64 + ty * 4]);
            float4 b0 = *reinterpret_cast<const float4*>(&Ws[cur][k][tx * 4]);
            float4 b1 = *reinterpret_cast<const float4*>(&Ws[cur][k][64 + tx * 4]);
            a[0] = a0.x; a[1] = a0.y; a[2] = a0.z; a[3] = a0.w; a[4] = a1.x; a[5] = a1.y; a[6] = a1.z; a[7] = a1.w;
            b[0] = b0.x; b[1] = b0.y; b[2] = b0.z; b[3] = b0.w; b[4] = b1.x; b[5] = b1.y; b[6] = b1.z; b[7] = b1.w;
#pragma unroll
            for (int i = 0; i < 8; ++i)
#pragma unroll
                for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        if (kt + 1 < KT) {
#pragma unroll
            for (int e = 0; e < 4; ++e) { As[cur ^ 1][lk + e][lr] = ra[e]; Ws[cur ^ 1][lk + e][lr] = rw[e]; }
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const i64 row = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
#pragma unroll
        for (int j = 0; j < 8; j += 2) {
            const int col = (int)(n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + (j - 4)));
            store_pair_any(p, row, col, acc[i][j], acc[i][j + 1]);
        }
    }
}

}  // namespace gemm

extern "C" __global__ void __launch_bounds__(256) mamba_sgemm(const gemm::P p) { gemm::sgemm(p); }

// Big tiles: 128x256, 8 warps (2x4), 4 stages (192 KB smem, 1 block per SM). Small tiles (N <= 128 or
// few blocks): 128x128, 4 warps (2x2), 3 stages (96 KB: 2 blocks per SM).
#define MMA_KERNEL(NAME, TI, BM, BN, WM, WN, ST)                                              \
    extern "C" __global__ void __launch_bounds__(32 * WM * WN, 1) NAME(const gemm::P p) {    \
        gemm::mma_gemm<TI, BM, BN, WM, WN, ST>(p);                                           \
    }
MMA_KERNEL(mamba_mma_bf16_big, bf16, 128, 256, 2, 4, 4)
MMA_KERNEL(mamba_mma_bf16_small, bf16, 128, 128, 2, 2, 3)
MMA_KERNEL(mamba_mma_tf32_big, float, 128, 256, 2, 4, 4)
MMA_KERNEL(mamba_mma_tf32_small, float, 128, 128, 2, 2, 3)

// Mamba's depthwise causal conv1d + bias + SiLU fused with x_proj, bf16 (conv width 4):
//   xc = silu(conv(x)) is written once (the scan reads it) and, from the same registers, multiplied by
//   w_x on the tensor cores: out = xc · w_xᵀ ([rows, N] = dt_proj input | B | C).
// Why: unfused, the conv kernel writes xc and x_proj reads it straight back (403 MB each way per layer at
// 64 x 2048); here x is read once and xc written once, and the GEMM rides on the conv's tile.
//
// Block = BM = 16·WARPS rows (time steps of one or more lanes) x all N outputs; the loop runs over the
// channels in 64-wide k-tiles through a 3-stage cp.async ring, each stage holding
//   xs: rows m0-3 .. m0+BM-1 of x (the conv window: 3 halo rows; rows outside [0, M) zero-filled),
//   ws: NP = N rounded up to 16 rows of w_x (128B-swizzled as gemm.cu's tiles; rows past N zero-filled),
//   cw, cb: the 64 channels' conv taps [64][4] f32 and bias [64] f32.
// Per k-tile: every thread computes 8 consecutive rows x 4 channels of xc (bias, then taps oldest first, as
// conv1d.cu; silu on tanh.approx, see below), stores them to global xc and into the swizzled A tile; warp sync;
// each warp multiplies its 16 rows by the NP columns (ldmatrix + mma.m16n8k16, as gemm.cu). Rows whose step
// t < 3 take their window's first taps from the carried conv state. Padding steps (t >= len) are computed from
// whatever x holds and never read downstream.
// The new conv state is written by mamba_conv_state_bf16 after this kernel: every block here may still read
// the old one.
#include <type_traits>
#include "gemm_common.cuh"
#include "pairs.cuh"
#include "conv_state.cuh"

namespace cxp {

DEV void st_global_v2(void* p, uint2 v) {
#ifdef __CUDA_ARCH__
    asm volatile("st.global.v2.b32 [%0], {%1, %2};" ::"l"(p), "r"(v.x), "r"(v.y) : "memory");
#else
    *reinterpret_cast<uint2*>(p) = v;
#endif
}

constexpr int KW = 4, H = KW - 1;  // conv taps, halo rows
constexpr int BK = 64;             // channels per k-tile (one 128-byte bf16 row)
constexpr int STAGES = 3;

// Field order must match CudaBackend.java (conv1dSiluLinear).
struct P {
    i64 x, cw, cbias, state, xc, w, out;  // 0..6 element addresses (cbias may be 0)
    i64 ldx, ldstate, ldxc, ldw, ldout;   // 7..11 row strides in elements (cw is [D][4] dense)
    i64 M, T, D, N;                       // 12..15 rows = lanes·T, steps per lane, channels (% 64 == 0), outputs
    i64 vecOut;                           // 16 paired output stores legal
};

// Dynamic shared memory of one block (CudaBackend.convXProjSmem must agree): the ring and the A tile.
__host__ __device__ constexpr int smem_bytes(int warps, int np) {
    return STAGES * ((16 * warps + H) * 128 + np * 128 + BK * 16 + BK * 4) + 16 * warps * 128;
}

// Blocks per SM an instance is compiled for (its register cap): 2 of 8 warps or 3 of 4 where the shared
// memory allows (the 130m model's np = 80 does), fewer for np = 128 (H200: 228 KB per SM, 1 KB per block
// reserved). Measured (runs 57-67): 4 warps, 64 rows, 0.378-0.389 ms per layer at 64 x 2048 (0.364-0.371 since
// runs 80-82); 8 warps lost (0.396-0.577: capped at 128 registers they spill).
__host__ __device__ constexpr int blocks_per_sm(int warps, int np) {
    const int fit = (228 * 1024) / (smem_bytes(warps, np) + 1024), want = warps == 8 ? 2 : 3;
    return fit < want ? fit : want;
}

template <int WARPS, int NP>
DEV void conv_xproj(const P& p) {
    constexpr int THREADS = 32 * WARPS, BM = 16 * WARPS;
    constexpr int XS = (BM + H) * 128, WS = NP * 128, CW = BK * 16, CB = BK * 4;
    constexpr int STAGE = XS + WS + CW + CB;  // every part a multiple of 128 bytes
    // mma: warp w takes rows 16w .. 16w+15 and all NP outputs (NP = N rounded up to 16: 80 for the 130m model,
    // where a 96-column tile split over 2 warps cost 8 more accumulators and 20 % more mma per thread)
    constexpr int NI = NP / 8;
    static_assert(NP % 16 == 0, "B fragments two n8 tiles at a time");
    static_assert(BM == 16 * WARPS, "one m16 tile per warp");

    extern __shared__ __align__(128) unsigned char smem[];
    {
        unsigned dyn;
        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));
        if (dyn < (unsigned)smem_bytes(WARPS, NP)) __trap();
    }
    unsigned char* const atile = smem + STAGES * STAGE;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const i64 M = p.M, m0 = (i64)blockIdx.x * BM;
    const int KT = (int)(p.D / BK);
    const bf16* gx = cptr<bf16>(p.x);
    const bf16* gw = cptr<bf16>(p.w);

    // The x rows of a stage: chunk (tid % 8) of rows tid / 8 + q·THREADS/8, q < XQ (the last q only for the
    // first threads: BM + 3 rows). Source pointer, destination and which rows exist are fixed per thread (the
    // k-tile only moves the source by 64 channels): ~4 instructions per copy instead of ~25 with the row
    // arithmetic and bounds per copy (SASS of the first version).
    constexpr int XQ = ((BM + H) * 8 + THREADS - 1) / THREADS;
    const bf16* xsrc = gx + (m0 - H + (tid >> 3)) * p.ldx + (tid & 7) * 8;  // dereferenced only where the row exists
    const int xstep = (THREADS / 8) * (int)p.ldx;  // < 2^31: the host checks ldx < 2^20
    const int xdst = (tid >> 3) * 128 + (tid & 7) * 16;
    unsigned xin = 0;  // bit q: this thread's row q exists (in [0, M) and in the stage)
#pragma unroll
    for (int q = 0; q < XQ; ++q) {
        const int i = (tid >> 3) + q * (THREADS / 8);
        const i64 m = m0 - H + i;
        if (i < BM + H && m >= 0 && m < M) xin |= 1u << q;
    }
    auto load_stage = [&](int stage, int kt) {
        unsigned char* base = smem + stage * STAGE;
        const i64 k0 = (i64)kt * BK;
        const bf16* src = xsrc + k0;
#pragma unroll
        for (int q = 0; q < XQ; ++q) {
            if (q < XQ - 1 || (tid >> 3) + q * (THREADS / 8) < BM + H) {
                const bool in = (xin >> q) & 1;
                cp_async16(base + xdst + q * (THREADS / 8) * 128, in ? src + q * xstep : gx, in ? 16 : 0);
            }
        }
        // w_x rows 0 .. NP-1 of the k-tile, 128B-swizzled as gemm.cu's tiles; rows past N zero-filled
#pragma unroll
        for (int q = tid; q < NP * 8; q += THREADS) {
            const int r = q >> 3, c = q & 7;
            const bool in = r < p.N;
            cp_async16(base + XS + gemm::swz(r, c), in ? gw + r * p.ldw + k0 + c * 8 : gw, in ? 16 : 0);
        }
        if (tid < (CW + CB) / 16) {
            // taps of channel ch at slot (ch % 4)·16 + ch / 4: the 8 threads of a quarter warp (consecutive
            // 4-channel groups) then read 8 consecutive 16-byte slots (no bank conflict; in channel order they
            // sat 64 bytes apart)
            const bool w = tid < CW / 16;
            const int slot = w ? (tid & 3) * 16 + (tid >> 2) : tid;
            const float* src = w ? cptr<float>(p.cw) + (k0 + tid) * KW : cptr<float>(p.cbias) + k0 + (tid - CW / 16) * 4;
            const bool in = w || p.cbias != 0;  // no bias: zeros
            cp_async16(base + XS + WS + slot * 16, in ? src : cptr<float>(p.cw), in ? 16 : 0);
        }
    };

    // This thread's conv work: rows r0 .. r0+7 of the tile at channels c4·4 .. c4·4+3 of the k-tile. A half warp
    // covers one 128-byte row (x reads, A-tile and xc stores without bank conflicts, xc stores whole lines).
    const int c4 = tid & 15, r0 = (tid >> 4) * 8;
    unsigned edge = 0;  // bit i: row r0 + i is one of its lane's first 3 steps (window partly in the state)
    unsigned rowIn = 0;  // bit i: row r0 + i < M (its xc is stored)
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const i64 m = m0 + r0 + i;
        if (m < M) rowIn |= 1u << i;
        if (m < M && m % p.T < H) edge |= 1u << i;
    }
    // xc of row r0 + i, this thread's channels of k-tile kt: xcRow + i·ldxc + kt·64 (32-bit row offsets)
    bf16* const xcRow = mptr<bf16>(p.xc) + (m0 + r0) * p.ldxc + c4 * 4;
    const int ldxc = (int)p.ldxc;

    float acc[NI][4];
#pragma unroll
    for (int j = 0; j < NI; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[j][e] = 0.f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < KT) load_stage(s, s);
        cp_async_commit();
    }
    const int aRow = warp * 16 + (lane & 15), aChunk = lane >> 4;
    const int bRow = (lane & 7) + ((lane >> 4) << 3), bChunk = (lane >> 3) & 1;

    // A block whose rows all exist and are none of their lane's first 3 steps (all but ~1 in T/BM blocks) takes
    // the conv without per-row checks: no branches, so the sliding window stays in place (with the checks, the
    // SASS copied it at every merge point: ~100 instructions per row of 4 channels, this way ~40 fewer).
    const i64 t0 = m0 % p.T;
    const bool safe = t0 >= H && t0 + BM <= p.T && m0 + BM <= M;
    auto conv_tile = [&](const unsigned char* st, int kt, auto safeTag) {
        constexpr bool SAFE = decltype(safeTag)::value;
        float w[4][KW], bias[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const float4 q = *reinterpret_cast<const float4*>(st + XS + WS + (e * 16 + c4) * 16);
            w[e][0] = q.x; w[e][1] = q.y; w[e][2] = q.z; w[e][3] = q.w;
        }
        {
            const float4 q = *reinterpret_cast<const float4*>(st + XS + WS + CW + c4 * 16);
            bias[0] = q.x; bias[1] = q.y; bias[2] = q.z; bias[3] = q.w;
        }
        // sliding window: win[j] = x row r0 + i - H + j (xs row r0 + i + j) while output row i is computed
        float win[KW][4];
        // every window row read before the first store (the compiler does not move a shared load above a store
        // it cannot tell apart: read row by row, each row waited for the previous row's stores; 0.389 -> 0.373
        // ms per layer at 64 x 2048, H200 run 80)
        uint2 raw[8 + H];
#pragma unroll
        for (int j = 0; j < 8 + H; ++j) raw[j] = *reinterpret_cast<const uint2*>(st + (r0 + j) * 128 + c4 * 8);
        auto load_row = [&](int xsRow, float (&v)[4]) {
            const float4 f = unpack4(raw[xsRow - r0]);
            v[0] = f.x; v[1] = f.y; v[2] = f.z; v[3] = f.w;
        };
#pragma unroll
        for (int j = 0; j < H; ++j) load_row(r0 + j, win[j + 1]);
        bf16* const xcTile = xcRow + kt * BK;
#pragma unroll
        for (int i = 0; i < 8; ++i) {
#pragma unroll
            for (int j = 0; j < H; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e) win[j][e] = win[j + 1][e];
            load_row(r0 + i + H, win[H]);
            float tap[KW][4];
#pragma unroll
            for (int j = 0; j < KW; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e) tap[j][e] = win[j][e];
            if (!SAFE && (edge & (1u << i))) {  // the window starts in the carried state: state[b, d·3 + t + j], t + j < 3
                const i64 m = m0 + r0 + i, b = m / p.T;
                const int t = (int)(m - b * p.T);
                const float* sp = cptr<float>(p.state) + b * p.ldstate + ((i64)kt * BK + c4 * 4) * H + t;
#pragma unroll
                for (int j = 0; j < H; ++j)
                    if (t + j < H)
#pragma unroll
                        for (int e = 0; e < 4; ++e) tap[j][e] = sp[e * H + j];
            }
            float y[4];
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                float s = bias[e];
#pragma unroll
                for (int j = 0; j < KW; ++j) s = fmaf(w[e][j], tap[j][e], s);
                // silu on one exp-unit op (tanh.approx, as the scan's silu(z) in bf16): conv1d.cu's silu_f32 takes
                // two (ex2, rcp), and 64 per warp and k-tile kept the exp unit ~70 % as busy as the issue slots
                // (Nsight, run 60). Relative error ~5e-4, below bf16's rounding: xc may differ from the conv
                // kernel's by one bf16 step in some elements.
                y[e] = silu_fast(s);
            }
            const uint2 packed = pack4(make_float4(y[0], y[1], y[2], y[3]));
            *reinterpret_cast<uint2*>(atile + gemm::swz(r0 + i, c4 >> 1) + (c4 & 1) * 8) = packed;
            if (SAFE || ((rowIn >> i) & 1)) st_global_v2(xcTile + i * ldxc, packed);  // one 8-byte store (a plain
                                                                                     // uint2 store came out as two)
        }
    };

    // each warp: its 16 rows of the A tile x the NP columns of the stage's w_x rows
    auto mma_tile = [&](const unsigned char* st) {
        const uint32_t a0 = smem_u32(atile), bBase = smem_u32(st + XS);
#pragma unroll
        for (int ks = 0; ks < BK / 16; ++ks) {
            uint32_t af[4];
            gemm::ldmatrix_x4(af, a0 + gemm::swz(aRow, ks * 2 + aChunk));
#pragma unroll
            for (int j = 0; j < NI; j += 2) {
                uint32_t t[4];
                gemm::ldmatrix_x4(t, bBase + gemm::swz(bRow + j * 8, ks * 2 + bChunk));
                gemm::mma_bf16(acc[j], af, t[0], t[1]);
                gemm::mma_bf16(acc[j + 1], af, t[2], t[3]);
            }
        }
    };
    auto conv = [&](const unsigned char* st, int kt) {
        if (safe) conv_tile(st, kt, std::true_type{});
        else conv_tile(st, kt, std::false_type{});
    };

    for (int kt = 0; kt < KT; ++kt) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();  // stage kt landed for every thread; every warp is done with stage kt - 1 and its A rows
        {
            const int nk = kt + STAGES - 1;
            if (nk < KT) load_stage(nk % STAGES, nk);
            cp_async_commit();
        }
        const unsigned char* st = smem + (kt % STAGES) * STAGE;
        conv(st, kt);
        // the warp's rows of the A tile are complete: its own threads computed them (rows 8·(tid >> 4) .. +7:
        // warp w rows 16w .. 16w + 15, the rows its mma reads), so a warp sync, not a block barrier (0.371 ->
        // 0.364 ms per layer at 64 x 2048, H200 run 82); the barrier above orders the ring and the next A tile
        __syncwarp();
        mma_tile(st);
    }
    cp_async_wait<0>();

    gemm::P o{};
    o.out = p.out;
    o.ldout = p.ldout;
    o.M = M;
    o.N = p.N;
    o.vecOut = p.vecOut;
    const int g = lane >> 2, tig = lane & 3;
#pragma unroll
    for (int j = 0; j < NI; ++j) {
        const i64 row = m0 + warp * 16 + g;
        const int col = j * 8 + tig * 2;
        gemm::store_pair<bf16>(o, mptr<bf16>(p.out), row, col, acc[j][0], acc[j][1]);
        gemm::store_pair<bf16>(o, mptr<bf16>(p.out), row + 8, col, acc[j][2], acc[j][3]);
    }
}

// The conv state after the fused kernel, per (lane, channel): the last 3 entries of state ++ x[b, 0..len)
// (conv_roll_state, as conv1d.cu's chunk-0 threads after their loop).
struct SP {
    i64 x, state, lens;          // 0..2
    i64 ldx, ldstate, ldlens;    // 3..5
    i64 T, D, lanes;             // 6..8
};

DEV void conv_state(const SP& p) {
    const i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= p.lanes * p.D) return;
    const i64 b = i / p.D, d = i - b * p.D;
    int len = cptr<int>(p.lens)[b * p.ldlens];
    len = len < 0 ? 0 : (len > (int)p.T ? (int)p.T : len);
    conv_roll_state<bf16, KW>(mptr<float>(p.state) + b * p.ldstate + d * H, cptr<bf16>(p.x) + b * p.T * p.ldx + d,
                              p.ldx, len, KW);
}

}  // namespace cxp

// 4 warps (64 rows per block; 8 only with -Dmamba.cuda.convXProjWarps=8, for measurements); NP: N rounded up
// to a multiple of 16 (the 130m model's N = 48 + 2·16 = 80).
#define CONV_XPROJ_KERNEL(W, NP)                                                                           \
    extern "C" __global__ void __launch_bounds__(32 * W, cxp::blocks_per_sm(W, NP))                        \
        mamba_conv_xproj_bf16_w##W##_n##NP(const cxp::P p) {                                               \
        cxp::conv_xproj<W, NP>(p);                                                                         \
    }
#define CONV_XPROJ_KERNELS(NP) CONV_XPROJ_KERNEL(4, NP) CONV_XPROJ_KERNEL(8, NP)
CONV_XPROJ_KERNELS(16)
CONV_XPROJ_KERNELS(32)
CONV_XPROJ_KERNELS(48)
CONV_XPROJ_KERNELS(64)
CONV_XPROJ_KERNELS(80)
CONV_XPROJ_KERNELS(96)
CONV_XPROJ_KERNELS(112)
CONV_XPROJ_KERNELS(128)

extern "C" __global__ void __launch_bounds__(256) mamba_conv_state_bf16(const cxp::SP p) { cxp::conv_state(p); }

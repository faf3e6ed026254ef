// GEMMs with Hopper warpgroup MMA (sm_90a only; built into its own fatbin, mamba_wgmma.fatbin).
// Same problem as gemm.cu: out[M,N] = (accumulate ? out : 0) + x[M,K] · w[N,K]ᵀ + bias, same parameter
// struct, same swizzled tile layout: the cp.async loader writes each stage in the canonical K-major
// 128-byte-swizzle layout (16-byte chunk c of row r at chunk c ^ (r % 8), rows 128 bytes apart, 8-row
// groups 1024 bytes apart) that wgmma reads through shared-memory descriptors (wgmma_ops.cuh).
//
// Two kinds of kernel:
//  * mamba_wgmma_bf16 (the first version, kept as a tuning candidate): 128x256 tile per CTA, all 256
//    threads load with cp.async and then wait for their 4 wgmma of each k-tile, so the tensor cores
//    idle during every barrier and load issue.
//  * mamba_wgmma_ws_{bf16,tf32}_n{256,128}: warp-specialised and persistent. Warpgroup 0 (producer)
//    copies k-tiles into a ring of STAGES shared-memory stages with cp.async; warpgroups 1 and 2
//    (consumers) each own 64 rows of a 128 x BN tile and run wgmma on a stage as soon as its mbarrier
//    says it is full, keeping one k-tile of wgmma in flight while they release the previous stage.
//    Each CTA walks tiles blockIdx.x, +gridDim.x, ... (grid = #SMs): the producer already fills the
//    next tile's stages while the consumers store the last one, so the epilogue and the pipeline
//    start are hidden. tf32: the producer rounds its own chunks to tf32 (cvt.rna, as the mma.sync
//    kernel does) in shared memory before it signals the stage; wgmma would otherwise truncate.
//    Variants (bf16): _n192 (192-wide tiles, 5 stages) and _n256e2 / _n192e3, whose interior tiles leave
//    through bulk copies (store_slab_bulk: bf16 stores, or f32 adds for out_proj adding into the residual).
//  * mamba_wgmma_tma_bf16_*: the same kernels whose producer is one thread asking the TMA unit for each
//    stage's boxes (tensor maps from the host, CudaGemm / TensorMaps); the stage's mbarrier completes when
//    the bytes land, so every free stage is in flight (H200 run 94: in_proj 0.916 vs 0.999 ms at 131072 rows).
//  CudaGemm's tuner picks one per shape.
#include "gemm_common.cuh"
#include "wgmma_ops.cuh"

namespace wg {

constexpr int BM = 128, BN = 256, BK = 64, STAGES = 4, THREADS = 256;
constexpr int STAGE_BYTES = (BM + BN) * 128;
constexpr int SMEM = STAGES * STAGE_BYTES + 1024;  // + alignment slack for the 1024-byte swizzle atoms

}  // namespace wg

extern "C" __global__ void __launch_bounds__(wg::THREADS, 1) mamba_wgmma_bf16(const gemm::P p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using namespace wg;
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    {
        unsigned dyn;
        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));
        if (dyn < (unsigned)SMEM) __trap();
    }
    const uint32_t raw = smem_u32(smem_raw);
    const uint32_t base = (raw + 1023u) & ~1023u;
    unsigned char* smem = smem_raw + (base - raw);

    const int tid = threadIdx.x, lane = tid & 31;
    const int group = tid >> 7;          // warpgroup: rows group*64 .. +63 of the tile
    const int wq = (tid >> 5) & 3;       // warp within the warpgroup: 16-row slab
    const i64 m0 = (i64)blockIdx.y * BM;
    const i64 n0 = (i64)blockIdx.x * BN;
    const bf16* gx = cptr<bf16>(p.x) + m0 * p.ldx;
    const bf16* gw = cptr<bf16>(p.w) + n0 * p.ldw;
    const i64 K = p.K;
    const int KT = (int)((K + BK - 1) / BK);
    const bool vecX = p.vecX != 0, vecW = p.vecW != 0;

    auto load_stage = [&](int stage, int kt) {
        unsigned char* st = smem + stage * STAGE_BYTES;
        const i64 k0 = (i64)kt * BK;
        gemm::load_slab<bf16, BM, THREADS>(st, gx + k0, p.ldx, p.M - m0, K - k0, vecX);
        gemm::load_slab<bf16, BN, THREADS>(st + BM * 128, gw + k0, p.ldw, p.N - n0, K - k0, vecW);
    };

    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) acc[i] = 0.f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < KT) load_stage(s, s);
        cp_async_commit();
    }
    for (int kt = 0; kt < KT; ++kt) {
        cp_async_wait<STAGES - 2>();
        fence_proxy_async();  // this thread's cp.async data -> visible to the async proxy (wgmma)
        __syncthreads();      // every thread's part of stage kt is in; every wgmma of kt-1 has completed
        {
            const int nk = kt + STAGES - 1;
            if (nk < KT) load_stage(nk % STAGES, nk);
            cp_async_commit();
        }
        const uint32_t sa = base + (kt % STAGES) * STAGE_BYTES + group * 64 * 128;
        const uint32_t sb = base + (kt % STAGES) * STAGE_BYTES + BM * 128;
        fence_operands();
#pragma unroll
        for (int ks = 0; ks < BK / 16; ++ks) mma_bf16_n256(acc, desc(sa + ks * 32), desc(sb + ks * 32), 1);
        commit();
        wait<0>();
    }
    cp_async_wait<0>();

    const int g = lane >> 2, tig = lane & 3;
    const i64 row = m0 + group * 64 + wq * 16 + g;
#pragma unroll
    for (int j = 0; j < BN / 8; ++j) {
        const int col = (int)(n0 + j * 8 + tig * 2);
        gemm::store_pair_any(p, row, col, acc[j * 4 + 0], acc[j * 4 + 1]);
        gemm::store_pair_any(p, row + 8, col, acc[j * 4 + 2], acc[j * 4 + 3]);
    }
#else
    __trap();  // only launched when the arch probe of this module reports sm_90a
#endif
}

// ------------------------------------------------------------------ warp-specialised, persistent

namespace wsg {

// Output staging (store_slab_staged): 16 rows of 128 bytes per consumer warp, padded rows (bf16: 144
// bytes, f32: 160) so that the fragment-layout writes hit 32 distinct banks.
constexpr int EPI_PITCH_BF16 = 144, EPI_PITCH_F32 = 160, EPI_WARP_BYTES = 16 * EPI_PITCH_F32;

// Writes a lane's fragment quad v (rows g and g + 8, two adjacent columns) at r0 and 8 rows below in a staging buffer.
template <typename To>
DEV void stage_quad(unsigned char* r0, int pitch, const float (&v)[4]) {
    if constexpr (sizeof(To) == 2) {
        *reinterpret_cast<__nv_bfloat162*>(r0) = __floats2bfloat162_rn(v[0], v[1]);
        *reinterpret_cast<__nv_bfloat162*>(r0 + 8 * pitch) = __floats2bfloat162_rn(v[2], v[3]);
    } else {
        *reinterpret_cast<float2*>(r0) = make_float2(v[0], v[1]);
        *reinterpret_cast<float2*>(r0 + 8 * pitch) = make_float2(v[2], v[3]);
    }
}

// Stores one consumer warp's 16 x BN slab of an interior tile (the m64nN wgmma fragment: lane (g, tig)
// holds rows g and g + 8, columns 8j + 2tig and +1, in acc[4j .. 4j + 3]) through its own shared-memory
// buffer, 128 bytes of each row per round, so that every global store is a whole 16-byte chunk and a
// warp instruction writes four whole 128-byte lines. Storing the fragment pairs directly wrote 8 half
// sectors per instruction behind ~15 instructions of bounds and bias logic each; for dt_proj (K = 48,
// one k-tile) that epilogue was nearly all of the kernel (~35 TFLOP/s, 0.07 ms for a 50 MB output).
// out: the slab's first element (16-byte aligned, ldout * sizeof(To) a multiple of 16). bias: the slab's
// first column's bias (or null), then act (gemm::P.act: softplus for dt_proj writing δ) as store_pair applies
// them; the bias comes through the read-only path (ld.global.nc), which the compiler may move above the
// previous round's stores (store_pair's plain loads waited behind each store: dt_proj with a bias went from
// 0.125 to 0.947 ms per layer at 64 x 2048, H200 run 64).
template <typename To, int BN>
DEV void store_slab_staged(const float* acc, unsigned char* buf, To* out, i64 ldout, int lane,
                           const float* bias = nullptr, int act = 0) {
    constexpr int CW = 128 / (int)sizeof(To);  // columns per round
    constexpr int PITCH = sizeof(To) == 2 ? EPI_PITCH_BF16 : EPI_PITCH_F32;
    const int g = lane >> 2, tig = lane & 3;
#pragma unroll
    for (int ch = 0; ch < BN / CW; ++ch) {
#pragma unroll
        for (int jj = 0; jj < CW / 8; ++jj) {
            const int j = ch * (CW / 8) + jj;
            unsigned char* r0 = buf + g * PITCH + (jj * 8 + tig * 2) * (int)sizeof(To);
            float v[4] = {acc[4 * j], acc[4 * j + 1], acc[4 * j + 2], acc[4 * j + 3]};
            if (bias) {
                const float b0 = __ldg(bias + ch * CW + jj * 8 + tig * 2), b1 = __ldg(bias + ch * CW + jj * 8 + tig * 2 + 1);
                v[0] += b0; v[1] += b1; v[2] += b0; v[3] += b1;
            }
#pragma unroll
            for (int e = 0; e < 4; ++e) v[e] = gemm::epilogue_act<To>(act, v[e]);
            stage_quad<To>(r0, PITCH, v);
        }
        wg::warp_sync();
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            const int r = q * 4 + (lane >> 3), c = lane & 7;  // a quarter warp reads one whole 128-byte row
            const uint4 v = *reinterpret_cast<const uint4*>(buf + r * PITCH + c * 16);
            *reinterpret_cast<uint4*>(reinterpret_cast<unsigned char*>(out + r * ldout + ch * CW) + c * 16) = v;
        }
        wg::warp_sync();  // the buffer is rewritten by the next round
    }
}

// Tile, ring depth and shared memory of one instance. A stage holds BM + BN rows of 128 bytes (a k-tile
// of 64 bf16 or 32 fp32): 48 KB for BN = 256 (4 stages), 40 KB for BN = 192 (5), 32 KB for BN = 128 (6);
// ~193-205 KB, one CTA per SM. LAG: the producer signals a stage at the start of the iteration LAG k-tiles after
// the one that issued its copies (it waits for its own copies with cp.async.wait_group, so up to LAG stages
// stay in flight per producer thread). (Run 35, when the signal came after each iteration's copies: LAG 4
// with BN = 128, for the copy-bound x_proj, measured no faster in the H200's per-shape tuning.)
// EPI > 0 (interior tiles through bulk copies, store_slab_bulk): each consumer warp's buffer holds 16 rows of
// BN / EPI bf16 columns (a round) with 16 bytes of padding per row (conflict-free bf16 fragment writes). Where the
// 1024-byte alignment slack no longer fits (BN = 256 in 2 rounds), the dynamic shared memory base must already
// be 1024-aligned (checked: the kernel traps otherwise and WgmmaCheck turns it off). Measured (run 69): the whole
// 256-wide slab at once, which costs a stage (3 of 48 KB), lost to 2 rounds with 4 stages.
template <int BN_, int EPI_ = 0>
struct Cfg {
    static constexpr int BM = 128, BN = BN_, EPI = EPI_;
    static constexpr int STAGE_BYTES = (BM + BN) * 128;
    static constexpr int STAGES = BN >= 256 ? 4 : BN >= 192 ? 5 : 6;
    static constexpr int LAG = 2;
    static constexpr int BAR_OFF = STAGES * STAGE_BYTES;  // full[STAGES], empty[STAGES]
    static constexpr int EPI_OFF = BAR_OFF + (EPI > 0 ? (16 * STAGES + 63) / 64 * 64 : 128);  // 8 consumer warps' buffers
    static constexpr int EPI_PITCH = EPI > 0 ? BN * 2 / (EPI > 0 ? EPI : 1) + 16 : 0;  // a round's bf16 columns + 16
    static constexpr int EPI_WARP = EPI > 0 ? 16 * EPI_PITCH : EPI_WARP_BYTES;
    static constexpr int CORE = EPI_OFF + 8 * EPI_WARP;
    static constexpr int SLACK = CORE + 1024 <= 227 * 1024 ? 1024 : 0;  // to align the base to 1024
    static constexpr int SMEM = CORE + SLACK;
    static constexpr int THREADS = 384;
    // the producer's wait for stage it - STAGES needs the consumers past k-tile it - STAGES + 1 (they release a
    // stage after the next one's wgmma), which it signals at the start of iteration it - STAGES + 1 + LAG: this
    // one at the latest
    static_assert(LAG >= 1 && LAG <= STAGES - 1, "the producer must signal a stage before it waits for its reuse");
    static_assert(2 * STAGES * 8 <= EPI_OFF - BAR_OFF, "the barriers fit below EPI_OFF");
    static_assert(EPI == 0 || (BN % (8 * (EPI > 0 ? EPI : 1)) == 0 && EPI_PITCH % 16 == 0 && (EPI_PITCH / 4) % 32 == 4),
                  "bulk rounds: whole fragments, 16-byte aligned rows, rows 4 banks apart");
    static_assert(SMEM <= 227 * 1024, "one CTA per SM");
};

// Stores one consumer warp's 16 x BN slab of an interior tile with bulk copies: bf16 (ADD false) or f32 added
// into the output (ADD true: out_proj's residual add, the L2 applies the adds). Per round, the lanes write their
// fragments (a round's columns) into the warp's buffer, fence them for the async proxy, and lanes 0-15 each
// start one copy of a row to global memory. The warp goes back to its wgmma at once; the TMA unit drains the
// buffer meanwhile, where the staged stores kept both consumer warpgroups (and so the tensor cores) waiting on
// the stores, and the f32 += path on its loads of the old values. Measured (run 69, 32768 rows): in_proj 0.281
// -> 0.272 ms, out_proj 0.130 -> 0.126. A round first waits until this lane's copies of the previous round (or
// tile) have read the buffer. out: the slab's first element (16-byte aligned, ldout * sizeof(To) a multiple of
// 16). A round's row is BN * 2 / EPI bytes (the buffer's row less its padding): BN / EPI bf16 or half as many f32
// columns (f32 rows 4 banks apart: 2-way conflicts on the 8-byte fragment writes).
template <typename To, int BN, int EPI, bool ADD>
DEV void store_slab_bulk(const float* acc, unsigned char* buf, uint32_t sbuf, To* out, i64 ldout, int lane) {
    static_assert(!ADD || sizeof(To) == 4, "bulk adds: f32");
    constexpr int PITCH = Cfg<BN, EPI>::EPI_PITCH;  // the buffer's row
    constexpr int RB = PITCH - 16;                  // bytes per row and round (less the padding)
    constexpr int CR = RB / (int)sizeof(To);        // columns per round
    const int g = lane >> 2, tig = lane & 3;
#pragma unroll
    for (int r = 0; r < BN / CR; ++r) {
        wg::bulk_wait_read<0>();
        wg::warp_sync();
#pragma unroll
        for (int jj = 0; jj < CR / 8; ++jj) {
            const int j = r * (CR / 8) + jj;
            const float v[4] = {acc[4 * j], acc[4 * j + 1], acc[4 * j + 2], acc[4 * j + 3]};
            stage_quad<To>(buf + g * PITCH + (jj * 8 + tig * 2) * (int)sizeof(To), PITCH, v);
        }
        wg::fence_proxy_async();
        wg::warp_sync();
        if (lane < 16) {
            if constexpr (ADD) wg::bulk_add_f32(out + lane * ldout + r * CR, sbuf + lane * PITCH, RB);
            else wg::bulk_store(out + lane * ldout + r * CR, sbuf + lane * PITCH, RB);
            wg::bulk_commit();
        }
    }
}

// Register split (setmaxnreg): the producer needs addresses only, each consumer thread holds BN/2 f32
// accumulators. 128 x 56 + 256 x 224 <= 65536.
constexpr int PRODUCER_REGS = 56, CONSUMER_REGS = 224;

// LATE: the signal order before run 45 (a stage signalled after the iteration's empty wait and copies);
// LAG_ > 0 overrides Cfg::LAG. Both for the probe's A/B (benchmarks/device/kernel_probe.cu); production
// kernels use the defaults.
template <typename T, int BN_, bool LATE = false, int LAG_ = 0, int EPI = 0, bool TMA = false>
DEV void gemm_ws(const gemm::P& p, const wg::TensorMap* ma = nullptr, const wg::TensorMap* mb = nullptr) {
    using C = Cfg<BN_, EPI>;
    static_assert(EPI == 0 || sizeof(T) == 2, "bulk epilogue: bf16 kernels only");
    constexpr int BM = C::BM, BN = C::BN, STAGES = C::STAGES, LAG = LAG_ > 0 ? LAG_ : C::LAG;
    // (Cfg's bound for the default; signalled late, a stage needs one more ring slot)
    static_assert(LAG >= 1 && LAG <= STAGES - (LATE ? 2 : 1), "the producer must signal a stage before it waits for its reuse");
    constexpr int BK = 128 / (int)sizeof(T);  // elements per 128-byte row
    constexpr bool TF32 = sizeof(T) == 4;
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    {
        unsigned dyn;
        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));
        if (dyn < (unsigned)C::SMEM) __trap();
    }
    const uint32_t raw = smem_u32(smem_raw);
    if (C::SLACK == 0 && (raw & 1023u) != 0) __trap();  // no room to align: the base must already be
    const uint32_t base = (raw + 1023u) & ~1023u;
    unsigned char* smem = smem_raw + (base - raw);
    const uint32_t bars = base + C::BAR_OFF;
    auto full = [&](int s) { return bars + 8u * s; };
    auto empty = [&](int s) { return bars + 8u * (STAGES + s); };

    // One arrival per warp (lane 0, after __syncwarp): 384 single-thread arrivals on one mbarrier per
    // k-tile would serialise in the shared-memory atomic unit (CUTLASS also signals once per warp).
    if (threadIdx.x == 0) {
        for (int s = 0; s < STAGES; ++s) {
            wg::bar_init(full(s), TMA ? 1 : 4);  // each producer warp arrives once per fill (TMA: one thread)
            wg::bar_init(empty(s), 8);  // each consumer warp arrives once per release
        }
    }
    __syncthreads();

    const i64 M = p.M, N = p.N, K = p.K;
    const int KT = (int)((K + BK - 1) / BK);
    const i64 NT = (N + BN - 1) / BN;
    const i64 tiles = ((M + BM - 1) / BM) * NT;

    if (threadIdx.x < 128) {
        // ---------------- producer warpgroup
        regs_dec<PRODUCER_REGS>();
        if constexpr (TMA) {
            // One thread asks the TMA unit for each stage's two boxes (x rows m0.., w rows n0.., 64 bf16 of k
            // each, zero past the edges); the full barrier completes when their bytes have landed, so every free
            // stage is in flight at once, where the cp.async producer keeps LAG stages in flight and signals them
            // itself.
            static_assert(sizeof(T) == 2, "TMA kernels: bf16");
            if (threadIdx.x == 0) {
                wg::tma_prefetch_map(ma);
                wg::tma_prefetch_map(mb);
                int it = 0;
                for (i64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
                    const int m0 = (int)((tile / NT) * BM), n0 = (int)((tile % NT) * BN);
                    for (int kt = 0; kt < KT; ++kt, ++it) {
                        const int s = it % STAGES;
                        if (it >= STAGES) wg::bar_wait(empty(s), ((it / STAGES) & 1) ^ 1);
                        const uint32_t st = base + s * C::STAGE_BYTES;
                        wg::bar_arrive_expect_tx(full(s), C::STAGE_BYTES);
                        wg::tma_load_2d(st, ma, kt * BK, m0, full(s));
                        wg::tma_load_2d(st + BM * 128, mb, kt * BK, n0, full(s));
                    }
                }
            }
            return;
        }
        const int tid = threadIdx.x;
        const bool vecX = p.vecX != 0, vecW = p.vecW != 0;
        // tf32: round this thread's chunks of a landed stage in place (the chunks load_slab gave it);
        // the pass costs about as much as the copies (tf32 ran at 129 TF/s with both operands rounded)
        auto finish = [&](int j) {
            const int s = j % STAGES;
            if constexpr (TF32) {
                unsigned char* st = smem + s * C::STAGE_BYTES;
                // rows [0, BM) are x, [BM, BM + BN) w; operands already rounded (weights at upload, p.wTf32;
                // activations by the kernel that wrote them, p.xTf32) need no pass
                const int lo = p.xTf32 ? BM * 8 : 0, hi = p.wTf32 ? BM * 8 : (BM + BN) * 8;
#pragma unroll 4
                for (int i = lo + tid; i < hi; i += 128) {
                    uint4* q = reinterpret_cast<uint4*>(st + gemm::swz(i >> 3, i & 7));
                    uint4 v = *q;
                    v.x = gemm::to_tf32(v.x); v.y = gemm::to_tf32(v.y);
                    v.z = gemm::to_tf32(v.z); v.w = gemm::to_tf32(v.w);
                    *q = v;
                }
            }
            wg::fence_proxy_async();
            wg::warp_sync();  // every lane's copies of this stage landed and were fenced
            if ((tid & 31) == 0) wg::bar_arrive(full(s));
        };
        int it = 0;
        for (i64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
            const i64 m0 = (tile / NT) * BM, n0 = (tile % NT) * BN;
            const T* gx = cptr<T>(p.x) + m0 * p.ldx;
            const T* gw = cptr<T>(p.w) + n0 * p.ldw;
            for (int kt = 0; kt < KT; ++kt, ++it) {
                const int s = it % STAGES;
                // Signal the stage LAG k-tiles back before waiting for a free one and issuing this one's
                // copies: signalled after them (until run 44), the full barrier waited for the consumers to
                // free a stage and for ~100 copy instructions, and the consumers spent ~40 % of their
                // samples waiting for it (in_proj, Nsight, run 44).
                if (!LATE && it >= LAG) {
                    cp_async_wait<LAG - 1>();  // groups up to it - LAG have landed
                    finish(it - LAG);
                }
                if (it >= STAGES) wg::bar_wait(empty(s), ((it / STAGES) & 1) ^ 1);
                unsigned char* st = smem + s * C::STAGE_BYTES;
                const i64 k0 = (i64)kt * BK;
                gemm::load_slab<T, BM, 128>(st, gx + k0, p.ldx, M - m0, K - k0, vecX, tid);
                gemm::load_slab<T, BN, 128>(st + BM * 128, gw + k0, p.ldw, N - n0, K - k0, vecW, tid);
                cp_async_commit();
                if (LATE && it >= LAG) {
                    cp_async_wait<LAG>();
                    finish(it - LAG);
                }
            }
        }
        cp_async_wait<0>();
        for (int j = it - LAG < 0 ? 0 : it - LAG; j < it; ++j) finish(j);
        return;
    }

    // ---------------- consumer warpgroups
    regs_inc<CONSUMER_REGS>();
    const int cw = (threadIdx.x >> 7) - 1;  // rows cw*64 .. +63 of the tile
    const int lane = threadIdx.x & 31, wq = (threadIdx.x >> 5) & 3;
    const int g = lane >> 2, tig = lane & 3;
    float acc[BN / 2];
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) acc[i] = 0.f;
    int it = 0;
    // (the bulk-epilogue kernels keep only the bulk and pair stores: fewer live paths, fewer spills)
    const bool accFast = EPI == 0 && p.accumulate && !p.outBf16 && p.vecOut && !p.bias;
    const int outBytes = p.outBf16 ? 2 : 4;
    // a bias (and the act after it) goes through the staged store in the 128-wide tiles only (dt_proj): in the
    // 256-wide ones (in_proj, out_proj; no bias in Mamba) that code raised the consumers' spills 76 -> 100 bytes
    // (the 256-wide staged store applies neither bias nor act: pair stores for either)
    const bool stagedOut = EPI == 0 && !p.accumulate && (BN == 128 || (!p.bias && !p.act)) &&
                           ((p.out | p.ldout * outBytes) & 15) == 0;
    unsigned char* epi = smem + C::EPI_OFF + ((threadIdx.x >> 5) - 4) * C::EPI_WARP;
    const uint32_t sepi = base + C::EPI_OFF + ((threadIdx.x >> 5) - 4) * C::EPI_WARP;
    const bool bulkOut = EPI > 0 && p.outBf16 && !p.accumulate && !p.bias && !p.act && ((p.out | p.ldout * 2) & 15) == 0;
    const bool bulkAdd = EPI > 0 && !p.outBf16 && p.accumulate && !p.bias && !p.act && ((p.out | p.ldout * 4) & 15) == 0;
    for (i64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        const i64 m0 = (tile / NT) * BM, n0 = (tile % NT) * BN;
        if (accFast) {
            // The residual add's old values come from DRAM (~1-2 us each round trip) and the epilogue
            // waits for them with the tensor cores idle: ask L2 for this thread's share of the tile's
            // lines now, while the tile's k-loop runs (measured: out_proj += took 0.18 ms vs 0.074 without).
            const i64 prow = m0 + cw * 64 + wq * 16 + g;
            if (prow + 8 < M && n0 + BN <= N) {
                const float* pb = cptr<float>(p.out) + prow * p.ldout + n0;
#pragma unroll
                for (int l = tig; l < BN / 32; l += 4) {
                    wg::prefetch_l2(pb + l * 32);
                    wg::prefetch_l2(pb + 8 * p.ldout + l * 32);
                }
            }
        }
        for (int kt = 0; kt < KT; ++kt, ++it) {
            const int s = it % STAGES;
            wg::bar_wait(full(s), (it / STAGES) & 1);
            const uint32_t sa = base + s * C::STAGE_BYTES + cw * 64 * 128;
            const uint32_t sb = base + s * C::STAGE_BYTES + BM * 128;
            wg::fence_operands();
#pragma unroll
            for (int ks = 0; ks < 4; ++ks) {
                const int scale = (kt | ks) != 0;  // the first k-step of a tile overwrites the accumulators
                if constexpr (TF32) {
                    if constexpr (BN == 256) wg::mma_tf32_n256(acc, wg::desc(sa + ks * 32), wg::desc(sb + ks * 32), scale);
                    else wg::mma_tf32_n128(acc, wg::desc(sa + ks * 32), wg::desc(sb + ks * 32), scale);
                } else {
                    if constexpr (BN == 256) wg::mma_bf16_n256(acc, wg::desc(sa + ks * 32), wg::desc(sb + ks * 32), scale);
                    else if constexpr (BN == 192) wg::mma_bf16_n192(acc, wg::desc(sa + ks * 32), wg::desc(sb + ks * 32), scale);
                    else wg::mma_bf16_n128(acc, wg::desc(sa + ks * 32), wg::desc(sb + ks * 32), scale);
                }
            }
            wg::commit();
            wg::wait<1>();  // the previous k-tile's wgmma are done: its stage can be refilled
            if (kt > 0 && lane == 0) wg::bar_arrive(empty((it - 1) % STAGES));
        }
        wg::wait<0>();
        if (KT > 0 && lane == 0) wg::bar_arrive(empty((it - 1) % STAGES));

        const i64 row = m0 + cw * 64 + wq * 16 + g;
        if (accFast && row + 8 < M && n0 + BN <= N) {
            // out += x·wᵀ (the residual add of out_proj): the old values are loaded 16 at a time before
            // any store, so the loads' latency overlaps instead of serialising 2 x BN/8 round trips
            float* o0 = mptr<float>(p.out) + row * p.ldout + n0 + tig * 2;
            float* o1 = o0 + 8 * p.ldout;
#pragma unroll
            for (int jb = 0; jb < BN / 8; jb += 8) {
                float2 a[8], b[8];
#pragma unroll
                for (int j = 0; j < 8; ++j) {
                    a[j] = *reinterpret_cast<const float2*>(o0 + (jb + j) * 8);
                    b[j] = *reinterpret_cast<const float2*>(o1 + (jb + j) * 8);
                }
#pragma unroll
                for (int j = 0; j < 8; ++j) {
                    const int q = (jb + j) * 4;
                    *reinterpret_cast<float2*>(o0 + (jb + j) * 8) = make_float2(a[j].x + acc[q], a[j].y + acc[q + 1]);
                    *reinterpret_cast<float2*>(o1 + (jb + j) * 8) = make_float2(b[j].x + acc[q + 2], b[j].y + acc[q + 3]);
                }
            }
        } else if ((bulkOut || bulkAdd) && m0 + BM <= M && n0 + BN <= N) {
            if constexpr (EPI > 0) {
                const i64 slab = (m0 + cw * 64 + wq * 16) * p.ldout + n0;
                if (bulkOut) store_slab_bulk<bf16, BN, EPI, false>(acc, epi, sepi, mptr<bf16>(p.out) + slab, p.ldout, lane);
                else store_slab_bulk<float, BN, EPI, true>(acc, epi, sepi, mptr<float>(p.out) + slab, p.ldout, lane);
            }
        } else if (stagedOut && m0 + BM <= M && n0 + BN <= N) {
            const i64 slab = (m0 + cw * 64 + wq * 16) * p.ldout + n0;
            const float* bs = BN == 128 && p.bias ? cptr<float>(p.bias) + n0 : nullptr;
            const int act = BN == 128 ? (int)p.act : 0;
            if (p.outBf16) store_slab_staged<bf16, BN>(acc, epi, mptr<bf16>(p.out) + slab, p.ldout, lane, bs, act);
            else store_slab_staged<float, BN>(acc, epi, mptr<float>(p.out) + slab, p.ldout, lane, bs, act);
        } else {
#pragma unroll
            for (int j = 0; j < BN / 8; ++j) {
                const int col = (int)(n0 + j * 8 + tig * 2);
                gemm::store_pair_any(p, row, col, acc[j * 4 + 0], acc[j * 4 + 1]);
                gemm::store_pair_any(p, row + 8, col, acc[j * 4 + 2], acc[j * 4 + 3]);
            }
        }
        // the buffers live as long as the CTA: its last tile waits for the copies to have read them (a wait after
        // the loop instead made ptxas spill 374 more bytes)
        if constexpr (EPI > 0)
            if (tile + gridDim.x >= tiles) wg::bulk_wait_read<0>();
    }
}

}  // namespace wsg

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define WS_BODY(T, BN, EPI) wsg::gemm_ws<T, BN, false, 0, EPI>(p);
#else
#define WS_BODY(T, BN, EPI) __trap();
#endif
#define WS_KERNEL(NAME, T, BN, EPI) \
    extern "C" __global__ void __launch_bounds__(384, 1) NAME(const gemm::P p) { WS_BODY(T, BN, EPI) }
WS_KERNEL(mamba_wgmma_ws_bf16_n256, bf16, 256, 0)
WS_KERNEL(mamba_wgmma_ws_bf16_n128, bf16, 128, 0)
WS_KERNEL(mamba_wgmma_ws_tf32_n256, float, 256, 0)
WS_KERNEL(mamba_wgmma_ws_tf32_n128, float, 128, 0)
// Interior tiles through bulk copies (store_slab_bulk) in 2 or 3 rounds of 128 or 64 bf16 columns; 192-wide tiles with
// 5 stages, tried because in_proj's consumers find a stage not yet full 92 % of the time (run 70): no faster for
// in_proj or out_proj, but the tuner takes them for dt_proj (K = 48, write-bound: 0.135-0.139 against 0.153 ms per
// layer at 64 x 2048, runs 71-75)
WS_KERNEL(mamba_wgmma_ws_bf16_n256e2, bf16, 256, 2)
WS_KERNEL(mamba_wgmma_ws_bf16_n192, bf16, 192, 0)
WS_KERNEL(mamba_wgmma_ws_bf16_n192e3, bf16, 192, 3)

// The same kernels with a TMA producer (tensor maps encoded on the host by cuTensorMapEncodeTiled, CudaGemm /
// TensorMaps): the parameters are gemm::P and the maps of x and w, in one __grid_constant__ struct so that the maps'
// addresses are generic addresses of the parameter space.
namespace wsg {
struct PT {
    gemm::P p;
    wg::TensorMap a, b;  // x [M, K] in boxes of 128 rows, w [N, K] in boxes of BN rows; 64 bf16 of k, 128-byte swizzle
};
static_assert(offsetof(PT, a) == 192 && sizeof(PT) == 448, "CudaGemm.launchParams lays PT out so");
}  // namespace wsg
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define TMA_BODY(BN, EPI) wsg::gemm_ws<bf16, BN, false, 0, EPI, true>(pt.p, &pt.a, &pt.b);
#else
#define TMA_BODY(BN, EPI) __trap();
#endif
#define TMA_KERNEL(NAME, BN, EPI) \
    extern "C" __global__ void __launch_bounds__(384, 1) NAME(const __grid_constant__ wsg::PT pt) { TMA_BODY(BN, EPI) }
TMA_KERNEL(mamba_wgmma_tma_bf16_n256e2, 256, 2)
TMA_KERNEL(mamba_wgmma_tma_bf16_n256, 256, 0)
TMA_KERNEL(mamba_wgmma_tma_bf16_n128, 128, 0)
TMA_KERNEL(mamba_wgmma_tma_bf16_n192e3, 192, 3)

// Which code the driver picked from this module (same contract as mamba_arch_probe in all.cu).
extern "C" __global__ void mamba_wgmma_probe(int* out) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    out[0] = __CUDA_ARCH__;
    out[1] = 1;
#else
    out[0] = 0;
    out[1] = 0;
#endif
}

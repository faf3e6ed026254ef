#pragma once
// Selective scan, channel-per-thread main pass (scan_chan_kernel), for batches with many lanes (the forward
// at 64 x 2048: 64 lanes x 1536 channels).
//
// Thread = one channel of one lane with all 16 states in registers; warp = 32 consecutive channels. The
// kernels of scan.cuh split a channel's states over 4 threads (thread = (channel, 4 states)) because the
// benchmark shape (8 lanes) has too few channels to fill the GPU otherwise; that split costs per state and
// step about twice the recurrence's own 5 instructions: the partial y through shared memory, its 4-way sum,
// and E / Y phases and tile loads shared by 4x fewer states per thread (~10 issue slots per state-step in
// all, H200 runs 19-29). Here a step is ~8 per state: δ = softplus(dt + bias), δ·u, the 16 states'
// recurrence and y, all in the thread, no partial sums, no barrier. What bounds it is the exp unit: 16 ex2 +
// softplus + silu = 18 MUFU ops per step and warp, 144 cycles of a scheduler's exp unit, against ~130 issue
// slots (H200 run 51, Nsight: exp unit 79 % busy, issue 69 %). It needs many lanes: CudaScan.plan takes it
// from 10 warps per SM on (B·D/32 warps), for 16 states, unsplit lanes, D a multiple of 32, 16-byte aligned
// views. At (64, 1536, 2048, 16) bf16 it took 1.140 ms against 1.307 for the warp-specialised pass; at 16
// lanes it lost, 0.420 against 0.350 ms (run 51).
//
// Warps are independent: each streams its own channels' u, dt, z and its lane's B, C through its own ring of
// TILE-step slots with cp.async, synchronised by __syncwarp only. B and C (bf16) are converted to f32 once per
// tile into a per-warp buffer, so that the recurrence reads them with broadcast LDS.128. y is stored per step
// (a warp writes 64 contiguous bytes).
//
// FDT (bf16, dt rank R <= 48, R a multiple of 8; opt-in, -Dmamba.cuda.fusedDtProj=true): dt = dtIn · W_dtᵀ
// inside the pass, so the dt_proj GEMM and its [rows, D] dt tensor go away. Per tile the warp multiplies the
// tile's dtIn [TILE][R] by its 32 channels' W_dt rows (kept in shared memory) on the tensor cores: 4 n8 tiles
// x 3 k16 steps of mma.m16n8k16 (rows 8-15 of the m16 tile are zero), fragments through ldmatrix, the sums
// through a [TILE][DPITCH] f32 scratch to the thread of their channel. That adds only ~3 issue slots per
// step, but it measured slower: 1.618 ms per layer at bf16 64 x 2048 against 1.213 + 0.125 for the pass plus
// the dt_proj GEMM (H200 run 54; forward 1.395 vs 1.478 M tokens/s). The mma chain sits between two warp syncs
// at every tile, and its 2-slot ring (3 no longer fit 5 blocks) leaves less copy in flight; neither was
// measured apart. (The warp-specialised pass's fused variant lost too, run 34.)
#include "scan.cuh"

namespace scan {

constexpr int CH_WARPS = 4;   // warps per block (they share nothing)
constexpr int CH_RK = 48;     // FDT: dt rank capacity (k16 steps x 16)
constexpr int CH_RP = 56;     // FDT: pitch (bf16) of dtIn and W_dt rows: 112 bytes, so ldmatrix's 8 rows hit distinct banks
// Tiles of TILE steps, SLOTS of them in a warp's ring. A slot: u [TILE][32], dt [TILE][32] (FDT: dtIn
// [TILE][CH_RP]), z [TILE][32], B, C [TILE][16] (activation type). Per warp: the ring; (bf16) the current
// tile's B and C in f32 [TILE][32] (B then C per row); (FDT) W_dt [32][CH_RP] bf16 and the dt scratch.
__host__ __device__ constexpr int ch_slot_elems(int tile, bool fdt) { return tile * (3 * 32 + 2 * 16 + (fdt ? CH_RP - 32 : 0)); }
template <typename T, int TILE, int SLOTS, bool FDT> __host__ __device__ constexpr int ch_warp_bytes() {
    return SLOTS * ch_slot_elems(TILE, FDT) * (int)sizeof(T) + (sizeof(T) == 2 ? TILE * 32 * 4 : 0) +
           (FDT ? 32 * CH_RP * 2 + TILE * DPITCH * 4 : 0);
}
// Dynamic shared memory of a block; CudaScan.java computes the same number.
template <typename T, int TILE, int SLOTS, bool FDT> __host__ __device__ constexpr int ch_smem_bytes() {
    return CH_WARPS * ch_warp_bytes<T, TILE, SLOTS, FDT>();
}

// DELTA: dt already holds δ = softplus(dt + bias) (the dt_proj GEMM's epilogue computed it; opt-in,
// -Dmamba.cuda.deltaInDtProj=true): one exp-unit op and ~12 issue slots less per step, 1.100 against ~1.19 ms
// per layer at bf16 64 x 2048, but the epilogue cost dt_proj 0.157 ms more (H200 run 65).
template <typename T, int TILE, int SLOTS, bool FDT = false, bool DELTA = false>
DEV void scan_chan_kernel(const P& p) {
    constexpr int N = 16, E = 16 / (int)sizeof(T);
    constexpr int XCPR = 32 / E, XQ = TILE * XCPR / 32;      // 16-byte chunks per u/dt/z row; per lane and tile
    constexpr int BCPR = N / E, BCQ = 2 * TILE * BCPR / 32;  // chunks per B/C row; B and C chunks per lane and tile
    static_assert(XQ >= 1 && BCQ >= 1 && (TILE * XCPR) % 32 == 0 && (2 * TILE * BCPR) % 32 == 0, "whole rounds of chunks");
    static_assert(SLOTS >= 2, "a tile in flight while one runs");
    static_assert(!FDT || (sizeof(T) == 2 && TILE == 8), "fused dt: bf16, 8 steps = the live rows of an m16 tile");
    static_assert(!(FDT && DELTA), "δ from the dt_proj GEMM or dt_proj inside, not both");
    constexpr int DTW = FDT ? CH_RP : 32;  // width of the dt (dtIn) tile
    constexpr int OFF_DT = TILE * 32, OFF_Z = OFF_DT + TILE * DTW, OFF_B = OFF_Z + TILE * 32;  // C at OFF_B + TILE * N
    constexpr int SLOT = ch_slot_elems(TILE, FDT);
    constexpr bool FAST = sizeof(T) == 2, CVT = sizeof(T) == 2;
    static_assert(!CVT || TILE * 2 * N / 8 == 32 || TILE * 2 * N / 8 == 64, "bf16: 1 or 2 B/C chunks per lane to convert");
    extern __shared__ __align__(16) unsigned char smem[];
    {
        unsigned dyn;
        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));
        if (dyn < (unsigned)ch_smem_bytes<T, TILE, SLOTS, FDT>()) __trap();
    }
    const int D = (int)p.D, R = FDT ? (int)p.R : 0;
    // what CudaScan.plan guarantees before it picks this kernel (16-byte copies, whole warps of channels)
    if (p.Nreal != N || p.nseg != 1 || (D & 31) != 0 || !p.vecX || !p.vecBC) __trap();
    if (FDT && (R < 8 || R > CH_RK || (R & 7) != 0)) __trap();
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
    const int d0 = (blockIdx.x * CH_WARPS + w) * 32;
    if (d0 >= D) return;  // a whole warp past the last channel (no block barrier below)
    const int b = blockIdx.z, d = d0 + lane;
    const Span span = seg_span(p, b, 0);
    const int nsteps = span.nsteps, ntiles = (nsteps + TILE - 1) / TILE;
    const i64 rowBase = span.rowBase;
    {  // 32-bit element offsets (below): this lane's rows of every operand
        auto mx = [](i64 x, i64 y) { return x > y ? x : y; };
        const i64 ldMax = mx(mx(mx(p.ldu, p.lddt), mx(p.ldz, p.ldy)), mx(p.ldb, p.ldc));
        if ((rowBase + p.T) * ldMax + D >= (1LL << 31)) __trap();
    }

    T* const ring = reinterpret_cast<T*>(smem + w * ch_warp_bytes<T, TILE, SLOTS, FDT>());
    float* const sbc = reinterpret_cast<float*>(ring + SLOTS * SLOT);  // bf16: B, C of the tile being run, f32
    bf16* const sw = reinterpret_cast<bf16*>(sbc + TILE * 32);        // FDT: W_dt rows of the warp's channels
    float* const sdt = reinterpret_cast<float*>(sw + 32 * CH_RP);     // FDT: the tile's dt [TILE][DPITCH]

    // This lane's chunks: u, z (and unfused dt) chunk q at row xr(q) and column xc(q) of the warp's channels,
    // B or C chunk q (bw(q) 0: B, 1: C) at row br(q), column bcol(q); FDT: dtIn chunk q at row frq[q], column
    // fcq[q] (R / 8 chunks a row). Their element offsets for the next tile to copy are kept per chunk (32-bit:
    // CudaScan.plan checks that every operand's rows x stride fits) and advanced by a tile's rows; without z
    // the z chunks copy u again, never read. A tile's copies are then a cp.async and two adds per chunk
    // (recomputing row x stride products and branching per chunk had cost ~140 instructions per warp and
    // 8-step tile, H200 run 48).
    auto xr = [&](int q) { return (lane + 32 * q) / XCPR; };
    auto xc = [&](int q) { return ((lane + 32 * q) % XCPR) * E; };
    auto bw = [&](int q) { return (lane + 32 * q) / (TILE * BCPR); };
    auto br = [&](int q) { return ((lane + 32 * q) % (TILE * BCPR)) / BCPR; };
    auto bcol = [&](int q) { return ((lane + 32 * q) % BCPR) * E; };
    constexpr int FQ = FDT ? (TILE * CH_RK / 8 + 31) / 32 : 1;  // dtIn chunks per lane at most
    const int rc = FDT ? R / 8 : 1;
    int frq[FQ], fcq[FQ];  // (a division by the run-time rc: once, not per tile)
#pragma unroll
    for (int q = 0; q < FQ; ++q) {
        frq[q] = (lane + 32 * q) / rc;
        fcq[q] = ((lane + 32 * q) % rc) * 8;
    }
    const bool hasZ = p.z != 0;
    const T* const zb = cptr<T>(hasZ ? p.z : p.u);
    const int ldz = (int)(hasZ ? p.ldz : p.ldu), rb0 = (int)rowBase;
    int ou[XQ], odt[XQ], oz[XQ], obc[BCQ], ofd[FQ];
#pragma unroll
    for (int q = 0; q < XQ; ++q) {
        ou[q] = (rb0 + xr(q)) * (int)p.ldu + d0 + xc(q);
        odt[q] = (rb0 + xr(q)) * (int)p.lddt + d0 + xc(q);
        oz[q] = (rb0 + xr(q)) * ldz + d0 + xc(q);
    }
#pragma unroll
    for (int q = 0; q < BCQ; ++q) obc[q] = (rb0 + br(q)) * (int)(bw(q) ? p.ldc : p.ldb) + bcol(q);
#pragma unroll
    for (int q = 0; q < FQ; ++q) ofd[q] = (rb0 + frq[q]) * (int)p.lddt + fcq[q];

    // the next tile's copies into slot; rows past the lane's end are not copied (the slot keeps stale values
    // that no step reads: a row of the dt product depends on its own dtIn row only)
    int issued = 0;
    auto issue = [&](T* slot) {
        if (issued < ntiles) {
            const int rows = nsteps - issued * TILE;
#pragma unroll
            for (int q = 0; q < XQ; ++q) {
                T* o = slot + xr(q) * 32 + xc(q);
                if (xr(q) < rows) {
                    cp_async16(o, cptr<T>(p.u) + ou[q], 16);
                    if (!FDT) cp_async16(slot + OFF_DT + xr(q) * 32 + xc(q), cptr<T>(p.dt) + odt[q], 16);
                    cp_async16(slot + OFF_Z + xr(q) * 32 + xc(q), zb + oz[q], 16);
                }
                ou[q] += TILE * (int)p.ldu;
                odt[q] += TILE * (int)p.lddt;
                oz[q] += TILE * ldz;
            }
#pragma unroll
            for (int q = 0; q < BCQ; ++q) {
                if (br(q) < rows)
                    cp_async16(slot + OFF_B + bw(q) * TILE * N + br(q) * N + bcol(q), cptr<T>(bw(q) ? p.C : p.B) + obc[q], 16);
                obc[q] += TILE * (int)(bw(q) ? p.ldc : p.ldb);
            }
            if constexpr (FDT) {
#pragma unroll
                for (int q = 0; q < FQ; ++q) {
                    if (lane + 32 * q < TILE * rc && frq[q] < rows)
                        cp_async16(slot + OFF_DT + frq[q] * CH_RP + fcq[q], cptr<T>(p.dt) + ofd[q], 16);
                    ofd[q] += TILE * (int)p.lddt;
                }
            }
            ++issued;
        }
        cp_async_commit();  // an empty group past the last tile keeps wait_group's count uniform
    };

    if constexpr (FDT) {
        // W_dt rows d0 .. d0 + 31 (columns R .. CH_RK zero, as are those of every dtIn row: the mma's k16 steps
        // read them), with the first tile's copies; the zeros are plain stores (never copied over)
        const int wc = 32 * rc;  // 16-byte chunks of the warp's W_dt rows
        for (int c = lane; c < wc; c += 32)
            cp_async16(sw + (c / rc) * CH_RP + (c % rc) * 8, cptr<bf16>(p.dtW) + (i64)(d0 + c / rc) * p.lddtw + (c % rc) * 8, 16);
        for (int i = lane; i < 32 * (CH_RK - R); i += 32)
            sw[(i / (CH_RK - R)) * CH_RP + R + i % (CH_RK - R)] = from_f32<bf16>(0.f);
        for (int i = lane; i < SLOTS * TILE * (CH_RK - R); i += 32) {
            const int sl = i / (TILE * (CH_RK - R)), j = i % (TILE * (CH_RK - R));
            ring[sl * SLOT + OFF_DT + (j / (CH_RK - R)) * CH_RP + R + j % (CH_RK - R)] = from_f32<bf16>(0.f);
        }
    }

    float a2[N], h[N];
    const float* arow = cptr<float>(p.A) + (i64)d * p.lda;
    float* stateRow = mptr<float>(p.state) + (i64)b * p.ldstate + (i64)d * N;
#pragma unroll
    for (int n = 0; n < N; ++n) {
        a2[n] = arow[n] * LOG2E_F;
        h[n] = stateRow[n];
    }
    const float bias = cptr<float>(p.dtBias)[d], dskip = cptr<float>(p.Dskip)[d];
    const bool roundY = sizeof(T) == 4 && p.roundY;
    int oy = rb0 * (int)p.ldy + d;  // y offset of this thread's first row of tile k

#pragma unroll
    for (int j = 0; j < SLOTS - 1; ++j) issue(ring + j * SLOT);
    int sk = 0;  // slot of tile k
    for (int k = 0; k < ntiles; ++k) {
        cp_async_wait<SLOTS - 2>();  // this lane's copies of tile k landed
        __syncwarp();                // ... and every lane's; every lane is done with tile k - 1 (its slot, sbc, sdt)
        issue(ring + (sk == 0 ? SLOTS - 1 : sk - 1) * SLOT);  // tile k + SLOTS - 1 into tile k - 1's slot
        const T* st = ring + sk * SLOT;
        const float* pb;
        int bcPitch;
        if constexpr (CVT) {
            // chunk c = lane + 32 q of the tile's B and C (8 values: row (c % (2 TILE)) / 2 of B for
            // c < 2 TILE, else of C), all loads first
            constexpr int CQ = TILE * 2 * N / 8 / 32;
            uint4 v[CQ];
#pragma unroll
            for (int q = 0; q < CQ; ++q) v[q] = *reinterpret_cast<const uint4*>(st + OFF_B + 8 * (lane + 32 * q));
            auto lo = [](uint32_t x) { return __uint_as_float(x << 16); };
            auto hi = [](uint32_t x) { return __uint_as_float(x & 0xffff0000u); };
#pragma unroll
            for (int q = 0; q < CQ; ++q) {
                const int c = lane + 32 * q, which = c / (2 * TILE), r = (c % (2 * TILE)) >> 1, half = c & 1;
                float* o = sbc + r * 32 + which * 16 + half * 8;
                *reinterpret_cast<float4*>(o) = make_float4(lo(v[q].x), hi(v[q].x), lo(v[q].y), hi(v[q].y));
                *reinterpret_cast<float4*>(o + 4) = make_float4(lo(v[q].z), hi(v[q].z), lo(v[q].w), hi(v[q].w));
            }
            if constexpr (FDT) {
                // dt [8 steps][32 channels] = dtIn · W_dtᵀ: A (m16 x k16) rows 0-7 = the steps, 8-15 zero; B (k16 x
                // n8) = 8 channels' W_dt rows; fragment layouts as in the PTX ISA (lane 4g + t: A rows g, g + 8 at
                // k 2t, 2t + 1 (+ 8); B k 2t, 2t + 1 (+ 8) of channel g; C rows g, g + 8 at columns 2t, 2t + 1)
                const int g8 = lane & 7, m = lane >> 3;
                uint32_t a01[4], a2x[4];  // dtIn rows 0-7 at k chunks 0-3 and 4-5 (the second load repeats 4-5)
                const uint32_t arow0 = smem_u32(st + OFF_DT + g8 * CH_RP);
                gemm::ldmatrix_x4(a01, arow0 + m * 16);
                gemm::ldmatrix_x4(a2x, arow0 + (4 + (m & 1)) * 16);
                const uint32_t af[3][4] = {{a01[0], 0u, a01[1], 0u}, {a01[2], 0u, a01[3], 0u}, {a2x[0], 0u, a2x[1], 0u}};
#pragma unroll
                for (int nt = 0; nt < 4; ++nt) {
                    uint32_t b01[4], b2x[4];  // channels 8 nt + g8 at k chunks 0-3 and 4-5
                    const uint32_t wrow = smem_u32(sw + (8 * nt + g8) * CH_RP);
                    gemm::ldmatrix_x4(b01, wrow + m * 16);
                    gemm::ldmatrix_x4(b2x, wrow + (4 + (m & 1)) * 16);
                    float c4[4] = {0.f, 0.f, 0.f, 0.f};
                    gemm::mma_bf16(c4, af[0], b01[0], b01[1]);
                    gemm::mma_bf16(c4, af[1], b01[2], b01[3]);
                    if (R > 32) gemm::mma_bf16(c4, af[2], b2x[0], b2x[1]);
                    *reinterpret_cast<float2*>(sdt + (lane >> 2) * DPITCH + 8 * nt + 2 * (lane & 3)) = make_float2(c4[0], c4[1]);
                }
            }
            __syncwarp();
            pb = sbc;
            bcPitch = 32;  // C at pb + 16
        } else {
            pb = reinterpret_cast<const float*>(st) + OFF_B;
            bcPitch = N;  // C at pb + TILE * N
        }
        const int cOff = CVT ? 16 : TILE * N;
        const int rows = imin(TILE, nsteps - k * TILE);

        // one step: dt, u, z of step `next` are read before this step's y store (a global store the
        // compiler cannot tell apart from the shared loads would otherwise hold each step's loads back)
        auto ldt = [&](int r) { return FDT ? sdt[r * DPITCH + lane] : ldf(st + OFF_DT + r * 32 + lane); };
        float xdt = ldt(0), xu = ldf(st + lane), xz = hasZ ? ldf(st + OFF_Z + lane) : 0.f;
        auto step = [&](int r, int next) {
            const float ndt = ldt(next), nu = ldf(st + next * 32 + lane);
            const float nz = hasZ ? ldf(st + OFF_Z + next * 32 + lane) : 0.f;
            const float dl = DELTA ? xdt : softplus_act<FAST>(xdt + bias), du = dl * xu;
            const float* rb = pb + r * bcPitch;
            float y0 = 0.f, y1 = 0.f;
#pragma unroll
            for (int q = 0; q < N / 4; ++q) {
                const float4 bv = *reinterpret_cast<const float4*>(rb + 4 * q);
                const float4 cv = *reinterpret_cast<const float4*>(rb + cOff + 4 * q);
                const float bb[4] = {bv.x, bv.y, bv.z, bv.w}, cc[4] = {cv.x, cv.y, cv.z, cv.w};
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    const int n = 4 * q + j;
                    const float a = ex2_approx(dl * a2[n]);
                    h[n] = fmaf(a, h[n], du * bb[j]);
                    if (j & 1) y1 = fmaf(h[n], cc[j], y1);
                    else y0 = fmaf(h[n], cc[j], y0);
                }
            }
            float yv = fmaf(dskip, xu, y0 + y1);
            if (hasZ) yv *= silu_act<FAST>(xz);
            mptr<T>(p.y)[oy + r * (int)p.ldy] = from_f32<T>(roundY ? round_tf32(yv) : yv);
            xdt = ndt;
            xu = nu;
            xz = nz;
        };
        if (rows == TILE) {
#pragma unroll
            for (int r = 0; r < TILE; ++r) step(r, r + 1 < TILE ? r + 1 : r);
        } else {
            for (int r = 0; r < rows; ++r) step(r, r + 1 < TILE ? r + 1 : r);  // the lane's last tile
        }
        oy += TILE * (int)p.ldy;
        sk = sk + 1 == SLOTS ? 0 : sk + 1;
    }
    cp_async_wait<0>();
#pragma unroll
    for (int n = 0; n < N; ++n) stateRow[n] = h[n];
}

}  // namespace scan

#pragma once
// Selective scan, channel-per-thread main pass (scan_chan_kernel), for batches with many lanes (the forward
// at 64 x 2048: 64 lanes x 1536 channels).
//
// Thread = one channel of one lane with all 16 states in registers; warp = 32 consecutive channels. The
// kernels of scan.cuh split a channel's states over 4 threads (thread = (channel, 4 states)) because the
// benchmark shape (8 lanes) has too few channels to fill the GPU otherwise; that split costs per state and
// step about twice the recurrence's own 5 instructions: the partial y through shared memory, its 4-way sum,
// and E / Y phases and tile loads shared by 4x fewer states per thread (H200 runs 19-29: ~10 issue slots per
// state-step in all). With one thread per channel a step is ~7 per state: (δ, δ·u) from dt and u, the 16
// states' recurrence and y all in the thread, no partial sums, no barrier. What bounds it is the exp unit:
// 16 ex2 + softplus + silu = 18 MUFU ops per step and warp, 144 cycles of a scheduler's MUFU quarter, against
// ~115 issue slots. It needs many lanes: B·D/32 warps must fill the GPU in about one wave (64 lanes x 1536
// channels = 3072 warps; 132 SMs x 24 warps = 3168 slots at 80 registers), and CudaScan.plan only takes it
// then (and for 16 states, unsplit lanes, D a multiple of 32, 16-byte aligned views).
//
// Warps are independent: each streams its own channels' u, dt, z and its lane's B, C through its own ring of
// CH_T-step slots with cp.async (a lane's copy: one 16-byte chunk per operand and tile, bf16), synchronised by
// __syncwarp only. B and C (bf16) are converted to f32 once per tile into a per-warp buffer, so that the
// recurrence reads them with broadcast LDS.128. y is stored per step (a warp writes 64 contiguous bytes).
#include "scan.cuh"

namespace scan {

constexpr int CH_WARPS = 4;  // warps per block (they share nothing)
// Tiles of TILE steps, SLOTS of them in a warp's ring. A slot: u, dt, z [TILE][32], B, C [TILE][16] (activation
// type); per warp the ring plus (bf16) the current tile's B and C in f32 [TILE][32] (B then C per row), plus
// (A2S) the warp's A·log2 e [32][CH_APITCH] f32.
constexpr int CH_APITCH = 20;  // a lane's 16 values, padded: a warp's LDS.128 of them hits 8 distinct bank quads
__host__ __device__ constexpr int ch_slot_elems(int tile) { return tile * (3 * 32 + 2 * 16); }
template <typename T, int TILE, int SLOTS, bool A2S> __host__ __device__ constexpr int ch_warp_bytes() {
    return SLOTS * ch_slot_elems(TILE) * (int)sizeof(T) + (sizeof(T) == 2 ? TILE * 32 * 4 : 0) + (A2S ? 32 * CH_APITCH * 4 : 0);
}
// Dynamic shared memory of a block; CudaScan.java computes the same number.
template <typename T, int TILE, int SLOTS, bool A2S> __host__ __device__ constexpr int ch_smem_bytes() {
    return CH_WARPS * ch_warp_bytes<T, TILE, SLOTS, A2S>();
}

// A2S: the 16 A·log2 e of the thread's channel are read from shared memory each step instead of living in
// registers (16 registers less, 4 LDS.128 more per step). UNR: steps of a full tile unrolled (probe variants).
template <typename T, int TILE, int SLOTS, bool A2S = false, int UNR = TILE>
DEV void scan_chan_kernel(const P& p) {
    constexpr int N = 16, E = 16 / (int)sizeof(T);
    constexpr int XCPR = 32 / E, XQ = TILE * XCPR / 32;      // 16-byte chunks per u/dt/z row; per lane and tile
    constexpr int BCPR = N / E, BCQ = 2 * TILE * BCPR / 32;  // chunks per B/C row; B and C chunks per lane and tile
    static_assert(XQ >= 1 && BCQ >= 1 && (TILE * XCPR) % 32 == 0 && (2 * TILE * BCPR) % 32 == 0, "whole rounds of chunks");
    static_assert(SLOTS >= 2, "a tile in flight while one runs");
    constexpr int OFF_DT = TILE * 32, OFF_Z = 2 * TILE * 32, OFF_B = 3 * TILE * 32;  // C at OFF_B + TILE * N
    constexpr int SLOT = ch_slot_elems(TILE);
    constexpr bool FAST = sizeof(T) == 2, CVT = sizeof(T) == 2;
    static_assert(!CVT || TILE * 2 * N / 8 == 32 || TILE * 2 * N / 8 == 64, "bf16: 1 or 2 B/C chunks per lane to convert");
    extern __shared__ __align__(16) unsigned char smem[];
    {
        unsigned dyn;
        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));
        if (dyn < (unsigned)ch_smem_bytes<T, TILE, SLOTS, A2S>()) __trap();
    }
    const int D = (int)p.D;
    // what CudaScan.plan guarantees before it picks this kernel (16-byte copies; 32-bit tile strides)
    if (p.Nreal != N || p.nseg != 1 || (D & 31) != 0 || !p.vecX || !p.vecBC) __trap();
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

    T* const ring = reinterpret_cast<T*>(smem + w * ch_warp_bytes<T, TILE, SLOTS, A2S>());
    float* const sbc = reinterpret_cast<float*>(ring + SLOTS * SLOT);  // bf16: B, C of the tile being run, f32
    float* const sa2 = sbc + (CVT ? TILE * 32 : 0) + lane * CH_APITCH;  // A2S: this lane's A·log2 e

    // This lane's chunks: u, dt, z chunk q at row xr(q) and column xc(q) of the warp's channels, B or C chunk q
    // (bw(q) 0: B, 1: C) at row br(q), column bcol(q). Their element offsets for the next tile to copy are
    // kept per chunk (32-bit: CudaScan.plan checks that every operand's rows x stride fits) and advanced by a
    // tile's rows; without z the z chunks copy u again, never read. A tile's copies are then a cp.async and
    // two adds per chunk (recomputing row x stride products and branching per chunk had cost ~140
    // instructions per warp and 8-step tile, H200 run 48).
    auto xr = [&](int q) { return (lane + 32 * q) / XCPR; };
    auto xc = [&](int q) { return ((lane + 32 * q) % XCPR) * E; };
    auto bw = [&](int q) { return (lane + 32 * q) / (TILE * BCPR); };
    auto br = [&](int q) { return ((lane + 32 * q) % (TILE * BCPR)) / BCPR; };
    auto bcol = [&](int q) { return ((lane + 32 * q) % BCPR) * E; };
    const bool hasZ = p.z != 0;
    const T* const zb = cptr<T>(hasZ ? p.z : p.u);
    const int ldz = (int)(hasZ ? p.ldz : p.ldu), rb0 = (int)rowBase;
    int ou[XQ], odt[XQ], oz[XQ], obc[BCQ];
#pragma unroll
    for (int q = 0; q < XQ; ++q) {
        ou[q] = (rb0 + xr(q)) * (int)p.ldu + d0 + xc(q);
        odt[q] = (rb0 + xr(q)) * (int)p.lddt + d0 + xc(q);
        oz[q] = (rb0 + xr(q)) * ldz + d0 + xc(q);
    }
#pragma unroll
    for (int q = 0; q < BCQ; ++q) obc[q] = (rb0 + br(q)) * (int)(bw(q) ? p.ldc : p.ldb) + bcol(q);

    // the next tile's copies into slot; rows past the lane's end are not copied (the slot keeps stale values
    // that no step reads)
    int issued = 0;
    auto issue = [&](T* slot) {
        if (issued < ntiles) {
            const int rows = nsteps - issued * TILE;
#pragma unroll
            for (int q = 0; q < XQ; ++q) {
                T* o = slot + xr(q) * 32 + xc(q);
                if (xr(q) < rows) {
                    cp_async16(o, cptr<T>(p.u) + ou[q], 16);
                    cp_async16(o + OFF_DT, cptr<T>(p.dt) + odt[q], 16);
                    cp_async16(o + OFF_Z, zb + oz[q], 16);
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
            ++issued;
        }
        cp_async_commit();  // an empty group past the last tile keeps wait_group's count uniform
    };

    float a2[A2S ? 1 : N], h[N];
    const float* arow = cptr<float>(p.A) + (i64)d * p.lda;
    float* stateRow = mptr<float>(p.state) + (i64)b * p.ldstate + (i64)d * N;
#pragma unroll
    for (int n = 0; n < N; ++n) {
        if constexpr (A2S) sa2[n] = arow[n] * LOG2E_F;  // read back by this lane only
        else a2[n] = arow[n] * LOG2E_F;
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
        __syncwarp();                // ... and every lane's; every lane is done with tile k - 1 (its slot, sbc)
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
        float xdt = ldf(st + OFF_DT + lane), xu = ldf(st + lane), xz = hasZ ? ldf(st + OFF_Z + lane) : 0.f;
        auto step = [&](int r, int next) {
            const float ndt = ldf(st + OFF_DT + next * 32 + lane), nu = ldf(st + next * 32 + lane);
            const float nz = hasZ ? ldf(st + OFF_Z + next * 32 + lane) : 0.f;
            const float dl = softplus_act<FAST>(xdt + bias), du = dl * xu;
            const float* rb = pb + r * bcPitch;
            float y0 = 0.f, y1 = 0.f;
#pragma unroll
            for (int q = 0; q < N / 4; ++q) {
                const float4 bv = *reinterpret_cast<const float4*>(rb + 4 * q);
                const float4 cv = *reinterpret_cast<const float4*>(rb + cOff + 4 * q);
                const float bb[4] = {bv.x, bv.y, bv.z, bv.w}, cc[4] = {cv.x, cv.y, cv.z, cv.w};
                float aq[4];
                if constexpr (A2S) {
                    const float4 av = *reinterpret_cast<const float4*>(sa2 + 4 * q);
                    aq[0] = av.x; aq[1] = av.y; aq[2] = av.z; aq[3] = av.w;
                } else {
#pragma unroll
                    for (int j = 0; j < 4; ++j) aq[j] = a2[4 * q + j];
                }
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    const int n = 4 * q + j;
                    const float a = ex2_approx(dl * aq[j]);
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
#pragma unroll UNR
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

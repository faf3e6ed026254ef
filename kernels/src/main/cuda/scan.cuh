#pragma once
// Selective scan (Mamba-1 S6) from a carried state, ragged lanes, dt bias + softplus, D skip, silu(z) gate.
//
// Work split: a block owns (lane b, DT channels, one time segment) and ALL N states of those channels.
// Thread (dl, g) holds NPT states n = g*NPT .. g*NPT+NPT-1 of channel d0+dl in registers and runs the time
// recurrence h = exp(δ·A)·h + δ·u·B sequentially: the FMA chain is one FFMA per step, exp(δ·A) does not
// depend on h so the unrolled loop runs it ahead. On the H200 the limit is instruction issue with few
// resident warps (~5 instructions per state update plus the E/Y phases; MUFU ~40 % busy): see NOTES.md,
// "Runs 3-6", for the profile and the variants that were measured slower (NPT 1, 2, 8; 16 channels).
// Time is processed in tiles of TT=32 steps, double-buffered through shared memory with cp.async so that
// every global access is coalesced along channels (layout [B*T, D] row-major):
//   E: softplus(dt + bias) and δ·u once per (t, d) for the block;     (all threads, 2 channels each)
//   R: recurrence, partial y over the thread's NPT states -> smem;     (thread per (d, g))
//   Y: y = Σ_g partial + D·u, times silu(z), store coalesced.          (all threads, 2 channels each)
// Long lanes are split into nseg time segments for parallelism (batch 1 x 262144 steps). The main pass
// runs every segment at once, segment 0 from the carried state and the others from zero, writing their y
// and each segment's end state and Σδ; the fix-up pass (FIX=true, segments 1..nseg-1) then adds what the
// true starting state contributes, H_1 = end_0, H_s' = exp(A·Σδ_s'-1)·H_s'-1 + end_s'-1 (the decay over a
// segment is exp(A_n·Σδ)): y += Σ_n C·exp(A_n·cumδ)·H_n, run only until that factor is below 2^-30 of
// H. The lane's final state is end_last + exp(A·Σδ_last)·H_last. (Until run 12 a first pass computed
// the end states and the main pass recomputed every segment from its true start: ~1.9 passes in all.)
// bf16 activations take a warp-specialised main pass instead (scan_ws_kernel, below): the same thread
// layout for R, with E, Y and the tile loads on separate helper warps.
#include "common.cuh"
#include "mma_ops.cuh"
#include "pairs.cuh"

namespace scan {

constexpr int TT = 32;  // time steps per tile

// Field order must match CudaScan.java.
struct P {
    i64 u, dt, dtBias, A, B, C, Dskip, z, state, lens, y;   // 0..10 element addresses of each operand
    i64 ldu, lddt, lda, ldb, ldc, ldz, ldstate, ldlens, ldy;  // 11..19 row strides in elements
    i64 T, D, Nreal;                                         // 20..22 steps per lane, channels, states
    i64 nseg, segLen;                                        // 23..24 segments, steps per segment
    i64 wsH, wsS;                                            // 25..26 f32 workspace [B][nseg][D][Nreal], [B][nseg][D]
    i64 vecX, vecBC;                                         // 27..28 16-byte cp.async legal (u/dt/z, B/C)
    i64 roundY;                                              // 29 f32 y rounded to tf32 (it only feeds TF32 GEMMs)
    i64 dtW, lddtw, R;                                       // 30..32 FDT kernels: dt_proj weight [D][R] bf16,
                                                             //   its row stride, rank; dt is then dtIn [.][R]
};

constexpr int RMAX = 64;     // largest dt rank of the FDT kernels (130m: 48, 370m: 64)
static_assert(RMAX % 16 == 0, "the mma walks k16 slices");
constexpr int RPITCH = 72;   // FDT smem row pitch of dtIn and W_dt (bf16): 36 words, so the 8 rows of an mma
                             // fragment load fall in distinct banks (a pitch of 64 made them 8-way conflicts)
constexpr int DPITCH = 40;   // FDT raw-dt scratch pitch (f32): conflict-free 8-byte fragment stores

// Dynamic shared memory in bytes; CudaScan.java computes the same number (the kernel checks it).
// DT: channels per block (32, 16 or 8); the block has DT * N / NPT threads. FDT: the stage holds dtIn
// [TT][RPITCH] instead of dt [TT][DT], plus the block's dt_proj rows [DT][RPITCH].
template <typename T, int N, int NPT, int DT, bool FDT = false>
__host__ __device__ constexpr int smem_bytes() {
    return 2 * (3 * TT * DT + 2 * TT * N + (FDT ? TT * (RPITCH - DT) : 0)) * (int)sizeof(T) +
           (2 * TT * DT + 2 * TT * N + TT * DT * (N / NPT)) * 4 + (FDT ? DT * RPITCH * 2 : 0);
}


// Copies rows [0, rows) x cols [0, cols) of a global tile (row stride ld) into smem [ROWS][W] (W = pitch),
// thread tid of THREADS copying. vec: 16-byte cp.async with zero-fill of the tail chunk; else plain
// element loads (unaligned views).
template <typename T, int W, int THREADS, int ROWS = TT>
DEV void load_tile(T* dst, const T* src, i64 ld, int rows, int cols, bool vec, int tid) {
    constexpr int E = 16 / sizeof(T);
    constexpr int CPR = W / E;  // chunks per row
    constexpr int CHUNKS = ROWS * CPR;
    if (vec && rows == ROWS && cols >= W) {
        // full tile: no bounds or zero-fill logic per chunk
#pragma unroll
        for (int q = 0; q < (CHUNKS + THREADS - 1) / THREADS; ++q) {
            const int ci = tid + q * THREADS;
            if (CHUNKS % THREADS == 0 || ci < CHUNKS) {
                const int r = ci / CPR, cc = ci % CPR;
                cp_async16(dst + r * W + cc * E, src + (i64)r * ld + cc * E, 16);
            }
        }
    } else if (vec) {
#pragma unroll
        for (int q = 0; q < (CHUNKS + THREADS - 1) / THREADS; ++q) {
            const int ci = tid + q * THREADS;
            const int r = ci / CPR, cc = ci % CPR;
            if ((CHUNKS % THREADS == 0 || ci < CHUNKS) && r < rows) {
                const int left = cols - cc * E;
                const int bytes = left <= 0 ? 0 : (left >= E ? 16 : left * (int)sizeof(T));
                const T* g = src + (i64)r * ld + (bytes ? cc * E : 0);
                cp_async16(dst + r * W + cc * E, g, bytes);
            }
        }
    } else {
        for (int i = tid; i < ROWS * W; i += THREADS) {
            const int r = i / W, c = i % W;
            if (r < rows) dst[i] = c < cols ? src[(i64)r * ld + c] : from_f32<T>(0.f);
        }
    }
}

// One operand's full-tile copies (TT rows x W columns, 16-byte copies legal) issued by this thread: its
// chunks are (tid - OFF) mod THREADS + q * THREADS, q < Q, of the tile's TT * W / E chunks, at fixed
// element offsets from the tile's first row. A full tile then costs a cp.async and an address add per
// chunk; load_tile's index and bounds arithmetic had cost ~170 instructions per warp and tile for the five
// operands, 16 % of the bf16 scan's stall samples (H200 run 19, Nsight source counters). Two 32-bit
// registers per operand: with 64-bit pointers and strides kept per operand the scan hit its 128-register
// cap and its recurrence slowed down (bf16 0.421 -> 0.439 ms, run 20). OFF puts B and C on different threads.
template <typename T, int W, int THREADS, int OFF = 0, int ROWS = TT>
struct TileStream {
    static constexpr int E = 16 / (int)sizeof(T), CPR = W / E, CHUNKS = ROWS * CPR;
    static constexpr int Q = (CHUNKS + THREADS - 1) / THREADS;  // chunks per thread at most
    static_assert(W % E == 0 && THREADS % CPR == 0, "a thread's chunks share one column");
    static_assert(Q == 1 || CHUNKS % THREADS == 0, "every thread with a chunk has Q of them");
    int off = 0;  // chunk q = 0: element offset from the tile's first row (r * ld + column)
    int dst = -1; // its stage element offset; -1: this thread has no chunk

    DEV void init(i64 ld, int tid) {
        const int c = (tid - OFF % THREADS + THREADS) % THREADS;
        if (c < CHUNKS) {
            off = (int)((c / CPR) * ld) + (c % CPR) * E;
            dst = (c / CPR) * W + (c % CPR) * E;
        }
    }
    // tile: the global address of the tile's first row, column 0 of the block
    DEV void copy(T* slot, const T* tile, i64 ld) const {
#pragma unroll
        for (int q = 0; q < Q; ++q)
            if (dst >= 0) cp_async16(slot + dst + q * (THREADS / CPR) * W, tile + off + q * (THREADS / CPR) * ld, 16);
    }
};

// The steps of block (lane b, segment s): the lane's valid length clamped to [0, T], cut to the segment;
// rowBase is the segment's first row in the [B*T, .] operands.
struct Span { int nsteps; i64 rowBase; };
DEV Span seg_span(const P& p, int b, int s) {
    const int Tn = (int)p.T;
    int len = cptr<int>(p.lens)[(i64)b * p.ldlens];
    len = len < 0 ? 0 : (len > Tn ? Tn : len);
    const int segStart = s * (int)p.segLen;
    const int segEnd = imin(segStart + (int)p.segLen, len);
    return {segEnd > segStart ? segEnd - segStart : 0, (i64)b * Tn + segStart};
}

// The recurrence over one tile's steps for thread (channel, state group): (δ, δ·u) of step r at pdd[r * DT],
// its B and C at pb / pc[r * N] (the thread's NPT states), its partial y stored at py[r * PSTRIDE]. The
// operands of step r+1 are read before step r's partial y is stored: the compiler cannot move loads above a
// shared-memory store it cannot disambiguate, and without this each step would wait for its own loads
// (latency, not MUFU). A full tile (rows == ROWS) runs every step unrolled, every shared-memory offset an
// immediate (the index arithmetic and loop control of the general loop were a third of the instructions).
template <int N, int NPT, int DT, int ROWS, int PSTRIDE, bool FIX, bool EXACT>
DEV void recur_tile(float (&h)[NPT], const float (&a2)[NPT], const float2* pdd, const float* pb, const float* pc,
                    float* py, int rows) {
    float dlt, du, bb[NPT], cc[NPT];
    auto fetch = [&](int r, float& dl_, float& du_, float (&b_)[NPT], float (&c_)[NPT]) {
        const float2 dd = pdd[r * DT];
        dl_ = dd.x;
        du_ = dd.y;
        if constexpr (NPT == 8) {
#pragma unroll
            for (int q = 0; q < 2; ++q) {
                float4 v = *reinterpret_cast<const float4*>(pb + r * N + 4 * q);
                b_[4 * q] = v.x; b_[4 * q + 1] = v.y; b_[4 * q + 2] = v.z; b_[4 * q + 3] = v.w;
                float4 w = *reinterpret_cast<const float4*>(pc + r * N + 4 * q);
                c_[4 * q] = w.x; c_[4 * q + 1] = w.y; c_[4 * q + 2] = w.z; c_[4 * q + 3] = w.w;
            }
        } else if constexpr (NPT == 4) {
            float4 v = *reinterpret_cast<const float4*>(pb + r * N);
            b_[0] = v.x; b_[1] = v.y; b_[2] = v.z; b_[3] = v.w;
            float4 w = *reinterpret_cast<const float4*>(pc + r * N);
            c_[0] = w.x; c_[1] = w.y; c_[2] = w.z; c_[3] = w.w;
        } else if constexpr (NPT == 2) {
            float2 v = *reinterpret_cast<const float2*>(pb + r * N);
            b_[0] = v.x; b_[1] = v.y;
            float2 w = *reinterpret_cast<const float2*>(pc + r * N);
            c_[0] = w.x; c_[1] = w.y;
        } else {
            b_[0] = pb[r * N];
            c_[0] = pc[r * N];
        }
    };
    // one step: operands of step r are in (dlt, du, bb, cc); those of step NEXT are fetched first
    auto step = [&](int r, int next) {
        float dltN, duN, bbN[NPT], ccN[NPT];
        fetch(next, dltN, duN, bbN, ccN);
        float yv = 0.f;
#pragma unroll
        for (int j = 0; j < NPT; ++j) {
            const float a = EXACT ? exp2_fma(dlt * a2[j]) : ex2_approx(dlt * a2[j]);
            h[j] = FIX ? a * h[j] : fmaf(a, h[j], du * bb[j]);
            yv = fmaf(h[j], cc[j], yv);
        }
        py[r * PSTRIDE] = yv;
        dlt = dltN; du = duN;
#pragma unroll
        for (int j = 0; j < NPT; ++j) { bb[j] = bbN[j]; cc[j] = ccN[j]; }
    };
    fetch(0, dlt, du, bb, cc);
    if (rows == ROWS) {
#pragma unroll
        for (int r = 0; r < ROWS; ++r) step(r, r + 1 < ROWS ? r + 1 : r);
    } else {
        // last tile of a lane; step rows (one past its last) is read inside shared memory, unused
#pragma unroll 4
        for (int r = 0; r < rows; ++r) step(r, r + 1 < ROWS ? r + 1 : r);
    }
}

// ------------------------------------------------------------------ elementwise pieces of both main passes
// The E and Y phases work on channel pairs (i = 2 * (thread + q * THREADS) = row * DT + channel); these are
// their math and stores, shared by scan_kernel and scan_ws_kernel.
template <bool FAST> DEV float softplus_act(float x) { return FAST ? softplus_fast(x) : softplus_f32(x); }
template <bool FAST> DEV float silu_act(float v) { return FAST ? silu_fast(v) : silu_f32(v); }

// (δ, δ·u) of a channel pair from its raw dt, dt bias and u, as the recurrence reads them (one LDS.64 a step)
template <bool FAST> DEV float4 delta_pair(float2 x, float2 uu, float bias0, float bias1) {
    const float d0 = softplus_act<FAST>(x.x + bias0), d1 = softplus_act<FAST>(x.y + bias1);
    return make_float4(d0, d0 * uu.x, d1, d1 * uu.y);
}

// B and C of a tile (ROWS x N, activation type) to f32 in channel pairs: all loads, then all stores (the
// compiler does not move a load above a store it cannot tell apart). WITH_B false: C only (the fix-up).
template <typename T, int ROWS, int N, int THREADS>
struct BcPairs {
    static constexpr int Q = (ROWS * N / 2 + THREADS - 1) / THREADS;
    float2 b[Q], c[Q];
    DEV static bool has(int i) { return (ROWS * N / 2) % THREADS == 0 || i < ROWS * N; }
    template <bool WITH_B> DEV void load(const T* sb, const T* sc, int tid) {
#pragma unroll
        for (int q = 0; q < Q; ++q) {
            const int i = 2 * (tid + q * THREADS);
            if (has(i)) {
                if (WITH_B) b[q] = ld2f(sb + i);
                c[q] = ld2f(sc + i);
            }
        }
    }
    template <bool WITH_B> DEV void store(float* db, float* dc, int tid) const {
#pragma unroll
        for (int q = 0; q < Q; ++q) {
            const int i = 2 * (tid + q * THREADS);
            if (has(i)) {
                if (WITH_B) st2f(db + i, b[q].x, b[q].y);
                st2f(dc + i, c[q].x, c[q].y);
            }
        }
    }
};

// Σ of the G partial y of a channel pair at one step (the partials of state group j lie j * DT apart)
template <int G, int DT> DEV float2 sum_partials(const float* ps) {
    float2 acc = ld2f(ps);
#pragma unroll
    for (int j = 1; j < G; ++j) {
        const float2 v = ld2f(ps + j * DT);
        acc.x += v.x;
        acc.y += v.y;
    }
    return acc;
}

// y of a channel pair: partial sums + D·u (not in the fix-up, which adds the carried state's share
// only), times silu(z) when there is a gate
template <bool FAST, bool FIX>
DEV float2 gate_pair(float2 acc, float2 uu, float2 zz, float dskip0, float dskip1, bool hasZ) {
    float2 y = FIX ? acc : make_float2(fmaf(dskip0, uu.x, acc.x), fmaf(dskip1, uu.y, acc.y));
    if (hasZ) {
        y.x *= silu_act<FAST>(zz.x);
        y.y *= silu_act<FAST>(zz.y);
    }
    return y;
}

// Stores a channel pair's y at o: whole when `pair` (both channels, 2-element aligned), else element-wise
// (an unaligned y view, or an odd channel count's last channel: `second` false). The fix-up adds what is
// there (the segment's y from zero); fp32 outputs that only feed TF32 GEMMs are rounded to tf32.
template <bool FIX, typename T> DEV void store_y_pair(T* o, float2 y, bool pair, bool second, bool roundY) {
    auto finish = [&](float v, float old) {
        if (FIX) v += old;
        return sizeof(T) == 4 && roundY ? round_tf32(v) : v;
    };
    if (pair) {
        const float2 old = FIX ? ld2f(o) : make_float2(0.f, 0.f);
        st2f(o, finish(y.x, old.x), finish(y.y, old.y));
    } else {
        o[0] = from_f32<T>(finish(y.x, FIX ? ldf(o) : 0.f));
        if (second) o[1] = from_f32<T>(finish(y.y, FIX ? ldf(o + 1) : 0.f));
    }
}

// The thread's NPT states into a state row (padded states, n >= Nr, are not stored)
template <int NPT> DEV void store_states(float* row, const float (&h)[NPT], int n0, int Nr) {
#pragma unroll
    for (int j = 0; j < NPT; ++j)
        if (n0 + j < Nr) row[n0 + j] = h[j];
}

// A segment's Σδ of channel dl from the elementwise threads' row sums: EW threads wrote their channel
// pair's sums at s[2 * t + e] = s[(t / (DT / 2)) * DT + ec + e], so channel dl's lie at q * DT + dl
template <int EW, int DT> DEV float segment_delta(const float* s, int dl) {
    float sd = 0.f;
    for (int q = 0; q < 2 * EW / DT; ++q) sd += s[q * DT + dl];
    return sd;
}

template <typename T, int N, int NPT, int DT, bool FIX, bool EXACT, bool FDT = false>
DEV void scan_kernel(const P& p) {
    constexpr int G = N / NPT;
    constexpr int THREADS = DT * G;
    constexpr bool FAST = sizeof(T) == 2;  // bf16 activations: fast softplus/silu
    extern __shared__ __align__(16) unsigned char smem[];
    {
        unsigned dyn;
        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));
        if (dyn < (unsigned)smem_bytes<T, N, NPT, DT, FDT>()) __trap();
    }
    // carve shared memory
    static_assert(!FDT || sizeof(T) == 2, "the fused dt projection is bf16 (mma.sync m16n8k16)");
    constexpr int DTW = FDT ? RPITCH : DT;  // width of the dt (or dtIn) tile
    constexpr int OFF_DT = TT * DT, OFF_Z = OFF_DT + TT * DTW, OFF_B = OFF_Z + TT * DT, OFF_C = OFF_B + TT * N;
    constexpr int STAGE = OFF_C + TT * N;  // elements per stage
    T* const stage0 = reinterpret_cast<T*>(smem);
    // (δ, δ·u) of step r, channel c at s_ddu[2 * (r * DT + c)]: the recurrence reads both with one LDS.64
    float* s_ddu = reinterpret_cast<float*>(stage0 + 2 * STAGE);
    float* s_b = s_ddu + 2 * TT * DT;
    float* s_c = s_b + TT * N;
    float* s_y = s_c + TT * N;
    bf16* s_w = reinterpret_cast<bf16*>(s_y + TT * THREADS);  // FDT: dt_proj rows of the block [DT][RPITCH]
    float* s_dt = s_y;  // FDT: raw dt [TT][DPITCH] between the mma and the E loop (s_y is free then)
    static_assert(!FDT || TT * DPITCH <= TT * THREADS, "raw dt scratch fits in s_y");
    // stage layout: u [TT][DT], dt [TT][DT] (FDT: dtIn [TT][RPITCH]), z [TT][DT], B [TT][N], C [TT][N]

    const int D = (int)p.D, Nr = (int)p.Nreal;
    const int d0 = blockIdx.x * DT;
    const int s = FIX ? blockIdx.y + 1 : blockIdx.y;  // the fix-up pass has no segment 0
    const int b = blockIdx.z;
    const int nseg = (int)p.nseg;
    const int cols = imin(DT, D - d0);

    const Span span = seg_span(p, b, s);
    const int nsteps = span.nsteps;
    const int ntiles = (nsteps + TT - 1) / TT;
    const i64 rowBase = span.rowBase;

    const T* gu = cptr<T>(p.u) + rowBase * p.ldu + d0;
    const T* gdt = cptr<T>(p.dt) + rowBase * p.lddt + (FDT ? 0 : d0);  // FDT: dtIn holds all channels' input
    const T* gz = p.z ? cptr<T>(p.z) + rowBase * p.ldz + d0 : nullptr;
    const T* gB = cptr<T>(p.B) + rowBase * p.ldb;
    const T* gC = cptr<T>(p.C) + rowBase * p.ldc;
    const bool vecX = p.vecX != 0, vecBC = p.vecBC != 0;
    // full tiles of u / dt / z (all DT channels) and B / C (no padded states) take the precomputed copies
    // (offsets within a tile are 32-bit: row strides below 2^25 elements)
    const bool fullX = vecX && cols == DT && p.ldu < (1 << 25) && p.lddt < (1 << 25) && p.ldz < (1 << 25);
    const bool fullBC = vecBC && Nr == N && p.ldb < (1 << 25) && p.ldc < (1 << 25);
    TileStream<T, DT, THREADS> su, sdt, sz;
    TileStream<T, N, THREADS> sb;
    TileStream<T, N, THREADS, TileStream<T, N, THREADS>::CHUNKS> sc;
    {
        const int tid = threadIdx.x;
        if (!FIX) {
            su.init(p.ldu, tid);
            sb.init(p.ldb, tid);
        }
        if (!FDT) sdt.init(p.lddt, tid);
        if (gz) sz.init(p.ldz, tid);
        sc.init(p.ldc, tid);
    }

    auto issue = [&](int k) {
        T* st = stage0 + (k & 1) * STAGE;
        const int t0 = k * TT;
        const int rows = imin(TT, nsteps - t0);
        const bool full = rows == TT;
        if (!FIX) {  // the fix-up needs neither u nor B: it carries a state through steps without input
            const T* tu = gu + (i64)t0 * p.ldu;
            const T* tb = gB + (i64)t0 * p.ldb;
            if (full && fullX) su.copy(st, tu, p.ldu);
            else load_tile<T, DT, THREADS>(st, tu, p.ldu, rows, cols, vecX, threadIdx.x);
            if (full && fullBC) sb.copy(st + OFF_B, tb, p.ldb);
            else load_tile<T, N, THREADS>(st + OFF_B, tb, p.ldb, rows, Nr, vecBC, threadIdx.x);
        }
        const T* tdt = gdt + (i64)t0 * p.lddt;
        if (FDT) load_tile<T, RPITCH, THREADS>(st + OFF_DT, tdt, p.lddt, rows, (int)p.R, vecX, threadIdx.x);
        else if (full && fullX) sdt.copy(st + OFF_DT, tdt, p.lddt);
        else load_tile<T, DT, THREADS>(st + OFF_DT, tdt, p.lddt, rows, cols, vecX, threadIdx.x);
        if (gz) {
            const T* tz = gz + (i64)t0 * p.ldz;
            if (full && fullX) sz.copy(st + OFF_Z, tz, p.ldz);
            else load_tile<T, DT, THREADS>(st + OFF_Z, tz, p.ldz, rows, cols, vecX, threadIdx.x);
        }
        const T* tc = gC + (i64)t0 * p.ldc;
        if (full && fullBC) sc.copy(st + OFF_C, tc, p.ldc);
        else load_tile<T, N, THREADS>(st + OFF_C, tc, p.ldc, rows, Nr, vecBC, threadIdx.x);
        cp_async_commit();
    };
    if (ntiles > 0) issue(0);
    if constexpr (FDT) {
        // the block's dt_proj rows, zero-padded to RPITCH columns and DT rows (the mma reads whole k16 slices)
        const bf16* gw = cptr<bf16>(p.dtW) + (i64)d0 * p.lddtw;
        const int R = (int)p.R;
        if (R < 1 || R > RMAX) __trap();  // CudaScan.fusable checks the rank; the tiles hold RMAX columns
        for (int i = threadIdx.x; i < DT * RPITCH; i += THREADS) {
            const int rr = i / RPITCH, cc = i % RPITCH;
            s_w[i] = rr < cols && cc < R ? gw[(i64)rr * p.lddtw + cc] : from_f32<bf16>(0.f);
        }
    }

    // per-thread constants. Elementwise phases: the thread takes channels ec, ec + 1 of rows
    // tid / HP, + THREADS / HP, ... (element index i = 2 * (tid + q * THREADS) = r * DT + ec)
    const int tid = threadIdx.x;
    constexpr int HP = DT / 2;  // channel pairs per row
    static_assert((TT * HP) % THREADS == 0 && THREADS % HP == 0, "the elementwise phases run whole rounds of pairs");
    const int ec = 2 * (tid % HP);
    const bool ecValid = ec < cols, ec1Valid = ec + 1 < cols;
    const float biasE0 = ecValid ? cptr<float>(p.dtBias)[d0 + ec] : 0.f;
    const float biasE1 = ec1Valid ? cptr<float>(p.dtBias)[d0 + ec + 1] : 0.f;
    const float dskipE0 = (!FIX && ecValid) ? cptr<float>(p.Dskip)[d0 + ec] : 0.f;
    const float dskipE1 = (!FIX && ec1Valid) ? cptr<float>(p.Dskip)[d0 + ec + 1] : 0.f;
    // paired y stores need a 2-element-aligned base and row stride (d0 and ec are even)
    const bool yPairs = ((p.y | p.ldy * (i64)sizeof(T)) & (2 * (i64)sizeof(T) - 1)) == 0;

    // Group-major: a warp holds one state group of 32 channels, so its B/C reads are warp-uniform
    // broadcasts (one shared-memory wavefront) and its δ, δ·u reads and partial-y stores are 32
    // consecutive words. Channel-major (the G threads of a channel adjacent) cost 4x the wavefronts for
    // B/C: bf16 0.577 -> 0.514 ms at (8, 1536, 4096, 16) on the H200 (run 9).
    const int dl = tid % DT, g = tid / DT, n0 = g * NPT;
    const int d = d0 + dl;
    const bool rValid = dl < cols;
    float a2[NPT], h[NPT];
#pragma unroll
    for (int j = 0; j < NPT; ++j) {
        float a = (rValid && n0 + j < Nr) ? cptr<float>(p.A)[(i64)d * p.lda + n0 + j] : 0.f;
        a2[j] = a * LOG2E_F;
        h[j] = 0.f;
    }
    float* stateRow = mptr<float>(p.state) + (i64)b * p.ldstate + (i64)d * Nr;
    float* wsH = mptr<float>(p.wsH);
    float* wsS = mptr<float>(p.wsS);
    auto wsh = [&](int seg) { return wsH + (((i64)b * nseg + seg) * D + d) * Nr; };
    // Main pass: segment 0 starts from the carried state, every other segment from zero (all in parallel).
    // Fix-up pass (segment s >= 1): the state the segment really starts from, H_s = decay(s-1)·H_{s-1} +
    // end(s-1) with H_1 = end(0), is carried through the segment's steps without input (h = exp(δA)·h) and
    // its share Σ_n C·h is added to y; it stops once every state of the block fell below 2^-30 of where
    // it started (for Mamba's δ ranges a few hundred to a few thousand steps, at worst the whole segment).
    // 2^-30 (~1e-9) leaves the dropped tail two orders below f32 rounding of y; 2^-40 cost ~25 % more
    // fix-up steps (H200 run 12: long lane f32 5.18 ms with 2^-40, 5.02 with 2^-30).
    float thr[NPT];
    if (rValid) {
        if (!FIX) {
            if (s == 0) {
#pragma unroll
                for (int j = 0; j < NPT; ++j) h[j] = n0 + j < Nr ? stateRow[n0 + j] : 0.f;
            }
        } else {
            auto decay = [&](int j, int seg) {
                const float sd = wsS[((i64)b * nseg + seg) * D + d];
                return EXACT ? exp2_fma(a2[j] * sd) : ex2_approx(a2[j] * sd);
            };
            const float* h0 = wsh(0);
#pragma unroll
            for (int j = 0; j < NPT; ++j) h[j] = n0 + j < Nr ? h0[n0 + j] : 0.f;
            for (int q = 1; q < s; ++q) {
                const float* hq = wsh(q);
#pragma unroll
                for (int j = 0; j < NPT; ++j) h[j] = fmaf(decay(j, q), h[j], n0 + j < Nr ? hq[n0 + j] : 0.f);
            }
            if (s == nseg - 1) {  // the lane's final state, in closed form
                const float* hs = wsh(s);
#pragma unroll
                for (int j = 0; j < NPT; ++j)
                    if (n0 + j < Nr) stateRow[n0 + j] = fmaf(decay(j, s), h[j], hs[n0 + j]);
            }
        }
    }
#pragma unroll
    for (int j = 0; j < NPT; ++j) thr[j] = fabsf(h[j]) * 0x1p-30f;
    float sumDelta0 = 0.f, sumDelta1 = 0.f;  // Σδ of channels ec, ec + 1 over this thread's rows

    for (int k = 0; k < ntiles; ++k) {
        cp_async_wait<0>();
        __syncthreads();  // tile k landed; every thread is done with tile k-1
        if (k + 1 < ntiles) issue(k + 1);
        const T* st = stage0 + (k & 1) * STAGE;
        const int rows = imin(TT, nsteps - k * TT);

        // E: δ and δ·u once per (t, d); B and C to f32
        if constexpr (FDT) {
            // raw dt = dtIn · W_dtᵀ for the tile's TT x DT block on the tensor cores (m16n8k16, f32 sums): 8
            // m16n8 tiles, warp w takes tiles w, w + warps, ...; fragment layouts as in the PTX ISA. The sums go
            // to a scratch and the E loop below reads them in its own (bank-friendly) order: writing δ from
            // the fragment layout directly conflicted 8-way and made the scan 1.8x slower (H200 run 13).
            static_assert(TT == 32 && DT == 32, "the fused dt projection tiles 32 steps x 32 channels");
            constexpr int WARPS = THREADS / 32;
            const int lane = tid & 31, wq = tid >> 5, gq = lane >> 2, tq = lane & 3;
            const int kEnd = ((int)p.R + 15) & ~15;
            const bf16* X = reinterpret_cast<const bf16*>(st + OFF_DT);
            auto ld2 = [](const bf16* q) { return *reinterpret_cast<const uint32_t*>(q); };
            for (int tile = wq; tile < 8; tile += WARPS) {
                const int mb = (tile & 1) * 16, nb = (tile >> 1) * 8;
                float c4[4] = {0.f, 0.f, 0.f, 0.f};
                for (int k0 = 0; k0 < kEnd; k0 += 16) {
                    const bf16* xr = X + (mb + gq) * RPITCH + k0 + 2 * tq;
                    const uint32_t a[4] = {ld2(xr), ld2(xr + 8 * RPITCH), ld2(xr + 8), ld2(xr + 8 * RPITCH + 8)};
                    const bf16* wr = s_w + (nb + gq) * RPITCH + k0 + 2 * tq;
                    gemm::mma_bf16(c4, a, ld2(wr), ld2(wr + 8));
                }
                float* o = s_dt + (mb + gq) * DPITCH + nb + 2 * tq;
                *reinterpret_cast<float2*>(o) = make_float2(c4[0], c4[1]);
                *reinterpret_cast<float2*>(o + 8 * DPITCH) = make_float2(c4[2], c4[3]);
            }
            __syncthreads();
        }
        // The E, B/C and Y loops read all their operands before their first store: the compiler cannot move
        // a load above a store it cannot tell apart (shared or generic), and loop by loop each element
        // waited for its own loads (H200 run 19: ~40 % of the scan's stall samples were in E and Y).
        constexpr int QE = TT * HP / THREADS;  // pairs per thread and tile
        auto eLoad = [&](int q, float2& x, float2& uu) {
            const int i = 2 * (tid + q * THREADS);
            x = FDT ? ld2f(s_dt + (i / DT) * DPITCH + ec) : ld2f(st + OFF_DT + i);
            uu = FIX ? make_float2(0.f, 0.f) : ld2f(st + i);  // the fix-up carries a state without input
        };
        auto eStore = [&](int q, float2 x, float2 uu) {
            const float4 v = delta_pair<FAST>(x, uu, biasE0, biasE1);
            if (!FIX) {
                sumDelta0 += v.x;
                sumDelta1 += v.z;
            }
            *reinterpret_cast<float4*>(s_ddu + 4 * (tid + q * THREADS)) = v;
        };
        constexpr bool BATCH = QE <= 4;  // register arrays of more pairs (64-thread blocks) spilled
        if (BATCH && rows == TT) {
            float2 x[QE], uu[QE];
#pragma unroll
            for (int q = 0; q < QE; ++q) eLoad(q, x[q], uu[q]);
#pragma unroll
            for (int q = 0; q < QE; ++q) eStore(q, x[q], uu[q]);
        } else {
#pragma unroll
            for (int q = 0; q < QE; ++q) {
                if (2 * (tid + q * THREADS) / DT < rows) {
                    float2 x, uu;
                    eLoad(q, x, uu);
                    eStore(q, x, uu);
                }
            }
        }
        {
            BcPairs<T, TT, N, THREADS> bc;
            bc.template load<!FIX>(st + OFF_B, st + OFF_C, tid);
            bc.template store<!FIX>(s_b, s_c, tid);
        }
        __syncthreads();

        // R: the recurrence over this tile's steps
        if (rValid) {
            recur_tile<N, NPT, DT, TT, THREADS, FIX, EXACT>(h, a2, reinterpret_cast<const float2*>(s_ddu) + dl, s_b + n0,
                                                            s_c + n0, s_y + g * DT + dl, rows);
        }
        // fix-up: done once every state of the block is negligible (this tile's y still gets its share)
        bool settled = true;
#pragma unroll
        for (int j = 0; j < NPT; ++j) settled = settled && fabsf(h[j]) <= thr[j];
        const bool done = __syncthreads_and(!FIX || settled) && FIX;

        // Y: reduce the G partials, D skip, gate, store
        T* gy = mptr<T>(p.y) + (rowBase + (i64)k * TT) * p.ldy + d0;
        // this thread's rows are tid / HP + q * (THREADS / HP): its output pointer steps by a fixed stride
        T* const gyT = gy + (i64)(tid / HP) * p.ldy + ec;
        const i64 gyStep = (i64)(THREADS / HP) * p.ldy;
        auto yGate = [&](float2 acc, float2 uu, float2 zz) {
            return gate_pair<FAST, FIX>(acc, uu, zz, dskipE0, dskipE1, gz != nullptr);
        };
        auto yLoad = [&](int q, float2& acc, float2& uu, float2& zz) {
            const int i = 2 * (tid + q * THREADS);
            acc = sum_partials<G, DT>(s_y + (i / DT) * THREADS + ec);
            uu = FIX ? make_float2(0.f, 0.f) : ld2f(st + i);
            zz = gz ? ld2f(st + OFF_Z + i) : make_float2(0.f, 0.f);
        };
        if (BATCH && !FIX && rows == TT && ec1Valid && yPairs) {
            // full tile, main pass: every partial, u and z of the thread's QE pairs first, then the stores
            float2 acc[QE], uu[QE], zz[QE];
#pragma unroll
            for (int q = 0; q < QE; ++q) yLoad(q, acc[q], uu[q], zz[q]);
#pragma unroll
            for (int q = 0; q < QE; ++q) store_y_pair<false>(gyT + q * gyStep, yGate(acc[q], uu[q], zz[q]), true, true, p.roundY);
        } else {
#pragma unroll
            for (int q = 0; q < QE; ++q) {
                if (2 * (tid + q * THREADS) / DT < rows && ecValid) {
                    float2 acc, uu, zz;
                    yLoad(q, acc, uu, zz);
                    store_y_pair<FIX>(gyT + q * gyStep, yGate(acc, uu, zz), ec1Valid && yPairs, ec1Valid, p.roundY);
                }
            }
        }
        if (done) break;
    }
    cp_async_wait<0>();

    if (FIX) return;  // the fix-up wrote the lane's final state in its prologue
    if (nseg > 1) {
        // Σδ of the segment per channel: the E phase gave thread tid channels ec, ec + 1 of the rows
        // tid / HP, + THREADS / HP, ...; s_y[2 * tid + e] is then s_y[(tid / HP) * DT + ec + e]
        __syncthreads();  // the last tile's Y phase is done with s_y
        s_y[2 * tid] = sumDelta0;
        s_y[2 * tid + 1] = sumDelta1;
        __syncthreads();
        if (!rValid) return;
        store_states(wsh(s), h, n0, Nr);
        if (g == 0) wsS[((i64)b * nseg + s) * D + d] = segment_delta<THREADS, DT>(s_y, dl);
    } else if (rValid) {
        store_states(stateRow, h, n0, Nr);
    }
}

// ------------------------------------------------------------------ warp-specialised main pass
// The kernel above runs E, R and Y one after the other in the same warps, a barrier between each. R is
// MUFU-bound (4 ex2 per ~24 instructions: 32 MUFU cycles per warp and step against 24 issue slots), E, Y
// and the tile loads are issue-bound with few MUFU ops, and at (8, 1536, 4096, 16) only ~3 warps per
// scheduler hide the phases' latencies: H200 run 18 measured issue 64 % and MUFU 57 % busy. Here the
// recurrence warps (RT threads, thread = (channel, state group) as above) do nothing but R, tile after tile,
// while four helper warps load tiles and, per round k, run Y for tile k and E for tile k + 2. They meet at
// named barriers:
//   FULL[k & 1]: helpers arrive when (δ, δ·u), B and C of tile k are in buffer k & 1; R waits;
//   DONE[k & 1]: R arrives when tile k's partial y are in buffer k & 1 (and it is done reading it);
//                helpers wait before Y(k) and before E(k + 2) refills the buffer;
//   HELP:        helpers only: a raw tile landed for all of them (cp.async);
//   END:         split lanes: the helpers' Σδ row sums are in shared memory for R's end-of-segment write.
// Tiles are TW = 16 steps so that 3 blocks fit on an SM (shared memory: 4 raw slots, 2 f32 buffers).
// Measured (H200 runs 23-29, NOTES.md): bf16 (8, 1536, 4096, 16) 0.375 ms against 0.401 for the kernel
// above; equal at (64, 1536, 2048), where that kernel runs 4 blocks per SM; fp32 slower (0.50 vs 0.47 ms).
constexpr int TW = 16;        // steps per tile
constexpr int WS_HELP = 128;  // helper threads
constexpr int WS_SLOTS = 4;   // raw tiles of a round k: Y's (k), k + 1 (its Y next round), E's (k + 2), in flight (k + 3)

// Dynamic shared memory of the WS kernels; CudaScan.java computes the same number. FDT: a raw slot holds
// dtIn [TW][RMAX] instead of dt [TW][32], plus a raw-dt scratch [TW][DPITCH] f32.
template <typename T, int N, int NPT, bool FDT = false>
__host__ __device__ constexpr int ws_smem_bytes() {
    return WS_SLOTS * (3 * TW * 32 + 2 * TW * N + (FDT ? TW * (RMAX - 32) : 0)) * (int)sizeof(T) +
           2 * (2 * TW * 32 + 2 * TW * N + TW * 32 * (N / NPT)) * 4 + (FDT ? TW * DPITCH * 4 : 0);
}

template <int V> struct Par { static constexpr int value = V; };  // a tile parity as a type

// row * ld for a row index and a stride below 2^32: IMAD.WIDE.U32 instead of a 64 x 64-bit product
DEV i64 wmul(unsigned row, i64 ld) { return (i64)((unsigned long long)row * (unsigned)ld); }

// RREC / RHELP > 0 (sm_90a): the recurrence warpgroup hands registers to the helper warpgroup (setmaxnreg),
// so that the block fits a lower launch cap and more blocks fit an SM.
// FDT (bf16): dt = dtIn · W_dtᵀ inside the pass, dt is then dtIn [rows, R] (R <= RMAX) and p.dtW the
// dt_proj weight [D][R]: the helpers multiply each 16-step tile's dtIn by the block's 32 rows of W_dt on the
// tensor cores (helper warp w: channels 8w .. 8w + 7, its W_dt fragments in registers, one m16n8k16 per 16
// of R) into a scratch that E reads instead of dt. It saves the dt_proj GEMM and its [rows, D] round trip,
// but measured slower (H200 run 34, 64 x 2048: 1.714 ms per layer against 1.313 + 0.159 for this pass plus
// the GEMM): the helpers are the slower side here, and the mma chain and the barrier before E sit on their
// path. Opt-in (-Dmamba.cuda.fusedDtProj=true).
template <typename T, int N, int NPT, int HT = WS_HELP, int RREC = 0, int RHELP = 0, bool FDT = false>
DEV void scan_ws_kernel(const P& p) {
    constexpr int DT = 32, G = N / NPT, RT = DT * G, ALL = RT + HT;
    static_assert(RREC == 0 || (RT % 128 == 0 && HT % 128 == 0), "setmaxnreg works on whole warpgroups");
    static_assert(!FDT || (sizeof(T) == 2 && HT == 128 && TW == 16), "fused dt: bf16, 4 helper warps x 8 channels, m16 tiles");
    constexpr bool FAST = sizeof(T) == 2;
    // named barriers: FULL 1 + J, DONE 3 + J for tiles of parity J, HELP 5, END 6. Both loops run tiles in pairs,
    // the parity a template argument (Par<J>), so that barrier ids and buffer offsets are immediates: a
    // parity picked at run time cost a predicated pair of barriers and their warp syncs per use.
    extern __shared__ __align__(16) unsigned char smem[];
    {
        unsigned dyn;
        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));
        if (dyn < (unsigned)ws_smem_bytes<T, N, NPT, FDT>()) __trap();
    }
    // raw slot: u [TW][DT], dt [TW][DT] (FDT: dtIn [TW][RMAX], 16-byte chunk c of row r at chunk c ^ (r & 7),
    // so that ldmatrix's eight rows fall in distinct banks), z [TW][DT], B [TW][N], C [TW][N] (activation type)
    constexpr int DTW = FDT ? RMAX : DT;
    constexpr int OFF_DT = TW * DT, OFF_Z = OFF_DT + TW * DTW, OFF_B = OFF_Z + TW * DT, OFF_C = OFF_B + TW * N;
    constexpr int STAGE = OFF_C + TW * N;
    // f32 buffer j = tile & 1: (δ, δ·u) [TW][DT] float2, B [TW][N], C [TW][N], partial y [TW][RT]
    constexpr int F_B = 2 * TW * DT, F_C = F_B + TW * N, F_Y = F_C + TW * N, FB = F_Y + TW * RT;
    T* const raw = reinterpret_cast<T*>(smem);
    float* const fbuf = reinterpret_cast<float*>(raw + WS_SLOTS * STAGE);
    float* const sdt = fbuf + 2 * FB;  // FDT: raw dt of the tile E works on [TW][DPITCH]

    const int D = (int)p.D, Nr = (int)p.Nreal;
    const int d0 = blockIdx.x * DT, s = blockIdx.y, b = blockIdx.z, nseg = (int)p.nseg;
    const int cols = imin(DT, D - d0);
    const Span span = seg_span(p, b, s);
    const int nsteps = span.nsteps;
    const int ntiles = (nsteps + TW - 1) / TW;
    const i64 rowBase = span.rowBase;
    const int tid = threadIdx.x;

    // recurrence threads (tid < RT): group-major as in scan_kernel
    const int dl = tid % DT, g = tid / DT, n0 = g * NPT, d = d0 + dl;
    const bool rValid = tid < RT && dl < cols;
    float a2[NPT], h[NPT];
    float* stateRow = mptr<float>(p.state) + (i64)b * p.ldstate + (i64)d * Nr;
#pragma unroll
    for (int j = 0; j < NPT; ++j) {
        const bool on = rValid && n0 + j < Nr;
        a2[j] = on ? cptr<float>(p.A)[(i64)d * p.lda + n0 + j] * LOG2E_F : 0.f;
        h[j] = on && s == 0 ? stateRow[n0 + j] : 0.f;  // segment 0 from the carried state, the others from zero
    }
    // helper threads (ht = tid - RT): channels ec, ec + 1 of rows ht / HP, + HT / HP, ...
    constexpr int HP = DT / 2;
    static_assert((TW * HP) % HT == 0 && HT % HP == 0, "the elementwise phases run whole rounds of pairs");
    const int ht = tid - RT;

    if (tid < RT) {
        if constexpr (RREC > 0) regs_dec<RREC>();
        auto tile = [&](auto par, int k) {
            constexpr int J = decltype(par)::value;
            float* f = fbuf + J * FB;
            named_sync<1 + J>(ALL);
            if (rValid) {
                recur_tile<N, NPT, DT, TW, RT, false, false>(h, a2, reinterpret_cast<const float2*>(f) + dl, f + F_B + n0,
                                                             f + F_C + n0, f + F_Y + g * DT + dl, imin(TW, nsteps - k * TW));
            }
            named_arrive<3 + J>(ALL);
        };
        for (int k = 0; k < ntiles; k += 2) {
            tile(Par<0>(), k);
            if (k + 1 < ntiles) tile(Par<1>(), k + 1);
        }
        // the end state (each role finishes in its own branch: h stays out of the helpers' registers)
        if (nseg > 1) {
            if (rValid) store_states(mptr<float>(p.wsH) + (((i64)b * nseg + s) * D + d) * Nr, h, n0, Nr);
            named_sync<6>(ALL);  // the helpers' Σδ row sums are in buffer 0
            if (rValid && g == 0) mptr<float>(p.wsS)[((i64)b * nseg + s) * D + d] = segment_delta<HT, DT>(fbuf, dl);
        } else if (rValid) {
            store_states(stateRow, h, n0, Nr);
        }
    } else {
        if constexpr (RHELP > 0) regs_inc<RHELP>();
        const int ec = 2 * (ht % HP);
        const bool ecValid = ec < cols, ec1Valid = ec + 1 < cols;
        float sumDelta0 = 0.f, sumDelta1 = 0.f;  // Σδ of channels ec, ec + 1 over this helper's rows
        const float biasE0 = ecValid ? cptr<float>(p.dtBias)[d0 + ec] : 0.f;
        const float biasE1 = ec1Valid ? cptr<float>(p.dtBias)[d0 + ec + 1] : 0.f;
        const float dskipE0 = ecValid ? cptr<float>(p.Dskip)[d0 + ec] : 0.f;
        const float dskipE1 = ec1Valid ? cptr<float>(p.Dskip)[d0 + ec + 1] : 0.f;
        const bool yPairs = ((p.y | p.ldy * (i64)sizeof(T)) & (2 * (i64)sizeof(T) - 1)) == 0;
        const bool gz = p.z != 0;
        const bool vecX = p.vecX != 0, vecBC = p.vecBC != 0;
        // Full tiles (all DT channels and N states, 16-byte copies legal): the helper's QC chunks of the
        // tile's u, dt, z, B, C (chunk c = ht + q * HT in that order) come from a global pointer per chunk,
        // advanced by the operand's tile stride, into a fixed place of the slot. Per tile that is a
        // cp.async and a 64-bit add per chunk; recomputing the addresses from the parameters cost ~130
        // instructions per warp and tile (H200 run 24: the helpers' loads, as many as their Y phase).
        constexpr int E8 = 16 / (int)sizeof(T), CX = TW * DT / E8, CD = TW * DTW / E8, CB = TW * N / E8;
        constexpr int CALL = 2 * CX + CD + 2 * CB, QC = (CALL + HT - 1) / HT;  // chunks per tile, per helper
        const int Rk = FDT ? (int)p.R : 0;  // FDT: dt rank, the columns of dtIn
        const char* cg[QC];
        int cstep[QC];  // (a slot holds the five tiles back to back, each row-major: chunk c lands at c * E8)
#pragma unroll
        for (int q = 0; q < QC; ++q) {
            const int c = imin(ht + q * HT, CALL - 1);  // past the tile's chunks (n8, n32): no copy
            int o, cc, w;  // operand (0 u, 1 dt, 2 z, 3 B, 4 C), chunk within it, its width
            if (c < CX) { o = 0; cc = c; w = DT; }
            else if (c < CX + CD) { o = 1; cc = c - CX; w = DTW; }
            else if (c < 2 * CX + CD) { o = 2; cc = c - CX - CD; w = DT; }
            else { o = 3 + (c - 2 * CX - CD) / CB; cc = (c - 2 * CX - CD) % CB; w = N; }
            const int r = cc / (w / E8);
            // FDT dtIn: smem chunk cc % 8 of row r holds source chunk (cc % 8) ^ (r & 7)
            const int col = (FDT && o == 1 ? (cc % (w / E8)) ^ (r & 7) : cc % (w / E8)) * E8;
            // selects, not arrays (an indexed array went to local memory); no z: u again, never read
            auto pick = [o](i64 a0, i64 a1, i64 a2, i64 a3, i64 a4) {
                return o == 0 ? a0 : o == 1 ? a1 : o == 2 ? a2 : o == 3 ? a3 : a4;
            };
            const i64 ld = pick(p.ldu, p.lddt, gz ? p.ldz : p.ldu, p.ldb, p.ldc);
            cg[q] = reinterpret_cast<const char*>(cptr<T>(pick(p.u, p.dt, gz ? p.z : p.u, p.B, p.C)) + (rowBase + r) * ld +
                                                  (o == 0 || o == 2 || (o == 1 && !FDT) ? d0 : 0) + col);
            cstep[q] = TW * (int)ld * (int)sizeof(T);  // below 2^31 where used: the fast path needs strides below 2^25
            if (FDT && o == 1 && col >= Rk) {  // dtIn columns past R: no copy, the chunk stays zero
                cg[q] = nullptr;
                cstep[q] = 0;
            }
        }
        const bool fastLd = vecX && vecBC && cols == DT && Nr == N && p.ldu < (1 << 25) && p.lddt < (1 << 25) && p.ldz < (1 << 25) &&
                            p.ldb < (1 << 25) && p.ldc < (1 << 25) && (!FDT || Rk % E8 == 0);
        auto issue = [&](int k) {
            if (k < ntiles) {
                T* st = raw + (k % WS_SLOTS) * STAGE;
                const int t0 = k * TW, rows = imin(TW, nsteps - t0);
                if (fastLd && rows == TW) {
#pragma unroll
                    for (int q = 0; q < QC; ++q)
                        if ((CALL % HT == 0 || ht + q * HT < CALL) && (!FDT || cg[q] != nullptr))
                            cp_async16(st + (ht + q * HT) * E8, cg[q], 16);
                } else {
                    // edge tiles, unaligned views, padded states: element-wise bounds (rows and strides
                    // are Java ints: one wide multiply per operand)
                    const unsigned row = (unsigned)(rowBase + t0);
                    load_tile<T, DT, HT, TW>(st, cptr<T>(p.u) + wmul(row, p.ldu) + d0, p.ldu, rows, cols, vecX, ht);
                    if constexpr (FDT) {
                        // dtIn, swizzled as above, zero past R; element loads (one tile per lane at most)
                        const T* g = cptr<T>(p.dt) + wmul(row, p.lddt);
                        for (int i = ht; i < TW * (RMAX / 8); i += HT) {
                            const int r = i / (RMAX / 8), c0 = ((i % (RMAX / 8)) ^ (r & 7)) * 8;
                            if (r < rows) {
#pragma unroll
                                for (int e = 0; e < 8; ++e)
                                    st[OFF_DT + i * 8 + e] = c0 + e < Rk ? g[(i64)r * p.lddt + c0 + e] : from_f32<T>(0.f);
                            }
                        }
                    } else {
                        load_tile<T, DT, HT, TW>(st + OFF_DT, cptr<T>(p.dt) + wmul(row, p.lddt) + d0, p.lddt, rows, cols, vecX, ht);
                    }
                    if (gz) load_tile<T, DT, HT, TW>(st + OFF_Z, cptr<T>(p.z) + wmul(row, p.ldz) + d0, p.ldz, rows, cols, vecX, ht);
                    load_tile<T, N, HT, TW>(st + OFF_B, cptr<T>(p.B) + wmul(row, p.ldb), p.ldb, rows, Nr, vecBC, ht);
                    load_tile<T, N, HT, TW>(st + OFF_C, cptr<T>(p.C) + wmul(row, p.ldc), p.ldc, rows, Nr, vecBC, ht);
                }
#pragma unroll
                for (int q = 0; q < QC; ++q) cg[q] += cstep[q];
            }
            cp_async_commit();  // an empty group past the last tile keeps wait_group's count uniform
        };

        // E (tile k into buffer k & 1: δ = softplus(dt + bias), δ·u, B and C to f32) and Y (tile k's y = Σ_g
        // partial + D·u, times silu(z)), each split into its loads and its math + stores: a round runs Y(k)
        // and E(k + 2) loads first, so their latency chains overlap (H200 run 25: with E and Y one after the
        // other the helpers took longer per tile than the recurrence, which then waited 28 % of its time).
        constexpr int QE = TW * HP / HT;  // pairs per helper and tile
        struct ERegs { float2 x[QE], uu[QE]; BcPairs<T, TW, N, HT> bc; };
        struct YRegs { float2 acc[QE], uu[QE], zz[QE]; };
        auto slotOf = [&](int k) { return raw + (k % WS_SLOTS) * STAGE; };
        auto rowsOf = [&](int k) { return imin(TW, nsteps - k * TW); };
        const bool sums = nseg > 1;  // Σδ only feeds the fix-up of split lanes
        auto eLoad = [&](int k, ERegs& e) {  // any slot may be read: a stale one is never stored
            const T* st = slotOf(k);
#pragma unroll
            for (int q = 0; q < QE; ++q) {
                const int i = 2 * (ht + q * HT);
                e.x[q] = FDT ? ld2f(sdt + (i / DT) * DPITCH + ec) : ld2f(st + OFF_DT + i);
                e.uu[q] = ld2f(st + i);
            }
            e.bc.template load<true>(st + OFF_B, st + OFF_C, ht);
        };
        auto eStore = [&](auto par, int k, const ERegs& e) {
            float* f = fbuf + decltype(par)::value * FB;
            const int rows = rowsOf(k);
#pragma unroll
            for (int q = 0; q < QE; ++q) {
                const float4 v = delta_pair<FAST>(e.x[q], e.uu[q], biasE0, biasE1);
                if (sums && 2 * (ht + q * HT) / DT < rows) {  // rows past a lane's end hold stale data
                    sumDelta0 += v.x;
                    sumDelta1 += v.z;
                }
                *reinterpret_cast<float4*>(f + 4 * (ht + q * HT)) = v;
            }
            e.bc.template store<true>(f + F_B, f + F_C, ht);
        };
        auto yLoad = [&](auto par, int k, YRegs& y) {
            const T* st = slotOf(k);
            const float* sy = fbuf + decltype(par)::value * FB + F_Y;
#pragma unroll
            for (int q = 0; q < QE; ++q) {
                const int i = 2 * (ht + q * HT);
                y.acc[q] = sum_partials<G, DT>(sy + (i / DT) * RT + ec);
                y.uu[q] = ld2f(st + i);
                y.zz[q] = ld2f(st + OFF_Z + i);  // without z a stale slot, never used
            }
        };
        const bool yFast = cols == DT && yPairs;  // every pair whole, 2-element aligned
        T* gy = mptr<T>(p.y) + (rowBase + ht / HP) * p.ldy + d0 + ec;  // this helper's first y row of the next Y
        auto yStore = [&](int k, const YRegs& y) {
            const int rows = rowsOf(k);
            const bool full = yFast && rows == TW;
#pragma unroll
            for (int q = 0; q < QE; ++q) {
                const float2 v = gate_pair<FAST, false>(y.acc[q], y.uu[q], y.zz[q], dskipE0, dskipE1, gz);
                T* o = gy + q * (HT / HP) * p.ldy;
                if (full) store_y_pair<false>(o, v, true, true, p.roundY);
                else if (2 * (ht + q * HT) / DT < rows && ecValid) store_y_pair<false>(o, v, ec1Valid && yPairs, ec1Valid, p.roundY);
            }
            gy += (i64)TW * p.ldy;
        };

        // FDT: this warp's W_dt fragments (mma B operand, PTX layout: lane 4g + t holds k = 16s + 2t, + 1 and
        // + 8, + 9 of channel d0 + 8w + g), zero past R and D; the raw dt of a tile goes through sdt
        uint32_t wf[FDT ? RMAX / 16 : 1][2];
        const int hw = ht >> 5, lg = (ht & 31) >> 2, lt = ht & 3;
        if constexpr (FDT) {
            if (Rk < 1 || Rk > RMAX) __trap();  // CudaScan.fusable checks the rank
            const int ch = d0 + 8 * hw + lg;
            const unsigned short* wr = cptr<unsigned short>(p.dtW) + (i64)(ch < D ? ch : 0) * p.lddtw;
            auto w2 = [&](int k) {
                const uint32_t lo = ch < D && k < Rk ? wr[k] : 0u, hi = ch < D && k + 1 < Rk ? wr[k + 1] : 0u;
                return lo | (hi << 16);
            };
#pragma unroll
            for (int s2 = 0; s2 < RMAX / 16; ++s2) {
                wf[s2][0] = w2(16 * s2 + 2 * lt);
                wf[s2][1] = w2(16 * s2 + 8 + 2 * lt);
            }
            // dtIn chunks past R are never copied by the fast path: zero them in every slot, once
            for (int i = ht; i < WS_SLOTS * TW * (RMAX / 8); i += HT) {
                const int j = i % (TW * (RMAX / 8)), r = j / (RMAX / 8);
                if (((j % (RMAX / 8)) ^ (r & 7)) * 8 >= Rk)
                    *reinterpret_cast<uint4*>(raw + (i / (TW * (RMAX / 8))) * STAGE + OFF_DT + j * 8) = make_uint4(0u, 0u, 0u, 0u);
            }
        }
        // FDT: raw dt of tile k (16 steps x this warp's 8 channels) = dtIn · W_dtᵀ into sdt; the caller then
        // syncs the helpers before E reads it (E's pairs are not the fragment's)
        auto dtMma = [&](int k) {
            if constexpr (FDT) {
                const int lane = ht & 31, j = lane >> 3, rr = (lane & 7) + 8 * (j & 1);
                const uint32_t rowAddr = smem_u32(slotOf(k) + OFF_DT + rr * RMAX);
                float c4[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
                for (int s2 = 0; s2 < RMAX / 16; ++s2) {
                    if (16 * s2 < Rk) {
                        uint32_t a[4];
                        gemm::ldmatrix_x4(a, rowAddr + (uint32_t)(((2 * s2 + (j >> 1)) ^ (rr & 7)) << 4));
                        gemm::mma_bf16(c4, a, wf[s2][0], wf[s2][1]);
                    }
                }
                float* o = sdt + lg * DPITCH + 8 * hw + 2 * lt;
                *reinterpret_cast<float2*>(o) = make_float2(c4[0], c4[1]);
                *reinterpret_cast<float2*>(o + 8 * DPITCH) = make_float2(c4[2], c4[3]);
                named_sync<5>(HT);
            }
        };

        issue(0);
        issue(1);
        issue(2);
        if (ntiles > 0) {  // E(0), E(1)
            cp_async_wait<2>();
            named_sync<5>(HT);  // the raw tile landed for every helper
            dtMma(0);
            ERegs e;
            eLoad(0, e);
            eStore(Par<0>(), 0, e);
            named_arrive<1>(ALL);
        }
        if (ntiles > 1) {
            cp_async_wait<1>();
            named_sync<5>(HT);
            dtMma(1);
            ERegs e;
            eLoad(1, e);
            eStore(Par<1>(), 1, e);
            named_arrive<2>(ALL);
        }
        auto round = [&](auto par, int k) {
            constexpr int J = decltype(par)::value;
            named_sync<3 + J>(ALL);  // R finished tile k; every helper finished round k - 1 (Y(k - 1))
            issue(k + 3);            // into Y(k - 1)'s slot
            cp_async_wait<1>();
            named_sync<5>(HT);       // raw tile k + 2 landed for every helper
            if (k + 2 < ntiles) dtMma(k + 2);
            YRegs y;
            ERegs e;
            yLoad(par, k, y);
            eLoad(k + 2, e);         // buffer J again: R is done with its (δ, δ·u), B and C
            yStore(k, y);
            if (k + 2 < ntiles) {
                eStore(par, k + 2, e);
                named_arrive<1 + J>(ALL);
            }
        };
        for (int k = 0; k < ntiles; k += 2) {
            round(Par<0>(), k);
            if (k + 1 < ntiles) round(Par<1>(), k + 1);
        }
        cp_async_wait<0>();
        if (nseg > 1) {  // the segment's Σδ per channel, for the fix-up: R is past buffer 0's (δ, δ·u) for good
            fbuf[2 * ht] = sumDelta0;
            fbuf[2 * ht + 1] = sumDelta1;
            named_arrive<6>(ALL);
        }
    }
}

}  // namespace scan

// Memory-bound kernels: fill, copy/convert, add, embedding gather, RMSNorm, lane summary, token NLL.
// All take strided 2-D operands (row stride in elements) so column views work everywhere.
#include "common.cuh"
#include "pairs.cuh"

namespace ew {

// ------------------------------------------------------------------ 2-D elementwise (fill, copy, add)

// Field order must match CudaBackend.java (ew2d).
struct P2 {
    i64 src, dst;      // 0..1 element addresses
    i64 lds, ldd;      // 2..3 row strides
    i64 rows, cols;    // 4..5
    i64 value;         // 6 fill pattern (low 32 or 16 bits)
};

// Grid: x covers columns (blockDim.x each, grid-stride), y covers rows (grid-stride).
#define EW_LOOP(BODY)                                                                    \
    for (i64 r = blockIdx.y; r < p.rows; r += gridDim.y)                                \
        for (i64 c = (i64)blockIdx.x * blockDim.x + threadIdx.x; c < p.cols;            \
             c += (i64)gridDim.x * blockDim.x) {                                         \
            BODY;                                                                        \
        }

template <typename Ti, typename To>
DEV void copy2d(const P2& p) {
    const Ti* s = cptr<Ti>(p.src);
    To* d = mptr<To>(p.dst);
    EW_LOOP(d[r * p.ldd + c] = from_f32<To>(ldf(s + r * p.lds + c)))
}

template <typename Ti, typename To>
DEV void add2d(const P2& p) {
    const Ti* s = cptr<Ti>(p.src);
    To* d = mptr<To>(p.dst);
    EW_LOOP(To* q = d + r * p.ldd + c; *q = from_f32<To>(ldf(q) + ldf(s + r * p.lds + c)))
}

}  // namespace ew

extern "C" __global__ void mamba_fill_u32(const ew::P2 p) {
    unsigned* d = mptr<unsigned>(p.dst);
    const unsigned v = (unsigned)p.value;
    EW_LOOP(d[r * p.ldd + c] = v)
}
extern "C" __global__ void mamba_fill_u16(const ew::P2 p) {
    unsigned short* d = mptr<unsigned short>(p.dst);
    const unsigned short v = (unsigned short)p.value;
    EW_LOOP(d[r * p.ldd + c] = v)
}
extern "C" __global__ void mamba_copy_u32(const ew::P2 p) {
    const unsigned* s = cptr<unsigned>(p.src);
    unsigned* d = mptr<unsigned>(p.dst);
    EW_LOOP(d[r * p.ldd + c] = s[r * p.lds + c])
}
extern "C" __global__ void mamba_copy_u16(const ew::P2 p) {
    const unsigned short* s = cptr<unsigned short>(p.src);
    unsigned short* d = mptr<unsigned short>(p.dst);
    EW_LOOP(d[r * p.ldd + c] = s[r * p.lds + c])
}
extern "C" __global__ void mamba_copy_f32_bf16(const ew::P2 p) { ew::copy2d<float, bf16>(p); }
extern "C" __global__ void mamba_copy_bf16_f32(const ew::P2 p) { ew::copy2d<bf16, float>(p); }
extern "C" __global__ void mamba_add_f32_f32(const ew::P2 p) { ew::add2d<float, float>(p); }
extern "C" __global__ void mamba_add_bf16_f32(const ew::P2 p) { ew::add2d<bf16, float>(p); }
extern "C" __global__ void mamba_add_f32_bf16(const ew::P2 p) { ew::add2d<float, bf16>(p); }
extern "C" __global__ void mamba_add_bf16_bf16(const ew::P2 p) { ew::add2d<bf16, bf16>(p); }

// ------------------------------------------------------------------ embedding

namespace ew {
// Field order must match CudaBackend.java (embedding).
struct PE {
    i64 ids, table, out;        // 0..2
    i64 ldids, ldtable, ldout;  // 3..5
    i64 M, H, V;                // 6..8
};

// One block per output row (grid.x = M): out[m, :] = table[ids[m], :]; an id outside [0, V) writes NaN
// (the caller checks ids on the host before the call; this only keeps a bad id from reading out of bounds).
template <typename Ti, typename To>
DEV void embedding(const PE& p) {
    const i64 m = blockIdx.x;
    const int id = cptr<int>(p.ids)[m * p.ldids];
    To* o = mptr<To>(p.out) + m * p.ldout;
    if (id < 0 || id >= p.V) {
        for (i64 c = threadIdx.x; c < p.H; c += blockDim.x) o[c] = from_f32<To>(__int_as_float(0x7fc00000));
        return;
    }
    const Ti* t = cptr<Ti>(p.table) + (i64)id * p.ldtable;
    for (i64 c = threadIdx.x; c < p.H; c += blockDim.x) o[c] = from_f32<To>(ldf(t + c));
}
}  // namespace ew

extern "C" __global__ void mamba_embedding_f32_f32(const ew::PE p) { ew::embedding<float, float>(p); }
extern "C" __global__ void mamba_embedding_bf16_f32(const ew::PE p) { ew::embedding<bf16, float>(p); }
extern "C" __global__ void mamba_embedding_f32_bf16(const ew::PE p) { ew::embedding<float, bf16>(p); }
extern "C" __global__ void mamba_embedding_bf16_bf16(const ew::PE p) { ew::embedding<bf16, bf16>(p); }

// ------------------------------------------------------------------ RMSNorm

namespace ew {
// Field order must match CudaBackend.java (rmsNorm).
struct PR {
    i64 x, w, out;      // 0..2
    i64 ldx, ldout;     // 3..4
    i64 M, H;           // 5..6
    i64 epsBits;        // 7 float bits of eps
    i64 roundTf32;      // 8 f32 output rounded to tf32 (it only feeds TF32 GEMMs)
};

// 1 / RMS of a row from its lanes' partial sums of squares: summed and scaled in double, as the CPU does.
DEV float inv_rms(double ss, int H, i64 epsBits) {
    ss = warp_sum(ss);
    return (float)(1.0 / sqrt(ss / H + (double)bits_f32(epsBits)));
}

// out[j] = x[j] · inv · w[j] over this lane's columns of a row, tf32-rounded when rnd.
template <typename Ti, typename To>
DEV void scale_row(const Ti* x, float inv, const float* w, To* o, int H, int lane, bool rnd) {
    for (int j = lane; j < H; j += 32) {
        const float v = ldf(x + j) * inv * __ldg(w + j);
        o[j] = from_f32<To>(rnd ? round_tf32(v) : v);
    }
}

// Four consecutive elements as f32 (aligned: 16 bytes for f32, 8 for bf16).
DEV float4 ld4(const float* q) { return *reinterpret_cast<const float4*>(q); }
DEV float4 ld4(const bf16* q) { return unpack4(*reinterpret_cast<const uint2*>(q)); }
DEV void st4(float* q, float4 v) { *reinterpret_cast<float4*>(q) = v; }
DEV void st4(bf16* q, float4 v) { *reinterpret_cast<uint2*>(q) = pack4(v); }

// scale_row 4 columns per access (every row start aligned for it, see aligned4).
template <typename Ti, typename To>
DEV void scale_row4(const Ti* x, float inv, const float* w, To* o, int H, int lane, bool rnd) {
    for (int j = lane * 4; j < H; j += 128) {
        const float4 v = ld4(x + j);
        const float4 g = __ldg(reinterpret_cast<const float4*>(w + j));
        float4 q = make_float4(v.x * inv * g.x, v.y * inv * g.y, v.z * inv * g.z, v.w * inv * g.w);
        if (rnd) { q.x = round_tf32(q.x); q.y = round_tf32(q.y); q.z = round_tf32(q.z); q.w = round_tf32(q.w); }
        st4(o + j, q);
    }
}

// RMSNorm rows of up to 128·RV columns, 4 per access, are held in registers: every load of the row is in flight
// at once and the scale reads the registers, where the loop issued one load at a time and read the row twice
// (H200 run 87, 131072 x 768 f32 -> bf16: 0.168 -> 0.146 ms, 4.1 TB/s). Not for the fused add + norm: at 16384
// rows (its residual stays in L2) the same change cost 0.0408 -> 0.0425 ms (run 88).
constexpr int RV = 8;

// out = v · inv · w for a row held in registers (lane's float4 i at column 4·lane + 128·i).
template <typename To>
DEV void scale_regs(const float4 (&v)[RV], float inv, const float* w, To* o, int H, int lane, bool rnd) {
#pragma unroll
    for (int i = 0; i < RV; ++i) {
        const int j = lane * 4 + 128 * i;
        if (j < H) {
            const float4 g = __ldg(reinterpret_cast<const float4*>(w + j));
            float4 q = make_float4(v[i].x * inv * g.x, v[i].y * inv * g.y, v[i].z * inv * g.z, v[i].w * inv * g.w);
            if (rnd) { q.x = round_tf32(q.x); q.y = round_tf32(q.y); q.z = round_tf32(q.z); q.w = round_tf32(q.w); }
            st4(o + j, q);
        }
    }
}

DEV double sum_sq(const float4& v) {
    return (double)(v.x * v.x) + (double)(v.y * v.y) + (double)(v.z * v.z) + (double)(v.w * v.w);
}

// Whether a [M, H] operand of T with row stride ld at address a can be read 4 columns at a time.
template <typename T> DEV bool aligned4(i64 a, i64 ld, i64 H) {
    return H % 4 == 0 && ld % 4 == 0 && (a & (4 * sizeof(T) - 1)) == 0;
}

// One warp per row, 8 rows per block. 4 columns per access where the operands allow (the scalar loop ran at
// 3.35 TB/s on the H200 at 131072 x 768, f32 -> bf16, where the fused add + norm below moves 4.0).
template <typename Ti, typename To>
DEV void rmsnorm(const PR& p) {
    const i64 row = (i64)blockIdx.x * 8 + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= p.M) return;
    const Ti* x = cptr<Ti>(p.x) + row * p.ldx;
    const float* w = cptr<float>(p.w);
    To* o = mptr<To>(p.out) + row * p.ldout;
    const int H = (int)p.H;
    const bool vec = aligned4<Ti>(p.x, p.ldx, H) && aligned4<To>(p.out, p.ldout, H) && (p.w & 15) == 0;
    double ss = 0.0;
    if (vec && H <= 128 * RV) {
        float4 v[RV];
#pragma unroll
        for (int i = 0; i < RV; ++i) v[i] = lane * 4 + 128 * i < H ? ld4(x + lane * 4 + 128 * i) : make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
        for (int i = 0; i < RV; ++i) ss += sum_sq(v[i]);  // zeros past H: the same sum in the same order
        scale_regs(v, inv_rms(ss, H, p.epsBits), w, o, H, lane, p.roundTf32 != 0);
        return;
    }
    if (vec) {
        for (int j = lane * 4; j < H; j += 128) ss += sum_sq(ld4(x + j));
        scale_row4(x, inv_rms(ss, H, p.epsBits), w, o, H, lane, p.roundTf32 != 0);
        return;
    }
    for (int j = lane; j < H; j += 32) {
        float v = ldf(x + j);
        ss += (double)(v * v);
    }
    scale_row(x, inv_rms(ss, H, p.epsBits), w, o, H, lane, p.roundTf32 != 0);
}

// Field order must match CudaBackend.java (addRmsNorm).
struct PAR {
    i64 delta, res, w, out;         // 0..3
    i64 lddelta, ldres, ldout;      // 4..6
    i64 M, H;                       // 7..8
    i64 epsBits;                    // 9 float bits of eps
    i64 roundTf32;                  // 10 f32 output rounded to tf32 (it only feeds TF32 GEMMs)
};

// res += delta (the block's output added to the f32 residual stream), then out = rmsnorm(res) * w: the
// residual add of the previous block fused into the next norm, so out_proj writes its result instead of
// reading the residual back in its epilogue. One warp per row; the row is re-read from L1/L2 for out.
template <typename Td, typename To>
DEV void add_rmsnorm(const PAR& p) {
    const i64 row = (i64)blockIdx.x * 8 + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= p.M) return;
    const Td* dl = cptr<Td>(p.delta) + row * p.lddelta;
    float* r = mptr<float>(p.res) + row * p.ldres;
    const float* w = cptr<float>(p.w);
    To* o = mptr<To>(p.out) + row * p.ldout;
    const int H = (int)p.H;
    // 4 columns per access where every row start is aligned for it (16 bytes f32, 8 bytes bf16): the
    // scalar loop reached ~2.6 TB/s on the H200 at 16384 x 768
    const bool vec = aligned4<float>(p.res, p.ldres, H) && aligned4<Td>(p.delta, p.lddelta, H) &&
                     aligned4<To>(p.out, p.ldout, H) && (p.w & 15) == 0;
    double ss = 0.0;
    if (vec) {
        for (int j = lane * 4; j < H; j += 128) {
            float4 v = *reinterpret_cast<const float4*>(r + j);
            const float4 d = ld4(dl + j);
            v.x += d.x; v.y += d.y; v.z += d.z; v.w += d.w;
            *reinterpret_cast<float4*>(r + j) = v;
            ss += sum_sq(v);
        }
    } else {
        for (int j = lane; j < H; j += 32) {
            const float v = r[j] + ldf(dl + j);
            r[j] = v;
            ss += (double)(v * v);
        }
    }
    const float inv = inv_rms(ss, H, p.epsBits);
    const bool rnd = p.roundTf32 != 0;
    if (vec) {
        scale_row4<float, To>(r, inv, w, o, H, lane, rnd);
    } else {
        scale_row<float, To>(r, inv, w, o, H, lane, rnd);
    }
}
}  // namespace ew

extern "C" __global__ void __launch_bounds__(256) mamba_add_rmsnorm_f32_f32(const ew::PAR p) { ew::add_rmsnorm<float, float>(p); }
extern "C" __global__ void __launch_bounds__(256) mamba_add_rmsnorm_bf16_bf16(const ew::PAR p) { ew::add_rmsnorm<bf16, bf16>(p); }
extern "C" __global__ void __launch_bounds__(256) mamba_add_rmsnorm_f32_bf16(const ew::PAR p) { ew::add_rmsnorm<float, bf16>(p); }
extern "C" __global__ void __launch_bounds__(256) mamba_add_rmsnorm_bf16_f32(const ew::PAR p) { ew::add_rmsnorm<bf16, float>(p); }
extern "C" __global__ void __launch_bounds__(256) mamba_rmsnorm_f32_f32(const ew::PR p) { ew::rmsnorm<float, float>(p); }
extern "C" __global__ void __launch_bounds__(256) mamba_rmsnorm_f32_bf16(const ew::PR p) { ew::rmsnorm<float, bf16>(p); }
extern "C" __global__ void __launch_bounds__(256) mamba_rmsnorm_bf16_f32(const ew::PR p) { ew::rmsnorm<bf16, float>(p); }
extern "C" __global__ void __launch_bounds__(256) mamba_rmsnorm_bf16_bf16(const ew::PR p) { ew::rmsnorm<bf16, bf16>(p); }

// ------------------------------------------------------------------ lane summary

namespace ew {
// Field order must match CudaBackend.java (laneSummary).
struct PL {
    i64 hidden, lens, out, ws;       // 0..3 ws: double [B][splits][H]
    i64 ldh, ldlens, ldout;          // 4..6
    i64 T, H, splits;                // 7..9 rows per lane, columns, row splits per lane
};

// Pass 1: grid (ceil(H/32), splits, B), block 256 = 32 columns x 8 row groups; double partial sums.
template <typename Ti>
DEV void lane_partial(const PL& p) {
    __shared__ double part[8][33];
    const int b = blockIdx.z, sp = blockIdx.y;
    const int col = blockIdx.x * 32 + (threadIdx.x & 31);
    const int rg = threadIdx.x >> 5;
    int len = cptr<int>(p.lens)[(i64)b * p.ldlens];
    len = len < 0 ? 0 : (len > p.T ? (int)p.T : len);
    const int chunk = (int)((p.T + p.splits - 1) / p.splits);
    const int r0 = sp * chunk, r1 = imin(r0 + chunk, len);
    double acc = 0.0;
    if (col < p.H) {
        const Ti* h = cptr<Ti>(p.hidden) + ((i64)b * p.T) * p.ldh + col;
#pragma unroll 4
        for (int r = r0 + rg; r < r1; r += 8) acc += (double)ldf(h + (i64)r * p.ldh);
    }
    part[rg][threadIdx.x & 31] = acc;
    __syncthreads();
    if (rg == 0 && col < p.H) {
        double s = 0.0;
#pragma unroll
        for (int q = 0; q < 8; ++q) s += part[q][threadIdx.x];
        mptr<double>(p.ws)[((i64)b * p.splits + sp) * p.H + col] = s;
    }
}

// Pass 2: grid (ceil(H/256), B): out[b, 0:H] = Σ partials, out[b, H:2H] = last valid row (zeros if none).
template <typename Ti>
DEV void lane_final(const PL& p) {
    const int b = blockIdx.y;
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= p.H) return;
    int len = cptr<int>(p.lens)[(i64)b * p.ldlens];
    len = len < 0 ? 0 : (len > p.T ? (int)p.T : len);
    const double* ws = cptr<double>(p.ws) + (i64)b * p.splits * p.H + col;
    double s = 0.0;
    for (int q = 0; q < p.splits; ++q) s += ws[(i64)q * p.H];
    float* o = mptr<float>(p.out) + (i64)b * p.ldout;
    o[col] = (float)s;
    o[p.H + col] = len > 0 ? ldf(cptr<Ti>(p.hidden) + ((i64)b * p.T + len - 1) * p.ldh + col) : 0.f;
}
}  // namespace ew

extern "C" __global__ void __launch_bounds__(256) mamba_lane_partial_f32(const ew::PL p) { ew::lane_partial<float>(p); }
extern "C" __global__ void __launch_bounds__(256) mamba_lane_partial_bf16(const ew::PL p) { ew::lane_partial<bf16>(p); }
extern "C" __global__ void mamba_lane_final_f32(const ew::PL p) { ew::lane_final<float>(p); }
extern "C" __global__ void mamba_lane_final_bf16(const ew::PL p) { ew::lane_final<bf16>(p); }

// ------------------------------------------------------------------ token NLL

namespace ew {
// Field order must match CudaBackend.java (tokenNll).
struct PN {
    i64 logits, targets, out;  // 0..2
    i64 ldl, ldt, ldo;         // 3..5
    i64 M, V;                  // 6..7
};

DEV void merge(float& m, double& s, float m2, double s2) {
    if (m2 == -INFINITY) return;
    if (m == -INFINITY) { m = m2; s = s2; return; }
    if (m2 > m) { s = s * (double)expf(m - m2) + s2; m = m2; }
    else s += s2 * (double)expf(m2 - m);
}

// One block (256 threads) per row: online max / Σexp per thread (exp in float, sums in double), then a
// block merge; out = max + log(Σ) − logit[target] in double; NaN for target < 0 or target >= V.
template <typename Ti>
DEV void token_nll(const PN& p) {
    __shared__ float sm[8];
    __shared__ double ss[8];
    const i64 row = blockIdx.x;
    const Ti* x = cptr<Ti>(p.logits) + row * p.ldl;
    const int V = (int)p.V;
    float m = -INFINITY;
    double s = 0.0;
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        float v = ldf(x + j);
        if (v > m) { s = (m == -INFINITY ? 0.0 : s * (double)expf(m - v)) + 1.0; m = v; }
        else s += (double)expf(v - m);
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffffu, m, o);
        double s2 = __shfl_xor_sync(0xffffffffu, s, o);
        merge(m, s, m2, s2);
    }
    const int warp = threadIdx.x >> 5;
    if ((threadIdx.x & 31) == 0) { sm[warp] = m; ss[warp] = s; }
    __syncthreads();
    if (threadIdx.x == 0) {
        float mm = sm[0];
        double sv = ss[0];
        for (int w = 1; w < (int)(blockDim.x >> 5); ++w) merge(mm, sv, sm[w], ss[w]);
        const int t = cptr<int>(p.targets)[row * p.ldt];
        float r;
        if (t < 0 || t >= V) r = __int_as_float(0x7fc00000);
        else r = (float)((double)mm + log(sv) - (double)ldf(x + t));
        mptr<float>(p.out)[row * p.ldo] = r;
    }
}
}  // namespace ew

extern "C" __global__ void __launch_bounds__(256) mamba_token_nll_f32(const ew::PN p) { ew::token_nll<float>(p); }
extern "C" __global__ void __launch_bounds__(256) mamba_token_nll_bf16(const ew::PN p) { ew::token_nll<bf16>(p); }

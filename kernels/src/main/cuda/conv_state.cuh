// The conv's carried window after a call, shared by conv1d.cu and conv_xproj.cu (included after common.cuh,
// or the emulation's emu_common.cuh).
#pragma once

// One channel: state st[0 .. K-2] becomes the last K-1 entries of st ++ x[0 .. len) (x: the channel's first
// step, rows ldx apart). KM: the largest K (static register indices); K <= KM.
template <typename T, int KM>
DEV void conv_roll_state(float* st, const T* x, i64 ldx, int len, int K) {
    float ns[KM];
#pragma unroll
    for (int j = 0; j < KM - 1; ++j) {
        if (j < K - 1) {
            const int q = len + j;  // index into st ++ x
            ns[j] = q < K - 1 ? st[q] : ldf(x + (i64)(q - (K - 1)) * ldx);
        }
    }
#pragma unroll
    for (int j = 0; j < KM - 1; ++j)
        if (j < K - 1) st[j] = ns[j];
}

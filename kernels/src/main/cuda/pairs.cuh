// Two adjacent elements as f32 (4-byte aligned bf16 pair or 8-byte aligned f32 pair), and back: the scan's
// E and Y phases and the conv's two-channel threads handle channel pairs, half the loads, stores and
// index arithmetic of single channels. (Included after common.cuh, or the emulation's emu_common.cuh.)
#pragma once

DEV float2 ld2f(const float* q) { return *reinterpret_cast<const float2*>(q); }
DEV float2 ld2f(const bf16* q) { return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(q)); }
DEV void st2f(float* q, float a, float b) { *reinterpret_cast<float2*>(q) = make_float2(a, b); }
DEV void st2f(bf16* q, float a, float b) { *reinterpret_cast<__nv_bfloat162*>(q) = __floats2bfloat162_rn(a, b); }

// Two adjacent elements as f32 (4-byte aligned bf16 pair or 8-byte aligned f32 pair), and back: the scan's
// E and Y phases and the conv's two-channel threads handle channel pairs, half the loads, stores and
// index arithmetic of single channels. (Included after common.cuh, or the emulation's emu_common.cuh.)
#pragma once

DEV float2 ld2f(const float* q) { return *reinterpret_cast<const float2*>(q); }
DEV float2 ld2f(const bf16* q) { return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(q)); }
DEV void st2f(float* q, float a, float b) { *reinterpret_cast<float2*>(q) = make_float2(a, b); }
DEV void st2f(bf16* q, float a, float b) { *reinterpret_cast<__nv_bfloat162*>(q) = __floats2bfloat162_rn(a, b); }
// Four adjacent bf16 (8 bytes) as f32, and back: the packed form, for a value stored to two places (the fused
// conv's A tile and xc) or loaded from shared memory.
DEV float4 unpack4(uint2 u) {
    const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&u.x));
    const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&u.y));
    return make_float4(a.x, a.y, b.x, b.y);
}
DEV uint2 pack4(float4 v) {
    const __nv_bfloat162 a = __floats2bfloat162_rn(v.x, v.y), b = __floats2bfloat162_rn(v.z, v.w);
    uint2 u;
    u.x = *reinterpret_cast<const unsigned*>(&a);
    u.y = *reinterpret_cast<const unsigned*>(&b);
    return u;
}

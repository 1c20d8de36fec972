// \file
// Register-resident loops of independent _mm512_dpbusd_epi32 (int8, VNNI)
// and _mm512_fmadd_ps (f32): the compute peaks of Ceilings.cpp. This file
// alone is compiled with -mavx512f -mavx512bw -mavx512vnni, and holds nothing
// but these two functions (no inline library code whose AVX-512 copy the
// linker could pick for the rest of the binary); they run only after a
// runtime CPU check.
#include <immintrin.h>

#include <cstdint>

#include "perf/PeakLoops.h"

namespace kf::perf {

// 16 x 64 u8*s8 multiply-adds per iteration.
int64_t vnniLoop(int64_t iters) {
    __m512i acc[kAcc];
    for (int j = 0; j < kAcc; ++j) acc[j] = _mm512_set1_epi32(j);
    __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    for (int64_t i = 0; i < iters; ++i) {
        __asm__ volatile("" : "+v"(a), "+v"(b));  // keep the loop: operands unknown to the compiler
#pragma GCC unroll 16
        for (int j = 0; j < kAcc; ++j) acc[j] = _mm512_dpbusd_epi32(acc[j], a, b);
    }
    __m512i s = acc[0];
    for (int j = 1; j < kAcc; ++j) s = _mm512_add_epi32(s, acc[j]);
    alignas(64) int32_t lanes[16];
    _mm512_store_si512(lanes, s);  // (GCC 12's _mm512_reduce_* warn about their own temporaries)
    int64_t total = 0;
    for (int32_t v : lanes) total += v;
    return total;
}

// 16 x 16 f32 FMAs per iteration.
float fmaLoop(int64_t iters) {
    __m512 acc[kAcc];
    for (int j = 0; j < kAcc; ++j) acc[j] = _mm512_set1_ps(static_cast<float>(j));
    __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
    for (int64_t i = 0; i < iters; ++i) {
        __asm__ volatile("" : "+v"(a), "+v"(b));
#pragma GCC unroll 16
        for (int j = 0; j < kAcc; ++j) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
    }
    __m512 s = acc[0];
    for (int j = 1; j < kAcc; ++j) s = _mm512_add_ps(s, acc[j]);
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, s);
    float total = 0;
    for (float v : lanes) total += v;
    return total;
}

}  // namespace kf::perf

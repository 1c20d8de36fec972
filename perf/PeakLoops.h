// \file
// The peak loops (PeakLoops.cpp, compiled for AVX-512 VNNI): call only on a
// CPU that has avx512f, avx512bw (and avx512vnni for vnniLoop). Ceilings.h
// wraps them with the CPU check, calibration and threads.
#pragma once

#include <cstdint>

namespace kf::perf {

inline constexpr int kAcc = 16;  // independent chains: > latency (4-5 cycles) x ports (<= 2)

// kAcc x 64 u8*s8 multiply-adds per iteration.
int64_t vnniLoop(int64_t iters);
// kAcc x 16 f32 FMAs per iteration.
float fmaLoop(int64_t iters);

}  // namespace kf::perf

// \file
// Adapts a lowbit_linear kernel of the MLIR backend (LowbitLinearMlir.h: the
// int8 product over rows already quantized, one call per range of tiles) to
// the runtime's entry point (kforge/detail/Linear.h: LinearArgs). Compiled
// into every emitted library that has such a variant.
#pragma once

#include <cstdint>

#include "kforge/detail/Linear.h"

namespace kf::bridge {

// The C ABI of the generated function: tiles [t0, t1) of y from int8 rows q
// [m][kPad], their per-chunk sums qsum [m][chunks] (chunks = kPad / kAlign for
// per-group scales, 1 for per-channel), and rowScale [m] = s_x / d. Kernels
// over f32 rows take x f32 [m][kPad] in q's place, the f32 sums of x over
// each chunk of kAlign in qsum's, and no rowScale.
using LinearMlirFn = void (*)(const uint8_t *const *planes, const void *scales, const uint8_t *zeroPoints,
                              const float *bias, const int8_t *q, const int32_t *qsum, const float *rowScale, float *y,
                              int64_t m, int64_t kPad, int64_t numScaleCols, int64_t yStride, int64_t t0, int64_t t1);

struct LinearMlirVariant {
    enum Input { Int8, F32, BF16 };
    Input input;        // the kernel's activations: int8 rows (quantized here unless given so), or f32 rows
                        // (bf16 rows are widened here) with f32 chunk sums
    int levelD;         // the d of the format's levels (c a + b) / d: 1, or 2 for seq2
    int tilesPerTask;   // tiles of rows per parallel task (the schedule's split n / interleave)
    bool parallel;      // parallel n
    bool rowPairs = false;  // int8 rows handed over in pairs, interleaved per 8 k (LowbitLinearMlir.h: usesRowPairs)
};

// int8 kernels: quantizes f32 rows per docs/formats.md ("Dynamic int8 per
// token") unless args.xScales says they already are; f32 / bf16 kernels:
// f32 rows and their chunk sums. Then runs fn over the tiles on TBB.
// Returns 0 (the kernel has no failure path; bad arguments are the
// runtime's to reject before this).
int runLinearMlir(LinearMlirFn fn, const rt::LinearLayout &layout, const LinearMlirVariant &variant,
                  const rt::LinearArgs &args);

}  // namespace kf::bridge

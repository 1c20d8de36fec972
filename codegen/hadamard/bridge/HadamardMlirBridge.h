// \file
// Adapts a hadamard kernel of the MLIR backend (HadamardMlir.h: f32 rows in,
// f32 rows out, one call per range of rows) to the runtime's entry point
// (kforge/detail/Hadamard.h: HadamardArgs): row ranges run in parallel on
// TBB, and int8 output is the rotated row quantized here. Compiled into every
// emitted library that has such a variant.
#pragma once

#include <cstdint>

#include "kforge/detail/Hadamard.h"

namespace kf::bridge {

// The C ABI of the generated function: rows [r0, r1) of x (row stride
// xStride floats) rotated into y (stride yStride).
using HadamardMlirFn = void (*)(const float *x, float *y, int64_t xStride, int64_t yStride, int64_t r0, int64_t r1);

struct HadamardMlirVariant {
    int rowsPerTask;  // the schedule's split m
    bool parallel;    // parallel m
};

// f32 output: fn straight into args.y. int8 output: each task rotates its
// rows into a buffer of its own, then quantizes each row per docs/formats.md
// ("Dynamic int8 per token", as kf_hadamard_run_q8 documents): s = max|y| /
// 127, q = round-half-away(y / s), both true f32 divisions. Returns 0.
int runHadamardMlir(HadamardMlirFn fn, const HadamardMlirVariant &variant, const rt::HadamardArgs &args);

}  // namespace kf::bridge

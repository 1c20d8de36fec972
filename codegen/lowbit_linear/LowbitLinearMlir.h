// \file
// lowbit_linear -> MLIR for scalable ARM SVE: the product over the family's
// packed layout (int8 activations on sdot; f32 / bf16 ones on FMAs) (kforge/detail/Linear.h), vector-length
// agnostic, so one object is correct at every SVE vector length.
//
// The kernel is the integer core of docs/formats.md's "Dynamic int8 per
// token": it takes rows already quantized to int8, and per row the sums of
// the codes of each chunk; the bridge (bridge/LinearMlirBridge.h) quantizes
// f32 rows, computes those sums, and runs tiles in parallel.
//
// Per tile of I rows the rows are walked in strips of one vector (VL/32
// rows: 4 at 128-bit SVE, 16 at 512-bit; the last strip is predicated, so a
// tile need not be a multiple of the vector), 4, 2 or 1 strips per pass as
// the vector length allows (chosen at run time). Per k-block each strip's
// packed chunks are loaded (one predicated load per chunk), the codes of
// each 4-k quad unpacked in registers and multiplied by the indexed `sdot`
// with x's quadword replicated per 128-bit segment (`ld1rqb`). Chunk sums
// become f32 with the chunk's scale as the Halide lowering does
// (LowbitLinearHalide.cpp): the same order and the same fused multiply-adds
// LLVM makes of Halide's, so both backends give the same int32 sums and the
// same floats (test/unit/codegen/BackendsAgreeTest.cpp). With f32 / bf16
// activations the same loops convert the codes to f32 and use FMAs.
#pragma once

#include <string>

#include "kforge/detail/Linear.h"

namespace kf::codegen::lowbit {

// What the SVE kernel computes, in the terms of the packed layout.
struct SveLinearKernel {
    rt::LinearLayout layout;
    // Level L(c) = (a c + b) / d (LowbitLinearHalide.cpp, AffineLevels); for
    // uint weights b = -z per row and chunk (zeroPoints).
    int levelA = 1, levelB = 0, levelD = 1;
    bool zeroPoints = false;
    bool bias = false;
    int mTile = 1;  // rows of x per pass over a strip's weights (1..8)
    // f32 rows instead of int8 ones: x f32 [m][kPad] and per-chunk sums of x
    // in f32 in place of q and qsum (chunks of layout.kAlign also for
    // per-channel scales), f32 FMAs on the codes, no row scale.
    bool floatInput = false;
};

// The module defines @kf_kernel (renamed to the variant's symbol when
// compiled) with the C ABI of bridge::LinearMlirFn (bridge/LinearMlirBridge.h):
// tiles [t0, t1) of y from rows already quantized to int8. Throws
// CodegenError for a layout it does not read (k-blocks other than 32, or 20
// for base 3) or mTile outside 1..8.
std::string sveLinearModule(const SveLinearKernel &kernel);

}  // namespace kf::codegen::lowbit

// \file
// lowbit_linear -> MLIR: the product over the family's packed layout
// (kforge/detail/Linear.h), int8 activations on dot-product instructions and
// f32 / bf16 ones on FMAs, for two instruction sets:
//  - scalable ARM SVE, vector-length agnostic, so one object is correct at
//    every SVE vector length (`sdot`);
//  - x86 AVX-512 VNNI (`vpdpbusd`, 16 rows per zmm), with a software prefetch
//    of the weight stream at a scheduled distance and locality
//    (`prefetcht0` / `t1` / `t2` / `nta`), which Halide 14 cannot emit.
//
// The kernel is the integer core of docs/formats.md's "Dynamic int8 per
// token": it takes rows already quantized to int8, and per row the sums of
// the codes of each chunk; the bridge (bridge/LinearMlirBridge.h) quantizes
// f32 rows, computes those sums, and runs tiles in parallel.
//
// Per tile of I rows, for each step of mTile rows of x (outside, so that
// the step's rows stay in L1 while the tile's weights come from L2), the
// rows of the tile are walked in strips of one vector (VL/32
// rows: 4 at 128-bit SVE, 16 at 512-bit; the last strip is predicated, so a
// tile need not be a multiple of the vector), 4, 2 or 1 strips per pass as
// the vector length allows (chosen at run time). Per k-block each strip's
// packed chunks are loaded (one predicated load per chunk), the codes of
// each 4-k quad unpacked in registers and multiplied by the indexed `sdot`
// with x's quadword replicated per 128-bit segment (`ld1rqb`) or, with i8mm,
// two quads of two rows at a time by `smmla` (MlirLinearKernel::i8mm). Chunk sums
// become f32 with the chunk's scale as the Halide lowering does
// (LowbitLinearHalide.cpp): the same order and the same fused multiply-adds
// LLVM makes of Halide's, so both backends give the same int32 sums and the
// same floats (test/unit/codegen/BackendsAgreeTest.cpp). With f32 / bf16
// activations the same loops convert the codes to f32 and use FMAs.
//
// On AVX-512 the same loops run on fixed vectors: a strip is 16 rows (one
// zmm of int32 lanes), the tile a whole number of strips (no predication),
// and each 4-k quad of x is one int32 broadcast into a register that
// `vpdpbusd` multiplies with the codes as unsigned bytes (so 8-bit codes need
// no offset). Every 64-byte line of a strip's weights is prefetched
// `prefetchK` k ahead when the schedule asks for it. A base-3 ternary byte b
// is split as r + 81 t4 (r < 81) with byte minimums, and digits 0..3 of r
// come as 2-bit fields from a 128-entry `vpermi2b` table (VBMI); SVE and f32
// rows divide by 3 with multiplies instead.
#pragma once

#include <string>

#include "kforge/detail/Linear.h"

namespace kf::codegen::lowbit {

enum class LinearIsa { Sve, Avx512Vnni };

// What the kernel computes, in the terms of the packed layout.
struct MlirLinearKernel {
    LinearIsa isa = LinearIsa::Sve;
    rt::LinearLayout layout;
    // Level L(c) = (a c + b) / d (AffineLevels.h); for
    // uint weights b = -z per row and chunk (zeroPoints).
    int levelA = 1, levelB = 0, levelD = 1;
    bool zeroPoints = false;
    bool bias = false;
    int mTile = 1;  // rows of x per pass over a strip's weights (1..8)
    // f32 rows instead of int8 ones: x f32 [m][kPad] and per-chunk sums of x
    // in f32 in place of q and qsum (chunks of layout.kAlign also for
    // per-channel scales), f32 FMAs on the codes, no row scale.
    bool floatInput = false;
    // Software prefetch (AVX-512 only): `prefetchK` k ahead of the block being
    // read (0 = none), with LLVM's locality (3 = t0, 2 = t1, 1 = t2, 0 = nta).
    int prefetchK = 0;
    int prefetchLocality = 0;
    // SVE with the int8 matrix multiply extension (i8mm), int8 rows: with an
    // even mTile each pair of x rows goes on `smmla` (per 128-bit segment a
    // 2x8 block of x times 8 k of 2 weight rows, the two quads of 8 k zipped
    // per row), the accumulators unzipped per chunk; with one row, 8-bit codes
    // go on `usdot` (unsigned codes, signed x: no offset). Base 3 (five quads
    // per block) stays on `sdot`.
    bool i8mm = false;
};

// True when the kernel reads int8 rows in pairs (SVE i8mm, smmla): q then
// holds, per pair of rows (2p, 2p+1; an odd last row paired with a copy of
// itself), for each 8 k the 8 bytes of row 2p then those of row 2p+1, 2 kPad
// bytes a pair (bridge::LinearMlirVariant::rowPairs).
bool usesRowPairs(const MlirLinearKernel &kernel);

// The module defines @kf_kernel (renamed to the variant's symbol when
// compiled) with the C ABI of bridge::LinearMlirFn (bridge/LinearMlirBridge.h):
// tiles [t0, t1) of y from rows already quantized to int8. Throws
// CodegenError for a layout it does not read (k-blocks other than 32, or 20
// for base 3; on AVX-512 a tile that is not a multiple of 16 rows) or mTile
// outside 1..8.
std::string linearModule(const MlirLinearKernel &kernel);

}  // namespace kf::codegen::lowbit

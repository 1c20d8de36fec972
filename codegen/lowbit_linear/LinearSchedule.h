// \file
// A lowbit_linear schedule resolved to the numbers the Halide lowering uses:
// the target's defaults, overridden by the DSL schedule's directives. Every
// directive either changes one of these fields or is rejected with its
// file:line:col, so nothing in a schedule is silently ignored.
#pragma once

#include <string>

#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::codegen::lowbit {

// pack weight layout=: how a code's bits are split into planes
// (kforge/detail/Linear.h, PlaneLayout, has the byte order of each).
enum class PackLayout {
    Planes,     // planes of 8, 4, 2, 1 bits, exactly b bits per code (the default)
    Bitplanes,  // b planes of 1 bit
    Nibbles,    // one 4-bit plane (b <= 4): more bytes, fewer unpacking ops
    Bytes,      // one 8-bit plane: codes as bytes, no unpacking
};

const char *toString(PackLayout layout);

// prefetch weight <k> hint=: the cache level the prefetched weights go to,
// numbered as LLVM's prefetch locality argument (3 = keep in every level,
// 0 = non-temporal). nta (x86 prefetchnta) is the default and all Halide 14
// emits; the others need a backend that sets the locality (backend mlir).
enum class PrefetchHint { Nta = 0, T2 = 1, T1 = 2, T0 = 3 };

const char *toString(PrefetchHint hint);  // "nta", "t2", "t1", "t0"

struct LinearSchedule {
    int interleave = 16;   // pack weight interleave=: output rows per packed tile (multiple of 16)
    PackLayout layout = PackLayout::Planes;  // pack weight layout=
    int vector = 16;       // vectorize n: f32 lanes per vector
    int nBlock = 256;      // split n: output rows per parallel task
    int kChunk = 256;      // split k: k per partial sum (per-channel scales); = group otherwise
    int unrollK = 1;       // unroll k: k unrolled in the inner loop (1, or a multiple of the packed k-block)
    bool parallel = true;  // parallel n
    int mTile = 1;         // split m: rows of x per step (int8 prefill: weights decoded once per tile of rows)
    bool chunkOuter = false;  // reorder k m: int8, chunk loop outside the rows of x; each chunk of the tile's
                              // weights decoded once (to bytes in L1) for all M rows instead of once per row tile
    int prefetch = 64;     // prefetch weight <k>: k ahead the weights are prefetched (whole k-blocks); 0 = off
                           // (default 64 for f32/bf16 activations, 0 for int8: measured)
    PrefetchHint prefetchHint = PrefetchHint::Nta;  // prefetch weight <k> hint=
};

LinearSchedule defaultSchedule(const targets::TargetInfo &target);

// `schedule` may be null (defaults). Throws CodegenError on a directive the
// lowering cannot honour.
LinearSchedule resolveSchedule(const dsl::LowbitLinearParams &params, const dsl::Schedule *schedule,
                               const targets::TargetInfo &target);

// Smallest M of a bucket (1 for any / decode, 9 small, 32 prefill).
int minRows(dsl::Bucket bucket);


}  // namespace kf::codegen::lowbit

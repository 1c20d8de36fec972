// \file
// Adapts a sparse_rank_linear column gather (SparseRankHalide.h) to the
// runtime's entry point (kforge/detail/SparseRank.h: SparseRankArgs).
// Compiled into every emitted library.
#pragma once

#include "codegen/backends/halide/bridge/HalideBridge.h"
#include "kforge/detail/SparseRank.h"

namespace kf::bridge {

// One gather through fn, compiled for `tile` output rows per tile, `vector`
// lanes and codes of `storedBits` (32: f32 columns, 16: bf16 columns, no
// scales). Returns 0 or sets the error.
int runSparseRankGather(halide::ArgvFn fn, int tile, int vector, int storedBits, const rt::SparseRankArgs &args);

}  // namespace kf::bridge

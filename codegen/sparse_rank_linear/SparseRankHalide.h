// \file
// sparse_rank_linear -> Halide. Every product of an R-Sparse layer is a
// column gather (kforge/detail/SparseRank.h): out[m][n] = sum_j a[m][j] *
// col(idx[j])[n] over a list of columns, each column stored contiguously per
// tile of output rows, so a call reads only the columns it lists. A variant
// has two: W's gather in W's format (codes decoded in registers, scales per
// group or per channel) and the gather of V and U (f32, or int8 with a scale
// per row: `rank <r> factors=int8`).
//
// A schedule resolved to numbers (SparseRankSchedule), from the target's
// defaults and the DSL directives (vars m, n, k, r; docs/dsl.md):
//   vectorize n <V>              f32 lanes per vector
//   split n <T>                  W's output rows per tile (column block): a
//                                multiple of P * V (P codes per byte)
//   unroll n <U>                 W's rows in registers per pass over the
//                                columns: divides T, at most 32 vectors; a
//                                tile wider than U is walked T / U times, the
//                                later passes from cache (default: as many
//                                accumulators as fit, and T = U)
//   split r <T>                  U's and V's output rows per tile (multiple of V)
//   split m <F>                  rows of x per register tile: each column is
//                                decoded once for F rows (F x U / V
//                                accumulators); small and prefill buckets only,
//                                F at most the bucket's smallest M
//   parallel n                   tiles in parallel (the default)
//   prefetch weight <D>          prefetch the column D places ahead in the
//                                list, in both gathers (0 = off; at most
//                                rt::kSparseRankListPadding); grouped
//                                scales then walk W's list in one loop,
//                                scaling each column (0: per group)
//   reorder k m | m k            for M > 1: the columns of the union of the
//                                rows' masks, each read once for every row
//                                (k m, the default), or each row of x on its
//                                own active columns (m k: per-token masks;
//                                not with split m > 1)
// Everything else is rejected with the directive's file:line:col.
//
// Buffers, in the order the bridge passes them (P = 8 / storedBits, 1 for
// f32 and bf16; Q = tile / (P V)):
//   cols    UInt(8) (Q V, numCols, nTiles), or Float(32) / UInt(16) bf16 bits
//           (tile, numCols, nTiles)
//   scales  Float(32) (tile, numGroups, nTiles)       quantized only
//   idx     Int(32) (J + kSparseRankListPadding)      columns, each < numCols
//   listed  Int(32) scalar: J
//   a       Float(32) (J, M)
//   segments Int(32) (3, S): the listed columns cut into runs of one scale
//           group each (first index into idx, count, group); per-channel
//           scales: one run of all J                 quantized only
//   seg_sums Float(32) (S, M): sum of a over each run  quantized only
//   out     Float(32) (V, P, Q, nTiles, M): row q*P*V + h*V + i of tile t at (i, h, q, t)
#pragma once

#include <Halide.h>

#include <string>
#include <vector>

#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::codegen::sparse_rank_linear {

// Listed columns ahead that a gather prefetches by default. Listed columns
// are no stream the hardware prefetchers follow: without it, 73 % of the W
// gather's samples at 50 % sparsity sat on the first loads of a column
// (perf annotate, Zen 5, 4096 x 11008 int4); with it the gather is 2.4-2.6x
// faster at 50 and 90 % (bench/README.md, "Decode with the prefetch of
// listed columns", measured against 0).
constexpr int kDefaultPrefetch = 16;

struct SparseRankSchedule {
    int vector = 16;       // f32 lanes per vector
    int tile = 256;        // W's output rows per tile (the packed column blocks)
    int registerTile = 256;// W's output rows in registers per pass over the columns (divides tile)
    int lowRankTile = 256; // U's and V's output rows per tile
    bool parallel = true;  // tiles over the caller's threads
    int rowTile = 1;       // rows of x per register tile (split m): each decoded column serves them all
    bool perToken = false; // reorder m k: each row of x reads its own active columns (else their union)
    int prefetch = kDefaultPrefetch;  // prefetch weight <D>: the column D places ahead in the list (0 = off)
};

// Bits per stored element of W: 32 f32, 16 bf16, 4 for int3 (nibbles), else
// the format's; 0 for `weight none`.
int storedBits(const dsl::SparseRankLinearParams &p);

SparseRankSchedule defaultSchedule(const dsl::SparseRankLinearParams &p, const targets::TargetInfo &target);
// `schedule` may be null (defaults). Throws CodegenError with the directive's
// location for what this lowering cannot honour.
SparseRankSchedule resolveSchedule(const dsl::SparseRankLinearParams &p, const dsl::Schedule *schedule,
                                   const targets::TargetInfo &target);

// One axis of the family's default tune space: the directive as a tune block
// writes it and its values, the default first; every value alone is legal
// for the kernel and target (combinations are pruned by resolveSchedule).
struct TuneAxisSpec {
    std::string axis;  // "split n", "unroll n", "split r", "split m", "reorder"
    std::vector<int64_t> values;
    std::vector<std::string> words;  // a word axis ("reorder"): values index these
};
// Small and prefill buckets add rows of x per register tile (split m).
std::vector<TuneAxisSpec> tuneAxes(const dsl::SparseRankLinearParams &p, const targets::TargetInfo &target,
                                   dsl::Bucket bucket);

struct GatherPipeline {
    Halide::Pipeline pipeline;
    std::vector<Halide::Argument> args;
};

// W's gather (format of p, tile s.tile) or, with lowRank, the gather of U
// and V (tile s.lowRankTile; f32, or int8 with a scale per row for
// `factors=int8`).
GatherPipeline buildGather(const dsl::SparseRankLinearParams &p, const SparseRankSchedule &s, bool lowRank);

}  // namespace kf::codegen::sparse_rank_linear

// \file
// The sparse_rank_linear family's part of a kernel def (kforge/detail/Kernel.h):
// its declared spec (SparseRankSpec), each variant's packed layout
// (SparseRankLayout, Variant::data) and the argument struct of its entry
// points (SparseRankArgs). The runtime (runtime/sparse_rank_linear/) reads
// only this.
//
// Every product of the layer is a column gather: out[m][n] = sum_j a[m][j] *
// col(idx[j])[n], over a list of columns idx (W's active ones, V's inactive
// ones, all of U's). Each matrix is stored column-blocked: output rows in
// tiles of `tile`, and per tile the columns one after the other, so the
// columns a call skips are bytes it does not read:
//   codes   [nTiles][K][tile * bits / 8] bytes; within a tile's column, byte
//           q*V + i holds the codes of rows q*P*V + h*V + i (h = 0..P-1, P =
//           8 / storedBits) in bits [h*storedBits, (h+1)*storedBits);
//           int3 is stored in 4 bits (nibbles);
//   scales  [nTiles][G][tile] f32 (the declared f16 / bf16 converted exactly);
//   f32     [nTiles][cols][tile] (f32 W, V with rows = r and cols = K, U with
//           rows = N and cols = r);
//   bf16    the same as f32 with uint16 bf16 bit patterns (`weight bf16`,
//           `factors=bf16`: the given f32 rounded to nearest, ties to even);
// U and V with `factors=int8`: int8 codes (c + 128 stored) laid out like
// W's codes with 8 bits, and an f32 scale per row [nTiles][1][tile].
// Rows past the end of the last tile hold zero. A `weight none` kernel packs
// no W: its variants run U and V only (Variant::run is then their gather too).
#pragma once

#include <cstdint>

#include "kforge/detail/Kernel.h"
#include "kforge/sparse_rank.h"

namespace kf::rt {

// Entries after the J listed columns of a gather's idx (copies of the last
// one): a gather prefetches the column up to this many places ahead, and the
// index it reads must stay in the buffer.
constexpr int kSparseRankListPadding = 64;

struct SparseRankSpec {
    const char *weightFormat;  // "f32", "bf16", "none", "int4", ...
    int bits;                  // 32 for f32, 16 for bf16, 0 for none
    int64_t n, k;              // declared; 0 = dynamic
    int rank;
    int group;                 // 0 = per channel
    kf_scale_type scaleType;
    int topK;                  // 0 = threshold
    int factorBits;            // U and V: 32 = f32, 16 = bf16, 8 = int8 with a scale per row
    float tau;                 // threshold kernels: the declared threshold (`sparsity threshold tau=`)
};

struct SparseRankLayout {
    int tile;        // W: output rows per tile
    int vector;      // f32 lanes per vector (V)
    int storedBits;  // bits per stored code (int3: 4); 32 for f32 W, 16 for bf16, 0 for none
    int lowRankTile; // U and V: output rows per tile
    int factorBits;  // U and V: 32 = f32, 16 = bf16, 8 = int8 codes with an f32 scale per row
};

// One column gather (see above). `a` is [m][aStride], J valid columns; out is
// [m][outStride] with nTiles * tile valid columns.
struct SparseRankArgs {
    const void *cols;      // codes, f32 or bf16, [nTiles][numCols][tile(Bytes)]
    const float *scales;   // quantized W only: [nTiles][numGroups][tile]
    const int32_t *idx;    // [J + kSparseRankListPadding] column indices, each < numCols
    const float *a;        // [m][aStride]
    float *out;            // [m][outStride]
    int64_t j;             // >= 1
    int64_t m;
    int64_t numCols;
    int64_t numGroups;
    int64_t nTiles;
    int64_t aStride;
    int64_t outStride;
    // Quantized W only: the listed columns cut into runs of one scale group
    // ([numSegments][3]: first index into idx, count <= group, group; one run
    // of all J for per-channel scales) and each run's sum of a
    // ([m][numSegments]): the level offset comes out of the sum once a run.
    const int32_t *segments;
    const float *segSums;
    int64_t numSegments;
};

// Per variant: the layout, the entry of the gather that U and V run through
// (layout.factorBits) and the loop order for M > 1; Variant::run is W's
// gather.
struct SparseRankVariantData {
    SparseRankLayout layout;
    KernelEntry runLowRank;
    // `reorder m k`: each row of x is run on its own active columns (one
    // gather per row); else the union of the rows' masks, once for all rows.
    bool perToken;
};

inline const SparseRankVariantData &sparseRankData(const Variant &v) {
    return *static_cast<const SparseRankVariantData *>(v.data);
}

}  // namespace kf::rt

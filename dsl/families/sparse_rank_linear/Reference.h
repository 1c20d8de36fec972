// \file
// Scalar reference of sparse_rank_linear, written from docs/formats.md
// ("Sparse-rank linear", "Codes, levels and values") and nothing else: the
// oracle the generated kernels are checked against. Double precision, no
// packing, one weight at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "dsl/Spec.h"

namespace kf::families::sparse_rank_linear {

// A layer's tensors as the C API takes them (kforge/sparse_rank.h).
struct ReferenceLayer {
    int64_t n = 0, k = 0, r = 0;
    const uint8_t *codes = nullptr;  // [N][K], quantized W
    const void *scales = nullptr;    // [N][G] of params.scaleType
    const float *w = nullptr;        // [N][K], f32 or bf16 W as given (f32; bf16 rounds it)
    const float *u = nullptr;        // [N][r], f32 or bf16 factors as given
    const float *v = nullptr;        // [r][K], f32 or bf16 factors as given
    // `factors=int8`: codes c (value s * (c - 128)) and one scale per row.
    const uint8_t *uCodes = nullptr;  // [N][r]
    const float *uScales = nullptr;   // [N]
    const uint8_t *vCodes = nullptr;  // [r][K]
    const float *vScales = nullptr;   // [r]
};

// m of one row of x (K values): |x_k| > tau, or the topK largest |x_k| with
// the lower index first among equal magnitudes; none for `weight none`.
std::vector<bool> referenceMask(const dsl::SparseRankLinearParams &params, const float *x, int64_t K, float tau);

// The bf16 value nearest v, ties to the even significand (8 significant bits,
// exponent range of f32; docs/formats.md).
double referenceBf16(double v);

// W[n][k]: s * (c - 2^(b-1)) with the scale of (n, k / group), or the f32
// value (bf16: rounded to bf16).
double referenceWeight(const dsl::SparseRankLinearParams &params, const ReferenceLayer &layer, int64_t n, int64_t k);

// U[n][j] and V[j][k] as stored (f32, bf16 of the given value, or s * (c -
// 128) for int8 factors).
double referenceU(const dsl::SparseRankLinearParams &params, const ReferenceLayer &layer, int64_t n, int64_t j);
double referenceV(const dsl::SparseRankLinearParams &params, const ReferenceLayer &layer, int64_t j, int64_t k);

// y[M][N] = W (x . m) + U (V (x . (1 - m))) per row of x [M][K].
std::vector<double> referenceSparseRank(const dsl::SparseRankLinearParams &params, const ReferenceLayer &layer,
                                        const float *x, int64_t M, float tau);

}  // namespace kf::families::sparse_rank_linear

// \file
// The rank-r truncated SVD of a layer's weights, through Eigen (Debian's
// libeigen3-dev, header-only: emitted libraries gain no link dependency).
// sparse_rank_linear's U and V (docs/formats.md, "Sparse-rank linear"), with
// the singular values folded into U.
#pragma once

#include <cstdint>
#include <vector>

namespace kf::rt {

struct LowRankFactors {
    std::vector<float> u;       // [n][r] = U_r diag(sigma)
    std::vector<float> v;       // [r][k] = V_r^T
    std::vector<double> sigma;  // the r largest singular values, descending
    bool exact = false;         // a full SVD (else the randomized range finder)
};

// Columns the randomized range finder samples beyond r, and its power
// iterations (Halko, Martinsson and Tropp 2011, Algorithm 4.4).
constexpr int64_t kOversample = 16;
constexpr int kPowerIterations = 2;

// w [n][k] row-major f32, 0 <= r <= min(n, k). Exact (Eigen::BDCSVD in
// double) when r + kOversample >= min(n, k); otherwise a Gaussian sketch of
// r + kOversample columns (fixed seed: the same w gives the same factors),
// kPowerIterations power iterations re-orthonormalized by QR, and the exact
// SVD of the projected (r + kOversample) x k matrix, in f32 products and a
// double SVD. Throws std::bad_alloc when out of memory.
LowRankFactors truncatedSvd(const float *w, int64_t n, int64_t k, int64_t r);

}  // namespace kf::rt

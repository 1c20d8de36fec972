// \file
// Double-precision reference of the hadamard family, written from the
// definition (docs/formats.md, "Rotations (Hadamard)") and nothing else: the
// oracle the generated transforms are checked against. It multiplies by the
// dense n x n matrix, each entry built on the fly as
//     H_n[a 2^k + t][a' 2^k + t'] = H_m[a][a'] (-1)^popcount(t & t'),
// so it shares no code or algorithm with a fast transform. O(n^2) per row,
// rows and blocks of outputs in parallel (TBB): a row of n = 32768 costs
// about three CPU-seconds.
//
// Also what a numeric check needs around it: random rows, the relative L2
// error, and the fused int8 output (docs/formats.md, "Fused int8 output"),
// quantized by lowbit_linear's referenceActScale / referenceActCode so that a
// rotation's int8 rows and a linear layer's int8 activations are one format.
#pragma once

#include <cstdint>
#include <vector>

#include "dsl/Spec.h"

namespace kf::families::hadamard {

// The H_m of a kernel: its matrix file's (params.matrix), else the built-in
// one of order params.m. Throws std::invalid_argument when there is neither.
std::vector<int8_t> factorMatrix(const dsl::HadamardParams &params);

// y[r][i] = sum_j H_n[i][j] x[r][j] / sqrt(n) for r < rows, with n = m 2^k,
// hm the m*m entries of H_m (row-major) and H_n as above. Throws
// std::invalid_argument when n is not m times a power of two or hm is not
// m*m entries of +-1 (hm need not be orthogonal).
void referenceHadamard(int64_t n, int m, const std::vector<int8_t> &hm, int64_t rows, const float *x, double *y);
void referenceHadamard(int64_t n, int m, const std::vector<int8_t> &hm, int64_t rows, const double *x, double *y);
// The same for a kernel: n its fixed size (std::invalid_argument if it has
// none), H_m = factorMatrix(params). The output type is not looked at.
void referenceHadamard(const dsl::HadamardParams &params, int64_t rows, const float *x, double *y);

// Entries outputs[j] of one row's transform, y[j] = sum_i H_n[outputs[j]][i] x[i]
// / sqrt(n), each from the same dense definition: what a test checks of a
// row too wide for the whole O(n^2) product (a row of 32768 under qemu).
void referenceHadamardEntries(const dsl::HadamardParams &params, const float *xRow,
                              const std::vector<int64_t> &outputs, double *y);

// Per row of y [rows][n]: s = fl32(max|fl32(y)| / 127), codes[r][i] =
// clamp(round half away from zero(fl32(fl32(y) / s)), -127, 127), all codes 0
// when s == 0 (lowbit::referenceActScale / referenceActCode on the row
// rounded to f32).
void referenceQuantizeRows(const double *y, int64_t rows, int64_t n, int8_t *codes, float *scales);
// What an `output int8` kernel computes: the rotation, then
// referenceQuantizeRows. codes [rows][n], scales [rows].
void referenceHadamardInt8(const dsl::HadamardParams &params, int64_t rows, const float *x, int8_t *codes,
                           float *scales);

// ||y - ref||_2 / ||ref||_2 over `count` values; 0 when both are all zero,
// +infinity when only ref is.
double relativeError(const float *y, const double *ref, int64_t count);
double relativeError(const double *y, const double *ref, int64_t count);

// rows * n values uniform in [-1, 1) (multiples of 2^-23), the same for the
// same (rows, n, seed) on every platform.
std::vector<float> randomRows(int64_t rows, int64_t n, uint64_t seed);

}  // namespace kf::families::hadamard

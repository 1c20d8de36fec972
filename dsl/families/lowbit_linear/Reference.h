// \file
// Scalar reference of lowbit_linear, written from FORMATS.md and nothing else:
// the oracle every generated kernel is checked against. Double precision,
// no packing, no tiling, one weight at a time.
#pragma once

#include <cstdint>

#include "dsl/Spec.h"

namespace kf::families::lowbit {

// Level L(c) of code c (FORMATS.md, "Weights: code -> level -> value"): codes
// index the format's levels in ascending order.
//   binary  {-1, +1}                  ParetoQ 1-bit
//   ternary {-1, 0, +1}               ParetoQ 1.58-bit, BitNet b1.58
//   seq2    {-1.5, -0.5, 0.5, 1.5}    ParetoQ SEQ 2-bit
//   intN    {-2^(N-1) .. 2^(N-1)-1}   ParetoQ LSQ, LLM-QAT
// (uintN with a zero point and codebooks need per-weight data: not here.)
double referenceLevel(const dsl::WeightFormat &format, unsigned code);

// IEEE binary16 / bfloat16 bit patterns to double, exactly.
double halfToDouble(uint16_t bits);
double bfloat16ToDouble(uint16_t bits);

// y[m][n] = sum_k x[m][k] * s[n][k / g] * L(codes[n][k])   (g = K per channel)
// codes [N][K] one per byte, scales [N][ceil(K/g)] of params.scaleType.
void referenceLinear(const dsl::LowbitLinearParams &params, int64_t M, int64_t N, int64_t K, const float *x,
                     const uint8_t *codes, const void *scales, double *y);

}  // namespace kf::families::lowbit

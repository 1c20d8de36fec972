// \file
// Scalar reference of lowbit_linear, written from docs/formats.md and nothing else:
// the oracle every generated kernel is checked against. Double precision,
// no packing, no tiling, one weight at a time.
#pragma once

#include <cstdint>

#include "dsl/Spec.h"

namespace kf::families::lowbit {

// Level L(c) of code c (docs/formats.md, "Codes, levels and values"): codes
// index the format's levels in ascending order.
//   binary  {-1, +1}                  ParetoQ 1-bit
//   ternary {-1, 0, +1}               ParetoQ 1.58-bit, BitNet b1.58
//   seq2    {-1.5, -0.5, 0.5, 1.5}    ParetoQ SEQ 2-bit
//   intN    {-2^(N-1) .. 2^(N-1)-1}   ParetoQ LSQ, LLM-QAT
// uintN (c - z) and codebooks (table[c]) need per-weight data: referenceWeight.
double referenceLevel(const dsl::WeightFormat &format, unsigned code);

// IEEE binary16 / bfloat16 bit patterns to double, exactly.
double halfToDouble(uint16_t bits);
double bfloat16ToDouble(uint16_t bits);

// A layer's tensors as a QAT checkpoint stores them (G = ceil(K / group), or 1).
struct ReferenceWeights {
    const uint8_t *codes = nullptr;       // [N][K]
    const void *scales = nullptr;         // [N][G] of params.scaleType
    const uint8_t *zeroPoints = nullptr;  // [N][G] (uintN)
    const float *codebook = nullptr;      // [2^b] or [N][2^b] (codebook)
    const float *bias = nullptr;          // [N] (bias)
};

// w[n][k] = s[n][k / g] * L(c), s * (c - z) or s * table[c].
double referenceWeight(const dsl::LowbitLinearParams &params, int64_t K, const ReferenceWeights &w, int64_t n,
                       int64_t k);

// Dynamic int8 per token (docs/formats.md, "Dynamic int8 per token"), in f32 as a kernel
// computes it: s_x = max|x| / 127, q = round(x / s_x), half away from zero.
float referenceActScale(const float *xRow, int64_t K);
int referenceActCode(float x, float sx);

// y[m][n] = sum_k x[m][k] * w[n][k] (+ bias[n]).
// x is f32, or bf16 bit patterns for bf16 input. For int8 input the sum runs
// over the quantized activations: y = s_x * sum_k q[m][k] * w[n][k] (+ bias).
void referenceLinear(const dsl::LowbitLinearParams &params, int64_t M, int64_t N, int64_t K, const void *x,
                     const ReferenceWeights &w, double *y);

// The same for codes + scales only (formats without zero points or codebooks).
void referenceLinear(const dsl::LowbitLinearParams &params, int64_t M, int64_t N, int64_t K, const float *x,
                     const uint8_t *codes, const void *scales, double *y);

}  // namespace kf::families::lowbit

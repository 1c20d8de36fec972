// \file
// Reference quantizer of lowbit_linear, written from docs/formats.md ("From float weights: the paper quantizer";
// float weights") and nothing else: the oracle that kf_quantize_linear (the
// runtime's quantizer) is checked against, code for code and scale bit for
// scale bit. Scalar, double precision, one group at a time, and deliberately
// structured differently from the runtime: each weight takes the nearest level
// by comparing with the midpoints between levels, and scales are rounded to
// f16 / bf16 by searching the format's bit patterns.
//
// Per scale group (`group` consecutive k of a row, the last one short; the
// whole row for per-channel scales):
//   binary, ternary  s = mean |w|                     ParetoQ 1-bit / 1.58-bit, BitNet b1.58
//   seq2             s = max |w| / 1.5                ParetoQ SEQ 2-bit
//   intN             s = max |w| / (2^(N-1) - 1)      ParetoQ LSQ, LLM-QAT
//   uintN            s = (hi - lo) / (2^N - 1), lo = min(0, min w), hi = max(0, max w),
//                    z = clamp(round(-lo / s), 0, 2^N - 1)       GPTQ asymmetric
// Each weight takes the level nearest to w / s (uint: the levels c - z),
// ties away from zero (FORMATS: round half away from zero); at 0 (binary,
// seq2) the tie goes to the positive level. The scale is the statistic
// divided in double and rounded to nearest even into the scale type, and
// w / s uses that rounded scale. A scale that rounds to 0 stores 0 and the
// code of the level nearest 0.
#pragma once

#include <cstdint>
#include <vector>

#include "dsl/Spec.h"

namespace kf::families::lowbit {

struct QuantizedWeights {
    int64_t groups = 0;               // G = ceil(K / group), 1 per channel
    std::vector<uint8_t> codes;       // [N][K]
    std::vector<uint32_t> scaleBits;  // [N][G]: f32 bits, or the f16 / bf16 pattern in the low 16 bits
    std::vector<double> scales;       // [N][G]: the values of scaleBits
    std::vector<uint8_t> zeroPoints;  // [N][G] for uint formats, empty otherwise
};

// Quantizes w [N][K] for params' weight format, scale type and group.
// Throws std::invalid_argument for codebook formats (they need a clustering),
// non-finite weights (naming row and column), and a scale the scale type
// cannot hold.
QuantizedWeights referenceQuantize(const dsl::LowbitLinearParams &params, int64_t n, int64_t k, const float *w);

// The pattern of IEEE binary16 / bfloat16 (decode: halfToDouble /
// bfloat16ToDouble, infPattern 0x7C00 / 0x7F80) nearest to v >= 0, ties to the
// even pattern, found by searching the patterns. Throws std::invalid_argument
// ("value ... overflows <typeName>") if the result is infinite.
uint16_t roundToPattern(double v, double (*decode)(uint16_t), uint16_t infPattern, const char *typeName);

// s * L(c) (uint: s * (c - z)) for every weight, [N][K].
std::vector<double> referenceDequantize(const dsl::LowbitLinearParams &params, int64_t n, int64_t k,
                                        const QuantizedWeights &q);

}  // namespace kf::families::lowbit

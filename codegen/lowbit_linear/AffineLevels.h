// \file
// The levels of lowbit_linear's weight formats in the integer form both
// lowerings accumulate exactly (docs/formats.md's level tables):
// L(c) = (a * c + b) / d with integers a, b, d (b = -z for uint):
//   binary (ParetoQ 1-bit)      {-1,+1}:         2c - 1
//   ternary (BitNet b1.58)      {-1,0,+1}:       c - 1
//   seq2 (ParetoQ SEQ)          {-1.5..1.5}:     (2c - 3) / 2
//   intN (ParetoQ LSQ, LLM-QAT) -2^(N-1)..:      c - 2^(N-1)
//   uintN (GPTQ-style)          c - z            (b = 0 here: z per scale, added by the caller)
// Codebooks have no such form ({1, 0, 1}; their lowerings look levels up).
#pragma once

#include "dsl/Spec.h"

namespace kf::codegen::lowbit {

struct AffineLevels {
    int a, b, d;
};

inline AffineLevels affineLevels(const dsl::WeightFormat &w) {
    switch (w.kind) {
    case dsl::WeightKind::Binary: return {2, -1, 1};
    case dsl::WeightKind::Ternary: return {1, -1, 1};
    case dsl::WeightKind::Seq2: return {2, -3, 2};
    case dsl::WeightKind::Int: return {1, -(1 << (w.bits - 1)), 1};
    case dsl::WeightKind::Uint:
    case dsl::WeightKind::Codebook: break;
    }
    return {1, 0, 1};
}

}  // namespace kf::codegen::lowbit

// \file
// Reading the weight description shared by the linear families (lowbit_linear,
// sparse_rank_linear): the format names of docs/formats.md (binary,
// ternary, seq2, intN, uintN, codebookN), scale types and K-group sizes.
#pragma once

#include "dsl/Diagnostics.h"
#include "dsl/Parser.h"
#include "dsl/Spec.h"

#include <optional>
#include <string_view>

namespace kf::dsl {

// The formats as listed in diagnostics.
inline constexpr const char *kWeightFormatList =
    "binary, ternary, seq2, int2, int3, int4, int8, uint2..uint8, codebook1..codebook8";

// binary (1 bit), ternary (2), seq2 (2), int2/int3/int4/int8, uint2..uint8,
// codebook1..codebook8. nullopt for anything else.
std::optional<WeightFormat> parseWeightFormat(std::string_view name);

// "unknown weight format 'int5'; expected one of <kWeightFormatList>"
std::optional<WeightFormat> readWeightFormat(const Value &v, DiagnosticSink &sink);
// scale=f32|f16|bf16
std::optional<ScalarType> readScaleType(const Value &v, DiagnosticSink &sink);
// group=32|64|128|256|channel; channel is 0.
std::optional<int> readGroup(const Value &v, DiagnosticSink &sink);
// A K-group larger than a fixed K is an error (a short last group is fine).
bool checkGroupFits(int group, const Dim &k, const SourceLoc &groupLoc, DiagnosticSink &sink);

}  // namespace kf::dsl

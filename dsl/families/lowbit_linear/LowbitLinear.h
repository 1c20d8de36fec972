// \file
// What a lowbit_linear kernel may declare, beyond the grammar: the one place
// the family's kernel-level legality lives. The DSL checker reports it with
// the statement's file:line:col; the lowering asks the same question of
// kernels built in C++ (tests, the tuner) so that nothing the checker accepts
// is rejected later, and nothing it rejects is compiled.
#pragma once

#include <optional>
#include <string>

#include "dsl/Spec.h"

namespace kf::dsl {

// Why `params` cannot be computed by any target, or nullopt when it can:
//   - int8 activations with a codebook: integer dot products need levels that
//     are integers up to a scale.
std::optional<std::string> lowbitLinearProblem(const LowbitLinearParams &params);

}  // namespace kf::dsl

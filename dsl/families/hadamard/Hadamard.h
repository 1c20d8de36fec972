// \file
// What a hadamard kernel may declare, beyond the grammar: the one place the
// family's kernel-level legality lives. The DSL checker reports each rule at
// the offending token of the kernel file; the code generator asks the same
// question of kernels built in C++ (tests, the tuner), so that nothing the
// checker accepts is rejected later and nothing it rejects is compiled.
#pragma once

#include <optional>
#include <string>

#include "dsl/Spec.h"

namespace kf::dsl {

// Why `params` cannot be computed, or nullopt when it can:
//   - the size n is not fixed (the transform is generated for one n);
//   - n is not m * 2^k for the factor m;
//   - H_m is neither built in (families/hadamard/HadamardMatrix.h) nor given
//     as params.matrix, or params.matrix is not an m x m Hadamard matrix.
std::optional<std::string> hadamardProblem(const HadamardParams &params);

}  // namespace kf::dsl

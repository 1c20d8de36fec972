// \file
// Shapes of lowbit_linear tasks and records in the autotuner's tests.
#pragma once

#include <cstdint>

#include "dsl/Spec.h"

namespace kf::testing {

// M=m N=n K=k: a linear layer's named dimensions.
inline dsl::Shape mnk(int64_t m, int64_t n, int64_t k) { return dsl::Shape{{{"M", m}, {"N", n}, {"K", k}}}; }

}  // namespace kf::testing

// \file
// Shared helpers of the DSL unit tests: load a snippet and look at the result.
#pragma once

#include "dsl/Load.h"

#include <string>
#include <vector>

namespace kf::dsl::test {

// Loads `text` as "t.kf" with the given known targets (default: a few names).
LoadResult load(const std::string &text,
                std::vector<std::string> targets = {"x86-avx2", "x86-avx512", "arm64-neon-dotprod"});

// All diagnostics rendered and concatenated (for failure messages and finds).
std::string rendered(const LoadResult &r);

// The messages only, in order.
std::vector<std::string> messages(const LoadResult &r);

// A lowbit_linear kernel named `name` with the given weight statement.
std::string lowbitKernel(const std::string &weightLine, const std::string &name = "lin");

}  // namespace kf::dsl::test

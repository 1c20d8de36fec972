// \file
// Public entry points of the DSL front end: text or file in, typed Module
// (Spec.h) and diagnostics out. Lexing, parsing and checking are internal
// stages (Lexer.h, Parser.h, Checker.h); callers only need these two functions.
// Neither throws on any input: every problem becomes a Diagnostic.
#pragma once

#include "dsl/Checker.h"
#include "dsl/Diagnostics.h"
#include "dsl/Spec.h"

#include <optional>
#include <string>
#include <vector>

namespace kf::dsl {

struct LoadResult {
    std::optional<Module> module;          // set only when there are no errors
    std::vector<Diagnostic> diagnostics;   // in source order of discovery
    bool ok() const { return module.has_value() && diagnostics.empty(); }
};

// Files larger than this are refused (kernel files are a few KB).
inline constexpr size_t kMaxSourceBytes = 16u << 20;

LoadResult loadFile(const std::string &path, const CheckOptions &options);
LoadResult loadString(const std::string &text, const std::string &fileName, const CheckOptions &options);

}  // namespace kf::dsl

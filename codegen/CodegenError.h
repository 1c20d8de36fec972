// \file
// The one exception codegen throws: a message for the user (the CLI prints it
// as "error: ..."), for things the DSL checker cannot know (no lowering of a
// family for a target, a schedule the lowering cannot honour).
#pragma once

#include <stdexcept>
#include <string>

#include "dsl/Spec.h"

namespace kf::codegen {

struct CodegenError : std::runtime_error {
    explicit CodegenError(const std::string &message) : std::runtime_error(message) {}
    CodegenError(const dsl::SourceLoc &loc, const std::string &message)
        : std::runtime_error(loc.file.empty() ? message
                                              : loc.file + ":" + std::to_string(loc.line) + ":" +
                                                    std::to_string(loc.col) + ": " + message) {}
};

}  // namespace kf::codegen

// \file
// Semantic checks of a parsed kernel file and its translation into the typed
// Module of Spec.h. File-level rules live here (known families, unique kernel
// names, schedules naming declared kernels and known targets, one schedule per
// (kernel, target, bucket)); what a kernel body means is up to its family
// (families/), what a schedule body means is ScheduleChecker.h.
#pragma once

#include <cstddef>

#include "dsl/Diagnostics.h"
#include "dsl/Parser.h"
#include "dsl/Spec.h"

#include <string>
#include <vector>

namespace kf::dsl {

// The longest kernel name the checker accepts: names become parts of C
// identifiers (kf_<lib>_<name>) and of messages.
constexpr std::size_t kMaxKernelName = 64;

struct CheckOptions {
    // Target registry names schedules may name; empty = accept any.
    std::vector<std::string> knownTargets;
    // Kernels declared elsewhere that schedules in the text may name (not
    // copied into the result): a tuning record's schedule text is checked
    // against the kernel file it was tuned from.
    const Module *context = nullptr;
    // Code generator names a `backend <name>` directive may give (codegen's
    // registry); empty = accept any word. Whether the schedule's target
    // compiles through it is codegen's check.
    std::vector<std::string> knownBackends;
};

// The Module for `ast`. Everything wrong is reported to `sink`; the result is
// meaningful only when nothing was.
Module checkModule(const FileAst &ast, const std::string &fileName, const CheckOptions &options,
                   DiagnosticSink &sink);

}  // namespace kf::dsl

// \file
// The target registry: every ISA kforge knows, and the only place that names
// one (STYLE.md). A target is one TargetInfo in its own file here plus one line
// in Registry.cpp; the CLI, emit, dispatch, tests and benches all read this.
//
// No Halide or LLVM here: the runtime (which emitted libraries link) uses the
// CPU-feature tests, and codegen turns `halideTarget` into a Halide::Target.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace kf::targets {

enum class Arch { X86_64, Arm64, Cuda };

// How code for a target runs on this (x86-64, no GPU) development machine.
enum class RunsHere { Native, Qemu, LentGpu };

struct TargetInfo {
    const char *name;          // registry name used in DSL text and on the CLI: "x86-avx512"
    const char *symbolSuffix;  // in generated symbol names after "__": "x86_avx512"
    Arch arch;
    const char *halideTarget;  // full Halide 14 target string (HALIDE-NOTES.md)
    int vectorBits;            // widest vector register
    int priority;              // dispatch order among runnable targets: higher wins
    RunsHere runsHere;
    const char *qemuCpu;       // qemu-aarch64 -cpu argument, for Arm64
    // True when the CPU this process runs on can execute code for the target.
    bool (*hostSupports)();
    const char *description;
};

// All registered targets, in registry order.
std::span<const TargetInfo *const> all();
// nullptr if unknown.
const TargetInfo *find(std::string_view name);
// The highest-priority target of the host's architecture that the host supports.
const TargetInfo *bestHostTarget();
// "x86-avx2, x86-avx512, ..." for diagnostics.
std::string knownNames();

}  // namespace kf::targets

// \file
// Internal to kforge_mlir_backend: LLVM 19's half of the MLIR backend (the
// target machine, the O3 pipeline, object / assembly emission), in a
// translation unit of its own so the two heavy halves compile in parallel.
#pragma once

#include <memory>
#include <string>

#include "targets/Target.h"

namespace llvm {
class Module;
class TargetMachine;
}  // namespace llvm

namespace kf::codegen::mlir::detail {

// LLVM 19's X86, AArch64 and NVPTX targets, initialised once per process.
void initializeLlvmTargets();

// The target machine of a registry entry (its llvmTriple / llvmCpu /
// llvmFeatures), position-independent, at the highest optimisation level.
// Throws CodegenError for a target without an LLVM triple.
std::unique_ptr<llvm::TargetMachine> makeTargetMachine(const targets::TargetInfo &target);

// Sets the module's triple and data layout and every defined function's
// target CPU / features, then runs LLVM's O3 pipeline.
void optimize(llvm::Module &module, llvm::TargetMachine &machine, const targets::TargetInfo &target);

// The module as an object file (assembly = false) or assembly text.
std::string emit(llvm::Module &module, llvm::TargetMachine &machine, bool assembly);

}  // namespace kf::codegen::mlir::detail

// \file
// The MLIR / LLVM 19 backend: a family's MLIR lowering returns an MlirKernel
// (the kernel as MLIR text); this lowers it to LLVM IR with MLIR's
// conversion passes, optimises it with LLVM 19 at O3 and writes objects and
// dumps. It is for what Halide 14 cannot express (scalable SVE vectors,
// explicit instruction choice); docs/architecture.md, "Backends".
//
// No MLIR or LLVM header here: Backends.cpp includes this next to
// HalideBackend.h (LLVM 14 underneath), so the LLVM 19 types stay inside
// the kforge_mlir_backend library.
#pragma once

#include <string>

#include "codegen/Backend.h"
#include "targets/Target.h"

namespace kf::codegen::mlir {

// A kernel as MLIR text. The module defines one public function named
// @kf_kernel (func.func whose arguments are !llvm.ptr and i64 / index
// scalars, so its C ABI is plain pointers and int64_t); compileToObject
// renames it to the symbol. Dialects it may use: builtin, func, arith, scf,
// cf, vector, arm_sve, x86vector, math, memref, llvm, index (and affine,
// ub, which the lowering itself produces).
//
// Compiling is thread-safe: each call has its own MLIRContext and
// LLVMContext (the tuner compiles candidates in parallel threads).
class MlirKernel final : public BackendKernel {
public:
    explicit MlirKernel(std::string moduleText);
    // Throws CodegenError with MLIR's diagnostics (file:line:col) when the
    // text does not parse or verify, or a pass fails.
    void compileToObject(const std::string &path, const std::string &symbol,
                         const targets::TargetInfo &target) const override;
    // "mlir": the module (renamed); "mlir-passes": the module after each pass
    // of the lowering, each headed by the pass and its wall time; "llvm": the
    // optimised LLVM IR; "asm": the target's assembly.
    std::string dump(const std::string &kind, const std::string &symbol,
                     const targets::TargetInfo &target) const override;

    const std::string &text() const { return text_; }

private:
    std::string text_;
};

// The backend's record (codegen/Backends.cpp): name "mlir"; its kernels need
// no runtime objects.
const Backend &backend();

}  // namespace kf::codegen::mlir

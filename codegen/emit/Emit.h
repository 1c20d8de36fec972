// \file
// `kforge emit`: a kernel file -> one static library + C header for the
// requested targets. Layout of the output directory:
//   include/kforge/kforge.h      runtime C ABI
//   include/kforge_<lib>.h       one accessor per kernel
//   lib/libkforge_<lib>.a        kernels (one object per kernel x target),
//                                one Halide runtime, kforge runtime + glue
//   lib/pkgconfig/kforge_<lib>.pc, lib/cmake/kforge_<lib>/kforge_<lib>-config.cmake
//   src/kforge_<lib>_glue.cpp    generated dispatch tables (kept for reading)
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "codegen/emit/Toolchain.h"
#include "dsl/Spec.h"
#include "targets/Target.h"

namespace kf::codegen {

struct EmitOptions {
    std::string outDir;
    std::string libName;                               // C identifier
    std::vector<const targets::TargetInfo *> targets;  // at least one, one architecture
    bool timePasses = false;                           // per-stage times on `log`
    // Tuner builds: reuse this Halide runtime object when it exists (compile
    // it there when it does not), and also link lib/libkforge_<lib>.so.
    std::string runtimeObject;
    bool sharedLibrary = false;
};

// Throws CodegenError on any failure (with the failing tool's output).
void emitLibrary(const dsl::Module &module, const EmitOptions &options, const Toolchain &toolchain,
                 std::ostream &log);

// "gemv.kf" -> "gemv"; non-identifier characters become '_'.
std::string libNameFromPath(const std::string &path);

}  // namespace kf::codegen

// \file
// A code generator kforge lowers kernels through (Halide today; MLIR and
// CUDA next): one folder under codegen/backends/<backend>/ and one line in
// Backends.cpp. A family's lowering for a backend produces a BackendKernel;
// everything after that (emit's object files, `kforge lower --emit=<kind>`,
// the runtime pieces a library needs) asks the backend, so no generic type
// holds a backend's own types (docs/adding-a-backend.md).
//
//   family lowering ──> BackendKernel ──compileToObject──> kernel.o ─┐
//                             └──dump(kind)──> kforge lower           ├─> emit: libkforge_<lib>.a
//   Backend::runtimeObjects (once per library) ──> runtime.o ────────┘
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "targets/Target.h"

namespace kf::codegen {

// One compiled-to-be kernel function of a backend. Emit compiles each under
// its symbol; `kforge lower` prints it.
class BackendKernel {
public:
    virtual ~BackendKernel() = default;
    // Writes an object file defining `symbol` (and whatever entry points the
    // backend's bridge calls, e.g. Halide's <symbol>_argv). Throws
    // CodegenError (or the backend's own exception, which the CLI reports).
    virtual void compileToObject(const std::string &path, const std::string &symbol,
                                 const targets::TargetInfo &target) const = 0;
    // The kernel as text of one of the backend's dump kinds (Backend::dumpKinds).
    virtual std::string dump(const std::string &kind, const std::string &symbol,
                             const targets::TargetInfo &target) const = 0;
};

struct Backend {
    const char *name;                    // as targets name it (TargetInfo::backends): "halide"
    std::vector<std::string> dumpKinds;  // `kforge lower --emit=` kinds besides "spec": "stmt", "asm", ...
    // Objects every library with kernels of this backend needs once (e.g.
    // the Halide runtime), compiled into objDir for the architecture of
    // `targets`. `reuse`: a path to keep the object at across libraries
    // (the tuner's builds share one); empty = objDir. Returns their paths.
    std::vector<std::string> (*runtimeObjects)(const std::vector<const targets::TargetInfo *> &targets,
                                               const std::string &objDir, const std::string &reuse);
    // File name of the archive of this backend's glue among the runtime
    // archives (Toolchain::runtimeArchives), merged only into libraries with
    // kernels of this backend: the Halide glue needs the Halide runtime,
    // which a library without Halide kernels does not have. null: none.
    const char *bridgeArchive = nullptr;
};

// All registered backends, in registry order.
const std::vector<const Backend *> &backends();
// nullptr if unknown.
const Backend *findBackend(std::string_view name);

}  // namespace kf::codegen

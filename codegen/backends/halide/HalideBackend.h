// \file
// The Halide 14 backend (Debian libhalide14-0-dev): a family's Halide
// lowering returns a HalideKernel (a pipeline and its arguments); this turns
// it into objects, stmt / assembly dumps, and the one Halide runtime object a
// library links. Notes on what Halide 14 can and cannot do: docs/halide.md.
#pragma once

#include <Halide.h>

#include <memory>
#include <vector>

#include "codegen/Backend.h"
#include "targets/Target.h"

namespace kf::codegen::halide {

class HalideKernel final : public BackendKernel {
public:
    HalideKernel(Halide::Pipeline pipeline, std::vector<Halide::Argument> args)
        : pipeline_(std::move(pipeline)), args_(std::move(args)) {}
    void compileToObject(const std::string &path, const std::string &symbol,
                         const targets::TargetInfo &target) const override;
    // "stmt": Halide's lowered statement; "asm": the target's assembly.
    std::string dump(const std::string &kind, const std::string &symbol,
                     const targets::TargetInfo &target) const override;

    const Halide::Pipeline &pipeline() const { return pipeline_; }
    const std::vector<Halide::Argument> &args() const { return args_; }

private:
    // Halide's Pipeline is a handle whose compile methods are not const.
    mutable Halide::Pipeline pipeline_;
    std::vector<Halide::Argument> args_;
};

// The backend's record (codegen/Backends.cpp).
const Backend &backend();

// The Halide target for compiling a kernel object: the registry's chain,
// with the Halide runtime left out (emit adds one shared runtime object).
Halide::Target halideTarget(const targets::TargetInfo &target, bool withRuntime = false);

}  // namespace kf::codegen::halide
